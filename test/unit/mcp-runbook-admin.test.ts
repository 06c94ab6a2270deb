// The runbooks admin tools through MCP: listing sources, removing one and ingesting the configured
// folders, under the policy (admin verb, approval by another person), audited.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../policies/approvals.js';
import { KnowledgeBase } from '../../rag/knowledge-base.js';
import { approvalTools } from '../../tools/approvals/index.js';
import type { Backends } from '../../tools/clients/backends.js';
import { runbookTools } from '../../tools/runbooks/index.js';
import { connectMcp, resultText } from '../support/mcp.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';
import { keywordOnlySettings, runbookBackends } from '../support/runbooks.js';

const POLICY = `
version: 1
identities:
  alice: [token:alice-ide]
  bob: [token:bob-ide]
bindings:
  - subjects: [vera]
    roles: [viewer]
  - subjects: [alice, bob, root]
    roles: [admin]
approvals:
  - subjects: [alice, bob]
    toolsets: [runbooks]
    verbs: [admin]
    approvers: { count: 1 }
`;

const page = (title: string, body: string) =>
  `---\ntitle: ${title}\ntags: [test]\n---\n# ${title}\n\n## Fix\n\n${body}\n`;

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

/** A knowledge base of its own: the configured folder team-a, and old-notes ingested by hand. */
async function setup(withAdmin = true) {
  const root = mkdtempSync(join(tmpdir(), 'kubemate-rb-admin-'));
  const teamDir = join(root, 'team-a');
  const notes = join(root, 'old-notes');
  mkdirSync(teamDir);
  mkdirSync(notes);
  writeFileSync(
    join(teamDir, 'quokka.md'),
    page('Quokka gateway timeouts', 'Raise the quokka gateway idle timeout.'),
  );
  writeFileSync(
    join(notes, 'wombat.md'),
    page('Wombat queue backlog', 'Drain the wombat queue before the upgrade.'),
  );
  const kb = await KnowledgeBase.open({
    dataDir: join(root, 'data'),
    runbooks: { ...keywordOnlySettings, includeShipped: false, dirs: [{ path: teamDir, prefix: 'team-a' }] },
    embedder: null,
  });
  await kb.sync();
  await kb.ingest({ dir: notes, prefix: 'old-notes' });
  const approvals = new ApprovalStore(join(root, 'approvals.db'), 60_000);
  opened.push(kb, approvals);
  const backends = { ...runbookBackends(kb), ...(withAdmin ? { runbookAdmin: kb } : {}) } as Backends;
  const { pipeline, audit } = testPipeline({
    tools: [...runbookTools, ...approvalTools],
    policy: engineFrom(POLICY),
    backends,
    approvals,
  });
  const prefixes = async () => (await kb.sources()).map((s) => s.prefix);
  return { kb, teamDir, pipeline, audit, prefixes };
}

const connect = connectMcp;
const text = resultText;
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;

