import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApprovalStore } from '../../policies/approvals.js';
import type { Backends } from '../../tools/clients/backends.js';
import { defineTool } from '../../tools/core/types.js';
import { countingTools } from '../support/fake-tools.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
  carol: [slack:UCAROL]
  dave: [slack:UDAVE]
  erin: [slack:UERIN]
  frank: [slack:UFRANK]
groups:
  leads: [bob, carol, frank]
bindings:
  - subjects: [alice, bob, carol, erin, frank]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
deny:
  - subjects: [frank]
    tools: [approvals_approve, approvals_reject]
    reason: frank is on leave and approves nothing
approvals:
  - tools: [widget_scale]
    approvers: { groups: [leads], count: 1 }
  - tools: [widget_delete]
    approvers: { count: 2 }
`;

const alice = who('slack:UALICE');
const bob = who('slack:UBOB');
const carol = who('slack:UCAROL');
const dave = who('slack:UDAVE');
const erin = who('slack:UERIN');
const frank = who('slack:UFRANK');

const stores: ApprovalStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function setup(opts: { path?: string; now?: () => number } = {}) {
  const path = opts.path ?? join(mkdtempSync(join(tmpdir(), 'kubemate-approvals-')), 'approvals.db');
  const store = new ApprovalStore(path, 15 * 60_000, opts.now);
  stores.push(store);
  const { tools, runs } = countingTools();
  const t = testPipeline({ tools, policy: engineFrom(POLICY), approvals: store });
  return { ...t, runs, store, path };
}

async function requestScale(pipeline: ReturnType<typeof setup>['pipeline'], replicas = 3) {
  const r = await pipeline.invoke('widget_scale', { id: 'api', replicas }, alice);
  expect(r.status).toBe('approval_required');
  expect(r.text).toContain(
    `Ticket ${r.ticket!.id} will run exactly: widget_scale id="api" replicas=${replicas}`,
  );
  return r.ticket!.id;
}

describe('approvals', () => {
  it('a write waits for approval, then runs exactly once as its requester', async () => {
    const { pipeline, runs, audit } = setup();
    const id = await requestScale(pipeline);
    expect(runs.write).toBe(0);
    const done = await pipeline.approve(id, bob);
    expect(done.status).toBe('success');
    expect(done.text).toBe('scaled api to 3');
    expect(done.ticket).toMatchObject({ id, status: 'executed' });
    expect(runs.write).toBe(1);
    const kinds = audit.records
      .filter((r) => r.ticketId === id)
      .map((r) => `${r.kind}:${r.outcome}:${r.principal.id}`);
    expect(kinds).toEqual([
      'result:approval_required:slack:UALICE',
      'approval:success:slack:UBOB',
      'result:success:slack:UALICE',
    ]);
  });

  it('two concurrent approvals execute the call once', async () => {
    const { pipeline, runs } = setup();
    const id = await requestScale(pipeline);
    const results = await Promise.all([pipeline.approve(id, bob), pipeline.approve(id, carol)]);
    expect(runs.write).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual(['denied', 'success']);
    expect(results.find((r) => r.status === 'denied')!.text).toMatch(
      /is (executed|executing|approved), not pending|already been executed/,
    );
  });

  it('a ticket whose completing approval could not be audited runs once at the next approval, not never', async () => {
    const { pipeline, runs, audit, store } = setup();
    const id = await requestScale(pipeline);
    // The audit log refuses the approval record once (its database away for a moment).
    const record = audit.record.bind(audit);
    let refused = 0;
    audit.record = (entry) => {
      if (entry.kind === 'approval' && refused++ === 0) throw new Error('audit database unavailable');
      return record(entry);
    };
    await expect(pipeline.approve(id, bob)).rejects.toThrow('audit database unavailable');
    expect(runs.write).toBe(0); // nothing ran unaudited
    expect((await store.get(id)).status).toBe('approved');
    // Another approval (here by another lead) is recorded and runs the approved call, once.
    const done = await pipeline.approve(id, carol);
    expect(done.status).toBe('success');
    expect(runs.write).toBe(1);
    const again = await pipeline.approve(id, bob);
    expect(again.status).toBe('denied');
    expect(runs.write).toBe(1);
    const kinds = audit.records
      .filter((r) => r.ticketId === id && r.kind !== 'result')
      .map((r) => `${r.kind}:${r.outcome}:${r.principal.id}`);
    expect(kinds).toEqual(['approval:success:slack:UCAROL', 'approval:denied:slack:UBOB']);
  });

  it('two stores on one file (two processes) still claim a ticket once', async () => {
    const a = setup();
    const b = setup({ path: a.path });
    const id = await requestScale(a.pipeline);
    const results = await Promise.all([a.pipeline.approve(id, bob), b.pipeline.approve(id, carol)]);
    expect(a.runs.write + b.runs.write).toBe(1);
    expect(results.filter((r) => r.status === 'success')).toHaveLength(1);
  });

  it('a requester cannot approve their own ticket, even under another identity', async () => {
    const { pipeline, runs } = setup();
    const id = await requestScale(pipeline);
    const r = await pipeline.approve(id, { id: 'alice', groups: ['leads'], source: 'mcp-http' });
    expect(r.status).toBe('denied');
    expect(r.text).toContain('alice requested this call and cannot approve it');
    expect(runs.write).toBe(0);
  });

  it('an approver must be in the required group and allowed to run the call', async () => {
    const { pipeline, runs } = setup();
    const id = await requestScale(pipeline);
    const r = await pipeline.approve(id, erin);
    expect(r.status).toBe('denied');
    expect(r.text).toContain('erin is not in group leads');
    // A viewer is refused before the ticket is read: approving is a write of the approvals toolset.
    const viewer = await pipeline.approve(id, dave);
    expect(viewer.status).toBe('denied');
    expect(viewer.text).toContain('no role grants dave the write verb on approvals_approve');
    expect(runs.write).toBe(0);
  });

  it('changed arguments need a new ticket; the approved one runs only what was approved', async () => {
    const { pipeline, runs, store } = setup();
    const first = await requestScale(pipeline, 3);
    const second = await requestScale(pipeline, 30);
    expect(second).not.toBe(first);
    expect(await requestScale(pipeline, 3)).toBe(first);
    const r = await pipeline.approve(first, bob);
    expect(r.text).toBe('scaled api to 3');
    expect(runs.write).toBe(1);
    expect(store.get(second).status).toBe('pending');
  });

  it('a ticket whose stored arguments were altered is refused', async () => {
    const { pipeline, runs, path } = setup();
    const id = await requestScale(pipeline, 3);
    const db = new Database(path);
    db.prepare('UPDATE tickets SET args_json = ? WHERE id = ?').run('{"id":"api","replicas":300}', id);
    db.close();
    const r = await pipeline.approve(id, bob);
    expect(r.status).toBe('denied');
    expect(r.text).toContain('does not match its recorded arguments');
    expect(runs.write).toBe(0);
  });

  it('an expired ticket is refused', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { pipeline, runs } = setup({ now: () => now });
    const id = await requestScale(pipeline);
    now += 16 * 60_000;
    const r = await pipeline.approve(id, bob);
    expect(r.status).toBe('denied');
    expect(r.text).toContain(`ticket ${id} expired at 2026-01-01T00:15:00.000Z`);
    expect(runs.write).toBe(0);
  });

  it('N-of-M: waits for the second approver, and a rejected ticket never runs', async () => {
    const { pipeline, runs } = setup();
    const del = await pipeline.invoke('widget_delete', { id: 'api' }, alice);
    const id = del.ticket!.id;
    const one = await pipeline.approve(id, bob);
    expect(one.status).toBe('approval_required');
    expect(one.text).toContain('(1 of 2)');
    expect(runs.destroy).toBe(0);
    expect((await pipeline.approve(id, bob)).text).toContain('bob has already approved');
    const two = await pipeline.approve(id, carol);
    expect(two.status).toBe('success');
    expect(runs.destroy).toBe(1);

    const again = await pipeline.invoke('widget_delete', { id: 'web' }, alice);
    expect((await pipeline.reject(again.ticket!.id, carol, 'not during the freeze')).status).toBe('success');
    const late = await pipeline.approve(again.ticket!.id, bob);
    expect(late.text).toContain('is rejected, not pending');
    expect(runs.destroy).toBe(1);
  });

  it('pending tickets survive a restart', async () => {
    const first = setup();
    const id = await requestScale(first.pipeline);
    first.store.close();
    stores.splice(stores.indexOf(first.store), 1);
    const second = setup({ path: first.path });
    expect(second.store.get(id).status).toBe('pending');
    const r = await second.pipeline.approve(id, carol);
    expect(r.status).toBe('success');
    expect(second.runs.write).toBe(1);
  });
});

describe('approvals hold whatever surface calls them', () => {
  it('approve and reject apply the policy on the approvals tools themselves, not only through invoke', async () => {
    const { pipeline, runs, audit } = setup();
    const id = await requestScale(pipeline);
    // frank is a lead and may run the call, but a deny rule takes the approvals tools from him.
    for (const r of [await pipeline.approve(id, frank), await pipeline.reject(id, frank, 'no')]) {
      expect(r.status).toBe('denied');
      expect(r.decision).toMatchObject({ effect: 'deny', rule: 'deny[0]' });
      expect(r.text).toContain('frank is on leave and approves nothing');
    }
    expect(runs.write).toBe(0);
    expect(
      audit.records.filter((r) => r.principal.id === 'slack:UFRANK').map((r) => [r.kind, r.tool]),
    ).toEqual([
      ['decision', 'approvals_approve'],
      ['result', 'approvals_approve'],
      ['decision', 'approvals_reject'],
      ['result', 'approvals_reject'],
    ]);
    expect((await pipeline.approve(id, bob)).status).toBe('success');
  });

  it('a ticket whose tool no longer exists can be withdrawn by its requester, not rejected by anyone else', async () => {
    const first = setup();
    const id = await requestScale(first.pipeline);
    // The same tickets, read by a version of Kubemate without the widget tools.
    const store = new ApprovalStore(first.path, 15 * 60_000);
    stores.push(store);
    const { pipeline } = testPipeline({ tools: [], policy: engineFrom(POLICY), approvals: store });
    const refused = await pipeline.reject(id, carol, 'cleanup');
    expect(refused.status).toBe('denied');
    expect(refused.text).toContain(
      `cannot reject ${id}: its tool 'widget_scale' no longer exists, so no approver can be checked`,
    );
    expect(store.get(id).status).toBe('pending');
    expect((await pipeline.reject(id, alice, 'withdrawn')).status).toBe('success');
    expect(store.get(id).status).toBe('rejected');
  });
});

describe('tickets bound to the cluster they resolve to', () => {
  const runs: string[] = [];
  const gadget = defineTool({
    name: 'gadget_restart',
    title: 'Gadget: Restart',
    description: 'Restart a gadget on a cluster.',
    input: z.object({ cluster: z.string().min(1).optional(), id: z.string().min(1) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    permission: { toolset: 'test', verb: 'write', namespaced: false },
    async handler(args) {
      runs.push(`${args.id}@${args.cluster ?? '(default)'}`);
      return { kind: 'doc', text: `restarted ${args.id}` };
    },
  });
  const GADGET_POLICY = `${POLICY.replace(/approvals:[\s\S]*$/, '')}approvals:
  - tools: [gadget_restart]
    approvers: { count: 1 }
