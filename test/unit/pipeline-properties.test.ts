import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildMcpServer } from '../../mcp/server.js';
import { canonicalJson } from '../../policies/audit-chain.js';
import { AuditLog } from '../../policies/audit-log.js';
import type { AuditRecord, AuditSink } from '../../policies/types.js';
import type { Backends } from '../../tools/clients/backends.js';
import { AUDIT_BOUNDS, MAX_ARG_DEPTH, PROTO_KEY } from '../../tools/core/args-bounds.js';
import { ToolPipeline } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { ToolMetrics } from '../../tools/core/metrics.js';
import { defaultRedactor } from '../../tools/core/redact.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import { defineTool, type ToolDef } from '../../tools/core/types.js';
import { countingTools } from '../support/fake-tools.js';
import { engineFrom } from '../support/policy.js';

/**
 * The pipeline against hostile input: whatever a caller sends as a tool name and arguments,
 * `invoke` answers (never throws), within its timeout, and leaves exactly one result record in the
 * audit, after at most one decision record, each small enough to keep and hashable into the chain.
 */

const TIMEOUT_MS = 150;
const principal = { id: 'token:fuzz', groups: ['fuzzers'], source: 'mcp-http' as const };
const POLICY = `
version: 1
identities:
  fuzz: [token:fuzz]
bindings:
  - subjects: [fuzz]
    roles: [admin]
approvals: []
`;

/** Both sinks: the list the test counts, and the real hash-chained log, which must accept every record. */
class TeeAudit implements AuditSink {
  readonly records: AuditRecord[] = [];
  constructor(readonly log: AuditLog) {}
  record(entry: AuditRecord): void {
    this.records.push(entry);
    this.log.record(entry);
  }
}

const extraTools: ToolDef[] = [
  defineTool({
    name: 'stuck_get',
    title: 'Stuck: Get',
    description: 'Never answers.',
    input: z.object({}),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    permission: { toolset: 'test', verb: 'read', namespaced: false },
    handler: () => new Promise(() => {}),
  }),
  defineTool({
    name: 'echo_get',
    title: 'Echo: Get',
    description: 'Returns what it was given.',
    input: z.object({ value: z.unknown(), tags: z.record(z.string(), z.unknown()).optional() }),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    permission: { toolset: 'test', verb: 'read', namespaced: false },
    async handler(args) {
      return {
        kind: 'doc',
        text: JSON.stringify(args.value) ?? 'undefined',
        structured: { tags: args.tags ?? {} },
      };
    },
  }),
];

const noClusters = { kube: { as: () => ({ names: () => [], get: () => ({}) }) } } as unknown as Backends;

function pipelineUnderTest() {
  const log = new AuditLog(':memory:');
  const audit = new TeeAudit(log);
  const { tools } = countingTools();
  const pipeline = new ToolPipeline({
    registry: new ToolRegistry([tools, extraTools]),
    policy: engineFrom(POLICY),
    backends: noClusters,
    audit,
    metrics: new ToolMetrics(),
    logger: silentLogger,
    redact: defaultRedactor,
    maxTokens: 2000,
    timeoutMs: TIMEOUT_MS,
  });
  return { pipeline, audit, log };
}

/** `[[[…]]]` or `{"a":{"a":…}}`, built without recursion. */
function nested(depth: number, leaf: unknown, objects: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = objects ? { a: v } : [v];
  return v;
}

const names = fc.oneof(
  fc.constantFrom(
    'widget_get',
    'widget_scale',
    'widget_delete',
    'stuck_get',
    'echo_get',
    'widget_scal',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
  ),
  fc.string({ maxLength: 300 }),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => `widget_${'x'.repeat(n)}`),
);

const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":true},"id":"a","replicas":1}',
  '{"constructor":{"prototype":{"polluted":true}},"id":"a"}',
  '{"value":{"__proto__":{"polluted":true}},"tags":{"__proto__":{"polluted":true},"constructor":1}}',
  '{"id":{"toString":"x","valueOf":1},"replicas":{"__proto__":null}}',
);

const args = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
  { weight: 2, arbitrary: fc.record({ id: fc.string(), replicas: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 2, arbitrary: pollution.map((text) => JSON.parse(text) as unknown) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), fc.jsonValue({ maxDepth: 1 }))
      .map(([depth, objects, leaf]) => ({ id: 'a', value: nested(depth, leaf, objects) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 20_000, max: 1_000_000 }),
        fc.constantFrom('x', 'password=hunter2 ', 'é😀', '\u0000'),
      )
      .map(([n, unit]) => ({ id: unit.repeat(Math.ceil(n / unit.length)), value: 'v' })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 300, max: 50_000 })
      .map((n) => ({ id: 'a', tags: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) })),
  },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 0, 'text', [], [1, 2]) },
);

const opened: AuditLog[] = [];
afterAll(() => {
  for (const log of opened) log.close();
});

