// The inspection report store's contract, run against SQLite and a real PostgreSQL 15: reports with
// retention, schedule bookkeeping and missed runs, seen alike from every replica.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migratePostgres } from '../../../app/state.js';
import { SchemaError } from '../../../state/migrations.js';
import { openSqlite } from '../../../state/sqlite.js';
import type { ReportMeta } from '../../../tools/clients/inspection-reports.js';
import {
  type InspectionStore,
  openInspectionStore,
  type Retention,
} from '../../../tools/inspection/store.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const NOW = Date.parse('2026-12-07T08:00:00.000Z');

async function openStore(place: Place, retention?: Retention, now = () => NOW): Promise<InspectionStore> {
  const state = place.kind === 'postgres' ? pgState(place.where) : undefined;
  const store = track(openInspectionStore(state, place.where, retention, now));
  await store.migrated();
  return store;
}

let seq = 0;
const meta = (over: Partial<ReportMeta> = {}): ReportMeta => ({
  id: `insp_20261207080000_${(++seq).toString(16).padStart(6, '0')}`,
  createdAt: new Date(NOW - 60_000 + seq).toISOString(),
  kind: 'prod/all',
  cluster: 'prod',
  scopes: ['cluster'],
  by: 'alice',
  score: 91.5,
  critical: 1,
  warning: 2,
  findings: 3,
  ...over,
});

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('inspection store on %s', (kind: BackendKind) => {
  it('keeps reports, lists them newest first with filters, and reads one whole', async () => {
    const s = await openStore(await freshPlace(kind, 'inspections.db'));
    const a = meta({ plan: 'daily' });
    const b = meta({ cluster: 'staging', kind: 'staging/all', score: null });
    await s.save(a, '{"a":1}');
    await s.save(b, '{"b":2}');
    expect((await s.list({ limit: 10 })).map((m) => m.id)).toEqual([b.id, a.id]);
    expect(await s.list({ limit: 10, plan: 'daily' })).toEqual([a]);
    expect((await s.list({ limit: 10, cluster: 'staging' }))[0]).toEqual({ ...b, score: null });
    expect(await s.get(a.id)).toEqual({ meta: a, body: '{"a":1}' });
    expect(await s.get('insp_20261207080000_ffffff')).toBeUndefined();
    expect(s.clusterOf(b.id)).toBe('staging');
    expect(await s.count()).toBe(2);
    expect((await s.latest('prod/all'))?.meta.id).toBe(a.id);
    expect(await s.latest('prod/all', a.createdAt)).toBeUndefined();
    expect(await s.history('prod/all', 5)).toEqual([{ createdAt: a.createdAt, score: 91.5 }]);
  });

  it('prunes by age and by count per kind; pruning on two replicas at once deletes alike', async () => {
    const place = await freshPlace(kind, 'inspections.db');
    const retention = { days: 1, perKind: 3 };
    const [a, b] = [await openStore(place, retention), await openStore(place, retention)];
    const old = meta({ createdAt: new Date(NOW - 2 * 86_400_000).toISOString(), kind: 'old/all' });
    await a.save(old, '{}');
    await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).save(meta(), `{"i":${i}}`)));
    const kept = await b.list({ limit: 100 });
    expect(kept.map((m) => m.kind)).toEqual(['prod/all', 'prod/all', 'prod/all']);
    expect(await a.get(old.id)).toBeUndefined();
    // Both replicas see the same reports.
    expect((await a.list({ limit: 100 })).map((m) => m.id)).toEqual(kept.map((m) => m.id));
  });

  it('claims a plan due time once across replicas, and reports missed runs once', async () => {
    const place = await freshPlace(kind, 'inspections.db');
    const [a, b] = [await openStore(place), await openStore(place)];
    expect(await a.lastDue('daily')).toBeUndefined();
    await a.setLastDue('daily', 1_700_000_000_000);
    expect(await b.lastDue('daily')).toBe(1_700_000_000_000);
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).claimDue('daily', 1_700_000_000_000, 1_700_086_400_000),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    await a.recordMissed('daily', '2026-12-05T00:00:00.000Z', 'Kubemate was not running at that time');
    await b.recordMissed('daily', '2026-12-05T00:00:00.000Z', 'Kubemate was not running at that time');
    await b.recordMissed('daily', '2026-12-04T00:00:00.000Z', 'down');
    const taken = await Promise.all([a.takeMissed('daily'), b.takeMissed('daily')]);
    expect(taken.flat().map((m) => m.dueAt)).toEqual([
      '2026-12-04T00:00:00.000Z',
      '2026-12-05T00:00:00.000Z',
    ]);
    expect((await a.allMissed('daily')).map((m) => m.reported)).toEqual([true, true]);
  });

  it('knows a report another replica wrote once it has read it (the policy scope)', async () => {
    const place = await freshPlace(kind, 'inspections.db');
    const [a, b] = [await openStore(place), await openStore(place)];
    const m = meta({ cluster: 'admin' });
    await a.save(m, '{}');
    expect(a.clusterOf(m.id)).toBe('admin');
    // SQLite reads the file at once; PostgreSQL knows it after the first read on this replica.
    expect(b.clusterOf(m.id)).toBe(kind === 'sqlite' ? 'admin' : undefined);
    await b.get(m.id);
    expect(b.clusterOf(m.id)).toBe('admin');
  });

  it('refuses a database whose inspections schema is newer than this code knows', async () => {
    const place = await freshPlace(kind, 'inspections.db');
    await (await openStore(place)).save(meta(), '{}');
    await closeAll();
    await place.setVersion('inspections', 99);
    const err = await openStore(place).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaError);
  });
});