`;

  function withDefault(initial: string) {
    const cluster = { current: initial };
    const backends = {
      kube: {
        get defaultCluster() {
          return cluster.current;
        },
        as: () => ({ names: () => [cluster.current], get: () => ({ name: cluster.current }) }),
      },
    } as unknown as Backends;
    const store = new ApprovalStore(':memory:', 15 * 60_000);
    stores.push(store);
    const t = testPipeline({
      tools: [gadget],
      policy: engineFrom(GADGET_POLICY),
      approvals: store,
      backends,
    });
    return { ...t, cluster, store };
  }

  it('a change of default cluster cannot retarget a pending ticket that named none', async () => {
    runs.length = 0;
    const { pipeline, cluster, store } = withDefault('prod-east');
    const asked = await pipeline.invoke('gadget_restart', { id: 'g1' }, alice);
    expect(asked.status).toBe('approval_required');
    const id = asked.ticket!.id;
    expect(store.get(id)).toMatchObject({ defaultCluster: 'prod-east' });
    expect(asked.ticket!.plan).toBe('gadget_restart id="g1" on the default cluster "prod-east"');
    cluster.current = 'prod-west';
    const r = await pipeline.approve(id, bob);
    expect(r.status).toBe('denied');
    expect(r.text).toBe(
      `ticket ${id} will not run: it was requested for the default cluster ('prod-east'), and the default cluster is now 'prod-west'; request it again, naming the cluster`,
    );
    expect(runs).toEqual([]);
    expect(store.get(id).status).toBe('rejected');
    // Asked again, the ticket is another one, bound to the new default.
    const again = await pipeline.invoke('gadget_restart', { id: 'g1' }, alice);
    expect(again.ticket!.id).not.toBe(id);
    expect((await pipeline.approve(again.ticket!.id, bob)).status).toBe('success');
    expect(runs).toEqual(['g1@(default)']);
  });

  it('a ticket that names its cluster is not bound to the default', async () => {
    runs.length = 0;
    const { pipeline, cluster, store } = withDefault('prod-east');
    const asked = await pipeline.invoke('gadget_restart', { id: 'g2', cluster: 'prod-east' }, alice);
    expect(store.get(asked.ticket!.id).defaultCluster).toBeUndefined();
    cluster.current = 'prod-west';
    expect((await pipeline.approve(asked.ticket!.id, bob)).status).toBe('success');
    expect(runs).toEqual(['g2@prod-east']);
  });
});

describe('a ticket left executing', () => {
  it('by a process that died becomes failed after the bound, saying the outcome is unknown', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = new ApprovalStore(':memory:', 15 * 60_000, () => now, 5 * 60_000);
    stores.push(store);
    const t = store.request({
      tool: 'widget_scale',
      args: { id: 'api', replicas: 3 },
      requester: alice,
      requesterPerson: 'alice',
      rule: 'test',
      required: { count: 1 },
      plan: 'widget_scale id="api" replicas=3',
    });
    store.approve(t.id, { person: 'bob', principalId: 'slack:UBOB' });
    expect(store.claim(t.id, t.argsHash)).toBe(true);
    // The process dies here: complete() never comes.
    now += 4 * 60_000;
    expect(store.get(t.id).status).toBe('executing');
    now += 2 * 60_000;
    const lost = store.get(t.id);
    expect(lost.status).toBe('failed');
    expect(lost.outcome).toEqual({
      status: 'error',
      text: 'Kubemate stopped while running this ticket (claimed at 2026-01-01T00:00:00.000Z) and never recorded an outcome; whether the call took effect is unknown: check before requesting it again',
      at: '2026-01-01T00:06:00.000Z',
    });
    expect(store.claim(t.id, t.argsHash)).toBe(false);
  });

  it('in a file written before claim times were kept still ends, counted from its expiry', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kubemate-approvals-')), 'approvals.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE tickets (id TEXT PRIMARY KEY, tool TEXT NOT NULL, args_json TEXT NOT NULL,
      args_hash TEXT NOT NULL, requester_json TEXT NOT NULL, requester_person TEXT NOT NULL, rule TEXT NOT NULL,
      required_json TEXT NOT NULL, plan TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL, decided_by TEXT, note TEXT, outcome_json TEXT)`);
    db.prepare(
      `INSERT INTO tickets VALUES ('apr_000000000001', 'widget_scale', '{}', 'x', '{"id":"a","groups":[],"source":"cli"}',
        'alice', 'r', '{"count":1}', 'p', 'executing', '2026-01-01T00:00:00.000Z', '2026-01-01T00:15:00.000Z', 'bob', NULL, NULL)`,
    ).run();
    db.close();
    let now = Date.parse('2026-01-01T00:20:00Z');
    const store = new ApprovalStore(path, 15 * 60_000, () => now, 10 * 60_000);
    stores.push(store);
    expect(store.get('apr_000000000001').status).toBe('executing');
    now = Date.parse('2026-01-01T00:25:00Z');
    expect(store.get('apr_000000000001')).toMatchObject({
      status: 'failed',
      outcome: { status: 'error', text: expect.stringContaining('claimed at an unknown time') },
    });
  });
});
