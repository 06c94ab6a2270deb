import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runbookUri, sourceOfUri } from '../../mcp/resources.js';
import { buildMcpServer } from '../../mcp/server.js';
import type { Principal } from '../../policies/types.js';
import type { KnowledgeBase } from '../../rag/knowledge-base.js';
import { runbookTools } from '../../tools/runbooks/index.js';
import { countingTools } from '../support/fake-tools.js';
import { type MemoryAudit, testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';
import { runbookBackends, shippedKnowledgeBase } from '../support/runbooks.js';

const POLICY = `
version: 1
identities:
  frank: [token:frank-ide]
bindings:
  - subjects: [alice, frank]
    roles: [viewer]
  - subjects: [dave]
    roles: [widgets-only]
roles:
  widgets-only:
    - toolsets: [test]
      verbs: [read]
approvals:
  - subjects: [frank]
    toolsets: [runbooks]
    approvers: { count: 1 }
deny:
  - subjects: [eve]
    toolsets: [runbooks]
    reason: runbooks are not for contractors
`;

let kb: KnowledgeBase;
beforeAll(async () => {
  kb = await shippedKnowledgeBase();
});
afterAll(async () => {
  await kb.close();
});

let lastAudit: MemoryAudit;

async function connect(principal: Principal, withKb = true) {
  const { pipeline, audit } = testPipeline({
    tools: [...runbookTools, ...countingTools().tools],
    policy: engineFrom(POLICY),
    backends: runbookBackends(withKb ? kb : undefined),
  });
  lastAudit = audit;
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildMcpServer(pipeline, principal).connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return client;
}

describe('runbook documents as MCP resources', () => {
  it('lists every ingested runbook and reads one back as its Markdown', async () => {
    const client = await connect(who('alice', [], 'mcp-http'));
    expect(client.getServerCapabilities()?.resources).toBeDefined();
    const { resources } = await client.listResources();
    expect(resources.length).toBe((await kb.listDocuments()).length);
    const oom = resources.find((r) => r.name === 'kubemate/oomkilled.md');
    expect(oom).toMatchObject({
      uri: 'kubemate://runbooks/kubemate/oomkilled.md',
      title: 'OOMKilled',
      mimeType: 'text/markdown',
    });
    const templates = await client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['kubemate://runbooks/{+source}']);

    const read = await client.readResource({ uri: oom!.uri });
    const text = (read.contents[0] as { text: string }).text;
    // The runbook as written, from its title down (front matter is metadata, not text).
    const file = readFileSync(new URL('../../rag/runbooks/oomkilled.md', import.meta.url), 'utf8');
    const body = file.slice(file.indexOf('# OOMKilled'));
    const squeeze = (s: string) => s.replace(/\n{3,}/g, '\n\n').trim();
    expect(squeeze(text)).toBe(squeeze(body));
    expect(lastAudit.records.at(-1)).toMatchObject({
      tool: 'runbooks_search',
      args: { resource: oom!.uri },
      decision: { effect: 'allow' },
      outcome: 'success',
    });
    await client.close();
  });

  it('names a missing document as not found', async () => {
    const client = await connect(who('alice', [], 'mcp-http'));
    await expect(client.readResource({ uri: 'kubemate://runbooks/kubemate/nope.md' })).rejects.toThrow(
      /Resource not found/,
    );
    await expect(
      client.readResource({ uri: 'kubemate://runbooks/kubemate/../../etc/passwd' }),
    ).rejects.toThrow(/Resource not found/);
    await client.close();
  });

  it('shows nothing to, and refuses reads by, principals the policy does not let search runbooks', async () => {
    const why: Record<string, RegExp> = {
      dave: /denied: no role grants dave the read verb on runbooks_search/,
      eve: /denied: runbooks are not for contractors/,
      mallory: /denied: /,
      frank: /readable only by those allowed to call runbooks_search without approval/,
    };
    for (const [name, reason] of Object.entries(why)) {
      const client = await connect(who(name === 'frank' ? 'token:frank-ide' : name, [], 'mcp-http'));
      expect((await client.listResources()).resources).toEqual([]);
      expect((await client.listResourceTemplates()).resourceTemplates).toEqual([]);
      await expect(
        client.readResource({ uri: 'kubemate://runbooks/kubemate/oomkilled.md' }),
        name,
      ).rejects.toThrow(reason);
      expect(lastAudit.records.at(-1), name).toMatchObject({ tool: 'runbooks_search', outcome: 'denied' });
      await client.close();
    }
  });

  it('offers no resources when the server has no knowledge base', async () => {
    const client = await connect(who('alice', [], 'mcp-http'), false);
    expect(client.getServerCapabilities()?.resources).toBeUndefined();
    await client.close();
  });

  it('round-trips sources through URIs, encoding what needs it', () => {
    const source = 'team a/runbooks#1/dns?.md';
    expect(runbookUri(source)).toBe('kubemate://runbooks/team%20a/runbooks%231/dns%3F.md');
    expect(sourceOfUri(runbookUri(source))).toBe(source);
    expect(sourceOfUri('kubemate://other/x')).toBeUndefined();
    expect(sourceOfUri('kubemate://runbooks/%E0%A4%A')).toBeUndefined();
  });
});