describe('invoke with arbitrary input (property)', () => {
  it('never throws, never hangs past its timeout, and writes exactly one result record per call', async () => {
    const { pipeline, audit, log } = pipelineUnderTest();
    opened.push(log);
    await fc.assert(
      fc.asyncProperty(names, args, async (name, input) => {
        const before = audit.records.length;
        const started = performance.now();
        const result = await pipeline.invoke(name, input, principal);
        const elapsed = performance.now() - started;
        // The timeout bounds the handler; the rest of a call is linear in its (bounded) input.
        expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
        expect(typeof result.text).toBe('string');
        expect(result.text.length).toBeLessThan(50_000);
        const mine = audit.records.slice(before);
        expect(mine.filter((r) => r.kind === 'result')).toHaveLength(1);
        expect(mine.at(-1)!.kind).toBe('result');
        expect(mine.filter((r) => r.kind === 'decision').length).toBeLessThanOrEqual(1);
        expect(mine).toHaveLength(mine[0]!.kind === 'decision' ? 2 : 1);
        for (const r of mine) {
          // Small enough to keep whatever was sent (escaping can grow a character to six).
          expect(canonicalJson(r.args).length).toBeLessThan(6 * AUDIT_BOUNDS.maxTotal + 10_000);
          expect(r.tool.length).toBeLessThanOrEqual(101);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { numRuns: 150 },
    );
    // Every record went into the hash chain, and the chain holds.
    expect(log.verify()).toMatchObject({ ok: true, count: audit.records.length });
  }, 120_000);
});

describe('hostile arguments, case by case', () => {
  it('arguments nested 5,000 deep are refused with a clear error and audited once, bounded', async () => {
    const { pipeline, audit, log } = pipelineUnderTest();
    opened.push(log);
    for (const name of ['widget_get', 'no_such_tool']) {
      const deep = { id: 'a', value: nested(5_000, 'leaf', true) };
      const r = await pipeline.invoke(name, deep, principal);
      expect(r.status).toBe('invalid');
      if (name === 'widget_get') {
        expect(r.text).toBe(
          `invalid arguments for widget_get: they are nested more than ${MAX_ARG_DEPTH} levels deep, and no tool takes arguments like that. Nothing was executed.`,
        );
      }
    }
    expect(audit.records.map((r) => [r.kind, r.tool, r.outcome])).toEqual([
      ['result', 'widget_get', 'invalid'],
      ['result', 'no_such_tool', 'invalid'],
    ]);
    const kept = JSON.stringify(audit.records[0]!.args);
    expect(kept).toContain(`[not recorded: nested deeper than ${AUDIT_BOUNDS.maxDepth} levels]`);
    expect(audit.records[0]!.argsCut).toBe(
      `arguments cut for the audit record: 1 value(s) nested deeper than ${AUDIT_BOUNDS.maxDepth} levels left out`,
    );
    expect(log.verify().ok).toBe(true);
  });

  it('arguments one level within the limit still reach validation', async () => {
    const { pipeline } = pipelineUnderTest();
    const ok = await pipeline.invoke('echo_get', { value: nested(MAX_ARG_DEPTH - 1, 1, false) }, principal);
    expect(ok.status).toBe('success');
    const over = await pipeline.invoke('echo_get', { value: nested(MAX_ARG_DEPTH, 1, false) }, principal);
    expect(over.status).toBe('invalid');
  });

  it('keeps at most a bounded part of a huge argument, and says what it left out', async () => {
    const { pipeline, audit } = pipelineUnderTest();
    const big = 'x'.repeat(1_000_000);
    const r = await pipeline.invoke(
      'no_such_tool',
      { blob: big, many: Array.from({ length: 1000 }, (_, i) => i) },
      principal,
    );
    expect(r.status).toBe('invalid');
    const [rec] = audit.records;
    const blob = rec!.args.blob as string;
    expect(blob.length).toBeLessThan(AUDIT_BOUNDS.maxString + 100);
    expect(blob).toMatch(/… \[cut: \d+ more characters not recorded\]$/);
    expect((rec!.args.many as unknown[]).at(-1)).toBe(
      `[${1000 - AUDIT_BOUNDS.maxEntries} more items not recorded]`,
    );
    expect(rec!.argsCut).toMatch(
      /^arguments cut for the audit record: 1 string\(s\) shortened by \d+ characters, 744 item\(s\) or key\(s\) left out$/,
    );
  });

  it('a key named __proto__ is recorded as a key, never as a prototype', async () => {
    const { pipeline, audit } = pipelineUnderTest();
    const input = JSON.parse('{"__proto__":{"isAdmin":true},"id":"a"}') as Record<string, unknown>;
    await pipeline.invoke('no_such_tool', input, principal);
    const recorded = audit.records[0]!.args;
    expect(Object.getPrototypeOf(recorded)).toBe(Object.prototype);
    expect((recorded as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    expect(recorded).toEqual({ [PROTO_KEY]: { isAdmin: true }, id: 'a' });
  });

  it('over MCP, 5,000-deep arguments come back as a tool error, not a JSON-RPC internal error', async () => {
    const { pipeline, audit, log } = pipelineUnderTest();
    opened.push(log);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await buildMcpServer(pipeline, principal).connect(serverSide);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    const r = (await client.callTool({
      name: 'widget_get',
      arguments: { id: 'a', value: nested(5_000, 1, false) },
    })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain(`nested more than ${MAX_ARG_DEPTH} levels deep`);
    expect(audit.records.filter((x) => x.kind === 'result')).toHaveLength(1);
    await client.close();
  });
});