describe('runbooks admin tools over MCP', () => {
  it('lists sources for a reader, with counts and origin, and declares admin tools that take no path', async () => {
    const { pipeline, teamDir, prefixes } = await setup();
    const vera = await connect(pipeline, who('vera', [], 'mcp-http'));
    const listed = await call(vera, 'runbooks_sources_list');
    expect(listed.isError).toBeFalsy();
    const sources = (listed.structuredContent as { sources: Array<Record<string, unknown>> }).sources;
    expect(sources.map((s) => [s.prefix, s.documents, s.from])).toEqual([
      ['old-notes', 1, null],
      ['team-a', 1, teamDir],
    ]);
    expect(text(listed)).toContain('old-notes: 1 document, ');

    // A reader is not offered the admin tools; an admin is, and they take no path.
    expect((await vera.listTools()).tools.map((t) => t.name)).not.toContain('runbooks_source_remove');
    const root = await connect(pipeline, who('root', [], 'mcp-http'));
    const tools = (await root.listTools()).tools;
    await root.close();
    const remove = tools.find((t) => t.name === 'runbooks_source_remove');
    const ingest = tools.find((t) => t.name === 'runbooks_ingest');
    expect(remove?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(Object.keys(ingest?.inputSchema.properties ?? {})).toEqual(['source']);

    // A reader may not remove or ingest.
    const denied = await call(vera, 'runbooks_source_remove', { source: 'old-notes' });
    expect(denied.isError).toBe(true);
    expect(await prefixes()).toContain('old-notes');
    await vera.close();
  });

  it('removes a source only after another person approves, and audits each step', async () => {
    const { pipeline, audit, kb, prefixes } = await setup();
    const alice = await connect(pipeline, who('token:alice-ide', [], 'mcp-http'));
    const bob = await connect(pipeline, who('token:bob-ide', [], 'mcp-http'));
    expect((await kb.search('wombat queue', { mode: 'keyword' })).passages[0]?.citation.source).toBe(
      'old-notes/wombat.md',
    );

    const asked = await call(alice, 'runbooks_source_remove', { source: 'old-notes' });
    expect(asked.isError).toBe(true);
    const ticket = (asked._meta!['kubemate/ticket'] as { id: string }).id;
    expect(text(asked)).toContain("remove the runbook source 'old-notes': 1 documents");
    expect(await prefixes()).toContain('old-notes');
    expect(audit.records.at(-1)).toMatchObject({
      tool: 'runbooks_source_remove',
      outcome: 'approval_required',
    });

    const approved = await call(bob, 'approvals_approve', { ticket });
    expect(approved.isError, text(approved)).toBeFalsy();
    expect(text(approved)).toBe("Removed 1 document under the source 'old-notes'.");
    expect(await prefixes()).toEqual(['team-a']);
    expect((await kb.search('wombat queue', { mode: 'keyword' })).passages).toEqual([]);
    expect(audit.records.filter((r) => r.tool === 'runbooks_source_remove').map((r) => r.outcome)).toEqual(
      expect.arrayContaining(['approval_required', 'success']),
    );
    await alice.close();
    await bob.close();
  });

  it('refuses to remove a configured folder or an unknown source, and rejects a malformed one', async () => {
    const { pipeline, prefixes } = await setup();
    const root = await connect(pipeline, who('root', [], 'mcp-http'));
    const configured = await call(root, 'runbooks_source_remove', { source: 'team-a' });
    expect(configured.isError).toBe(true);
    expect(text(configured)).toContain('runbooks.dirs');
    expect(await prefixes()).toContain('team-a');
    const unknown = await call(root, 'runbooks_source_remove', { source: 'nothing-here' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain("no runbooks under the source 'nothing-here'");
    const malformed = await call(root, 'runbooks_source_remove', { source: '../etc' });
    expect(malformed.isError).toBe(true);
    expect(text(malformed)).toContain('a source prefix');
    await root.close();
  });

  it('ingests the configured folders again: a new file is added and found; an unknown folder is named', async () => {
    const { pipeline, audit, kb, teamDir } = await setup();
    const root = await connect(pipeline, who('root', [], 'mcp-http'));
    writeFileSync(
      join(teamDir, 'numbat.md'),
      page('Numbat cache misses', 'Warm the numbat cache after a deploy.'),
    );
    const done = await call(root, 'runbooks_ingest', { source: 'team-a' });
    expect(done.isError, text(done)).toBeFalsy();
    expect(text(done)).toContain(
      'team-a: 2 files seen, 1 added, 0 updated, 1 unchanged, 0 removed, 0 failed',
    );
    expect((await kb.search('numbat cache', { mode: 'keyword' })).passages[0]?.citation.source).toBe(
      'team-a/numbat.md',
    );
    expect(audit.records.at(-1)).toMatchObject({
      tool: 'runbooks_ingest',
      outcome: 'success',
      args: { source: 'team-a' },
    });

    const unknown = await call(root, 'runbooks_ingest', { source: 'elsewhere' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('configured: team-a');
    await root.close();
  });

  it('says when the server has no knowledge base', async () => {
    const { pipeline } = await setup(false);
    const root = await connect(pipeline, who('root', [], 'mcp-http'));
    const r = await call(root, 'runbooks_sources_list');
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('not configured');
    await root.close();
  });
});