describe('inspection store files written before versions were kept', () => {
  it('keep their reports, schedule state and missed runs', async () => {
    const place = await freshPlace('sqlite', 'inspections.db');
    const old = openSqlite(place.where);
    old.exec(`
      CREATE TABLE reports (
        id TEXT PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL, cluster TEXT NOT NULL,
        scopes TEXT NOT NULL, plan TEXT, by TEXT NOT NULL, score REAL, critical INTEGER NOT NULL,
        warning INTEGER NOT NULL, findings INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE plan_state (plan TEXT PRIMARY KEY, last_due INTEGER NOT NULL);
      CREATE TABLE missed_runs (
        plan TEXT NOT NULL, due_at TEXT NOT NULL, reason TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (plan, due_at));`);
    old
      .prepare('INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        'insp_20261201000000_abcdef',
        '2026-12-01T00:00:00.000Z',
        'prod/all',
        'prod',
        '["cluster"]',
        null,
        'bob',
        80,
        0,
        1,
        1,
        '{"old":true}',
      );
    old.prepare('INSERT INTO plan_state VALUES (?, ?)').run('daily', 1234);
    old
      .prepare('INSERT INTO missed_runs (plan, due_at, reason) VALUES (?, ?, ?)')
      .run('daily', '2026-12-02T00:00:00.000Z', 'down');
    old.close();
    const s = await openStore(place, { days: 90, perKind: 400 });
    expect(await s.get('insp_20261201000000_abcdef')).toMatchObject({
      body: '{"old":true}',
      meta: { by: 'bob' },
    });
    expect(await s.lastDue('daily')).toBe(1234);
    expect((await s.takeMissed('daily')).map((m) => m.reason)).toEqual(['down']);
    const db = track(openSqlite(place.where));
    expect(db.prepare("SELECT version FROM kubemate_schema WHERE store = 'inspections'").get()).toEqual({
      version: 2,
    });
  });
});

describe('kubemate state migrate (migratePostgres)', () => {
  it('applies the alert and inspection schemas with the others, and again changes nothing', async () => {
    const place = await freshPlace('postgres');
    const state = pgState(place.where);
    const first = await migratePostgres(state);
    expect(first).toEqual(
      expect.arrayContaining([
        { store: 'alerts', version: 2 },
        { store: 'inspections', version: 2 },
      ]),
    );
    expect(await migratePostgres(state)).toEqual(first);
    const tables = await state.pool.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE tablename LIKE 'alert%' OR tablename LIKE 'inspection%' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.tablename)).toEqual([
      'alert_groups',
      'alert_items',
      'alert_model_runs',
      'alert_stats',
      'alert_storms',
      'alert_triage',
      'inspection_missed_runs',
      'inspection_plan_state',
      'inspection_reports',
    ]);
  });
});
