// Two Kubemate processes against one real PostgreSQL 15 (each its own pool, started as its own
// process over the real stores): concurrent approvals of the same tickets run each once, concurrent
// audit appends keep one valid chain, and when the lease holder is killed with SIGKILL the other
// takes the scheduled work over within the lease time, never doing a piece of work twice.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PgApprovalStore } from '../../../policies/approvals-pg.js';
import { PgAuditLog } from '../../../policies/audit-log-pg.js';
import { freshDatabase, startStatePostgres, stopStatePostgres } from '../../support/pg-state.js';
import { type Replica, startReplica } from '../../support/replicas.js';
import { closeAll, pgState } from './backends.js';

const running: Replica[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await closeAll();
});
afterAll(stopStatePostgres);

const replica = (args: string[]) => {
  const r = startReplica(args);
  running.push(r);
  return r;
};

describe('two replicas on one PostgreSQL', () => {
  it('approving the same tickets at the same moment on both runs each ticket exactly once', async () => {
    const url = freshDatabase(await startStatePostgres());
    const state = pgState(url);
    const store = await PgApprovalStore.open(state, 3600_000);
    await state.pool.query('CREATE TABLE side_effects (ticket TEXT, replica TEXT)');
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = await store.request({
        tool: 'deployment_scale',
        args: { namespace: 'payments', name: 'api', replicas: i },
        requester: { id: 'slack:UALICE', groups: ['sre'], source: 'chat' },
        requesterPerson: 'alice',
        rule: 'approvals[0]',
        required: { count: 1 },
        plan: `scale payments/api to ${i}`,
      });
      ids.push(t.id);
    }
    const startAt = Date.now() + 2500; // both processes are up and connected by then
    const results = (await Promise.all(
      ['a', 'b'].map((name) => replica(['approve', url, name, String(startAt), ids.join(',')]).done),
    )) as Array<{ approved: number; ran: number }>;
    expect(results[0]!.approved + results[1]!.approved).toBe(40);
    expect(results[0]!.ran + results[1]!.ran).toBe(40);
    const effects = await state.pool.query<{ ticket: string; n: string }>(
      'SELECT ticket, count(*) AS n FROM side_effects GROUP BY ticket',
    );
    expect(effects.rows).toHaveLength(40);
    expect(effects.rows.every((r) => r.n === '1')).toBe(true);
    const tickets = await store.list({ limit: 100 });
    expect(tickets.every((t) => t.status === 'executed' && t.approvals.length === 1)).toBe(true);
  });

  it('audit appends from both at once keep one chain that verifies', async () => {
    const url = freshDatabase(await startStatePostgres());
    const log = await PgAuditLog.open(pgState(url));
    const startAt = Date.now() + 2500;
    const results = (await Promise.all(
      ['a', 'b'].map((name) => replica(['audit', url, name, String(startAt), '1500', '16']).done),
    )) as Array<{ appended: number }>;
    expect(results.map((r) => r.appended)).toEqual([1500, 1500]);
    expect(await log.verify()).toMatchObject({ ok: true, count: 3000, problems: [] });
    // Both wrote while the other did: their records interleave in the chain.
    const switches = await pgState(url).pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT principal, lag(principal) OVER (ORDER BY seq) AS before FROM audit) x
       WHERE before IS NOT NULL AND before <> principal`,
    );
    expect(Number(switches.rows[0]!.n)).toBeGreaterThan(1);
  });

  it('when the lease holder is killed with SIGKILL the other takes over within the lease time, doing no work twice', async () => {
    const url = freshDatabase(await startStatePostgres());
    const state = pgState(url);
    await state.pool.query('CREATE TABLE work_log (slot BIGINT, replica TEXT, token BIGINT)');
    const TTL = 1500;
    const RENEW = 250;
    const SLOT = 100;
    const a = replica(['lease', url, 'a', String(TTL), String(RENEW), String(SLOT)]);
    await a.waitFor((l) => 'work' in l);
    const b = replica(['lease', url, 'b', String(TTL), String(RENEW), String(SLOT)]);
    await new Promise((r) => setTimeout(r, 3000)); // b is up and trying; a keeps the lease
    const before = await state.pool.query<{ replica: string }>('SELECT DISTINCT replica FROM work_log');
    expect(before.rows.map((r) => r.replica)).toEqual(['a']);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await b.waitFor((l) => 'work' in l, 10_000);
    const firstB = (b.lines.find((l) => 'work' in (l as object)) as { at: number }).at;
    const takeover = firstB - killedAt;
    expect(takeover).toBeLessThanOrEqual(TTL + RENEW + SLOT + 200);
    await new Promise((r) => setTimeout(r, 1000));
    b.child.kill('SIGKILL');
    const rows = (
      await state.pool.query<{ slot: string; replica: string; token: string }>(
        'SELECT slot, replica, token FROM work_log ORDER BY slot',
      )
    ).rows;
    const slots = rows.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length); // no piece of work done twice
    const lastA = rows.filter((r) => r.replica === 'a').at(-1)!;
    const firstBRow = rows.find((r) => r.replica === 'b')!;
    expect(Number(firstBRow.slot)).toBeGreaterThan(Number(lastA.slot));
    expect(Number(firstBRow.token)).toBe(Number(lastA.token) + 1);
    expect(rows.filter((r) => r.replica === 'b').length).toBeGreaterThan(5);
  });
});
