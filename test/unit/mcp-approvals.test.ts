import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { buildMcpServer } from '../../mcp/server.js';
import { ApprovalStore } from '../../policies/approvals.js';
import type { Principal } from '../../policies/types.js';
import { approvalTools } from '../../tools/approvals/index.js';
import { countingTools } from '../support/fake-tools.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [token:alice-ide]
  bob: [token:bob-ide]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;

async function connect(pipeline: ReturnType<typeof testPipeline>['pipeline'], principal: Principal) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildMcpServer(pipeline, principal).connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return client;
}

const text = (r: CallToolResult) => (r.content as Array<{ text: string }>).map((c) => c.text).join('\n');

describe('approvals over MCP', () => {
  it('a write returns a ticket and how to approve it; another person approves and it runs once', async () => {
    const store = new ApprovalStore(join(mkdtempSync(join(tmpdir(), 'kubemate-mcp-')), 'a.db'), 60_000);
    const { tools, runs } = countingTools();
    const { pipeline } = testPipeline({
      tools: [...tools, ...approvalTools],
      policy: engineFrom(POLICY),
      approvals: store,
    });
    const alice = await connect(pipeline, { id: 'token:alice-ide', groups: [], source: 'mcp-http' });
    const bob = await connect(pipeline, { id: 'token:bob-ide', groups: [], source: 'mcp-http' });

    const asked = (await alice.callTool({
      name: 'widget_scale',
      arguments: { id: 'api', replicas: 4 },
    })) as CallToolResult;
    expect(asked.isError).toBe(true);
    const ticket = (asked._meta!['kubemate/ticket'] as { id: string }).id;
    expect(text(asked)).toContain(`Ticket ${ticket} will run exactly: widget_scale id="api" replicas=4`);
    expect(text(asked)).toContain(`approvals_approve with {"ticket":"${ticket}"}`);
    expect(runs.write).toBe(0);

    const own = (await alice.callTool({
      name: 'approvals_approve',
      arguments: { ticket },
    })) as CallToolResult;
    expect(own.isError).toBe(true);
    expect(text(own)).toContain('alice requested this call and cannot approve it');

    const pending = (await bob.callTool({
      name: 'approvals_list',
      arguments: { status: 'pending' },
    })) as CallToolResult;
    expect((pending.structuredContent as { items: Array<{ id: string }> }).items.map((i) => i.id)).toEqual([
      ticket,
    ]);

    const approved = (await bob.callTool({
      name: 'approvals_approve',
      arguments: { ticket },
    })) as CallToolResult;
    expect(approved.isError).toBeFalsy();
    expect(text(approved)).toBe('scaled api to 4');
    expect(runs.write).toBe(1);

    const again = (await bob.callTool({
      name: 'approvals_approve',
      arguments: { ticket },
    })) as CallToolResult;
    expect(again.isError).toBe(true);
    expect(runs.write).toBe(1);
    const got = (await alice.callTool({ name: 'approvals_get', arguments: { ticket } })) as CallToolResult;
    expect(got.structuredContent).toMatchObject({
      status: 'executed',
      approvals: ['bob'],
      outcome: 'success: scaled api to 4',
    });
    store.close();
  });
});
