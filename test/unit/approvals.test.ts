import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../policies/approvals.js';
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
groups:
  leads: [bob, carol]
bindings:
  - subjects: [alice, bob, carol]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
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
    const r = await pipeline.approve(id, dave);
    expect(r.status).toBe('denied');
    expect(r.text).toContain('dave is not in group leads');
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
    expect(pipeline.reject(again.ticket!.id, carol, 'not during the freeze').status).toBe('success');
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
