// The canary plan store's contract on a SQLite file and a real PostgreSQL 15: plans and gates written
// by one replica are read by another, and a due plan is taken by one runner at a time (two replicas
// racing take each plan once; a runner that dies holding one gives it up when its hold runs out).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../../state/sqlite.js';
import { type CanaryPlan, openCanaryPlanStore } from '../../../tools/clients/canary-plans.js';
import { canaryPlanDraft } from '../../support/canary-plan.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const open = (place: Place) =>
  track(
    place.kind === 'sqlite'
      ? openCanaryPlanStore(undefined, place.where)
      : openCanaryPlanStore(pgState(place.where), 'not used on PostgreSQL'),
  );

const draft = canaryPlanDraft;

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('canary plans on %s', (kind: BackendKind) => {
  it('keeps plans and gates that another replica reads, newest plan first', async () => {
    const place = await freshPlace(kind, 'canary.db');
    const [a, b] = [open(place), open(place)];
    const one = await a.create(draft('api', 1000), 'cp_000000000001');
    await new Promise((r) => setTimeout(r, 5));
    await a.create(draft('web', 2000), 'cp_000000000002');
    expect(await b.get('cp_000000000001')).toEqual(one);
    expect(await b.get('cp_000000000009')).toBeUndefined();
    expect((await b.list()).map((p) => p.id)).toEqual(['cp_000000000002', 'cp_000000000001']);
    expect((await b.due(1500)).map((p) => p.id)).toEqual(['cp_000000000001']);
    await b.save({ ...one, state: 'completed', step: 3, history: [{ at: 'now', text: 'completed' }] });
    expect(await a.get(one.id)).toMatchObject({ state: 'completed', step: 3 });
    expect((await a.due(5000)).map((p) => p.id)).toEqual(['cp_000000000002']);

    expect(await b.gate('payments/api/confirm-rollout/abc')).toBeUndefined();
    await a.setGateTicket('payments/api/confirm-rollout/abc', 'apr_1');
    expect(await b.gate('payments/api/confirm-rollout/abc')).toEqual({
      key: 'payments/api/confirm-rollout/abc',
      ticket: 'apr_1',
    });
    await b.openGate('payments/api/confirm-rollout/abc');
    expect(await a.gate('payments/api/confirm-rollout/abc')).toMatchObject({
      ticket: 'apr_1',
      openedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('gives each due plan to one of two runners taking at once, again after release, and after a hold runs out', async () => {
    const place = await freshPlace(kind, 'canary.db');
    const [a, b] = [open(place), open(place)];
    const ids = Array.from({ length: 12 }, (_, i) => `cp_${String(i).padStart(12, '0')}`);
    for (const id of ids) await a.create(draft(id, 1000), id);
    const [ta, tb] = await Promise.all([a.take('A', 2000, 60_000), b.take('B', 2000, 60_000)]);
    expect([...ta, ...tb].map((p) => p.id).sort()).toEqual(ids);
    expect(await a.take('A', 2000, 60_000)).toEqual([]);
    const first = (ta[0] ?? tb[0])!;
    const holder = ta.length ? 'A' : 'B';
    await b.release(first.id, holder === 'A' ? 'B' : 'A'); // not the holder's: nothing changes
    expect(await b.take('B', 2001, 60_000)).toEqual([]);
    await a.release(first.id, holder);
    expect((await b.take('B', 2002, 60_000)).map((p) => p.id)).toEqual([first.id]);
    // The rest were held until 62,000: a runner that died holding them gives them up then.
    expect(await b.take('B', 61_999, 60_000)).toHaveLength(0);
    expect(await b.take('B', 62_000, 60_000)).toHaveLength(ids.length - 1);
  });
});

describe('canary plans on a SQLite file from before versioned schemas', () => {
  it('keeps its plans and gates, lists them newest first and lets them be taken', async () => {
    const place = await freshPlace('sqlite', 'canary.db');
    const db = openSqlite(place.where);
    db.exec(`
      CREATE TABLE canary_plans (id TEXT PRIMARY KEY, state TEXT NOT NULL, next_at INTEGER NOT NULL,
        plan_json TEXT NOT NULL);
      CREATE TABLE canary_gates (key TEXT PRIMARY KEY, ticket TEXT, opened_at TEXT);`);
    const old = (id: string, createdAt: string): CanaryPlan => ({ ...draft(id, 1000), id, createdAt });
    const insert = db.prepare('INSERT INTO canary_plans (id, state, next_at, plan_json) VALUES (?, ?, ?, ?)');
    for (const p of [
      old('cp_old000000001', '2026-12-01T00:00:00.000Z'),
      old('cp_old000000002', '2026-12-02T00:00:00.000Z'),
    ])
      insert.run(p.id, p.state, p.nextAt, JSON.stringify(p));
    db.prepare('INSERT INTO canary_gates VALUES (?, ?, ?)').run('k', 'apr_1', null);
    db.close();
    const store = open(place);
    expect((await store.list()).map((p) => p.id)).toEqual(['cp_old000000002', 'cp_old000000001']);
    expect(await store.gate('k')).toEqual({ key: 'k', ticket: 'apr_1' });
    expect((await store.take('A', 2000, 1000)).map((p) => p.id).sort()).toEqual([
      'cp_old000000001',
      'cp_old000000002',
    ]);
  });
});
