// The alert store's contract, run against SQLite and a real PostgreSQL 15: the same cases, the same
// answers. "Replicas" are separate handles on one database (PostgreSQL: separate pools), so races go
// through the database, never through shared memory.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AlertStore, openAlertStore, type Placement } from '../../../alerts/store.js';
import { SchemaError } from '../../../state/migrations.js';
import { openSqlite } from '../../../state/sqlite.js';
import { alertPayload } from '../../support/alert-payload.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const payload = alertPayload;

/** One replica's store: its own handle on the file, or its own pool on the database. */
async function openStore(place: Place): Promise<AlertStore> {
  const store = track(
    openAlertStore(place.kind === 'postgres' ? pgState(place.where) : undefined, place.where),
  );
  await store.migrated();
  return store;
}

const inSlack = (): Placement => ({ channel: 'C1', platform: 'slack', storm: false });

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('alert store on %s', (kind: BackendKind) => {
  it('stores a delivery once: a repeat changes nothing, a resolution is seen once', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    const first = await s.ingest(payload('g1', [{ fingerprint: 'aa' }, { fingerprint: 'bb' }]), inSlack);
    expect([first.isNew, first.fired.length, first.resolved.length]).toEqual([true, 2, 0]);
    expect(first.group).toMatchObject({ channel: 'C1', platform: 'slack', status: 'firing', episode: 0 });
    const again = await s.ingest(payload('g1', [{ fingerprint: 'aa' }, { fingerprint: 'bb' }]), inSlack);
    expect([again.isNew, again.fired.length, again.resolved.length]).toEqual([false, 0, 0]);
    const resolved = await s.ingest(
      payload('g1', [{ fingerprint: 'aa', status: 'resolved', endsAt: '2026-12-07T02:00:00Z' }]),
      inSlack,
    );
    expect(resolved.resolved.map((a) => a.fingerprint)).toEqual(['aa']);
    expect(
      (await s.ingest(payload('g1', [{ fingerprint: 'aa', status: 'resolved' }]), inSlack)).resolved,
    ).toEqual([]);
    expect(await s.tally('g1')).toEqual({ firing: 1, resolved: 1 });
    expect(await s.totals()).toEqual({ groups: 1, alerts: 2 });
    expect((await s.stats()).deliveries).toBe(4);
    expect((await s.alerts('g1')).map((a) => [a.fingerprint, a.status])).toEqual([
      ['aa', 'resolved'],
      ['bb', 'firing'],
    ]);
    const byId = await s.groupById(first.group.id);
    expect(byId?.groupKey).toBe('g1');
    expect((await s.alertByFingerprint('bb'))?.group.id).toBe(first.group.id);
    expect(await s.firstAlerts('g1', 1)).toEqual(new Set(['aa 2026-12-07T01:00:00Z']));
  });

  it('keeps the stored group firing while any alert fires, and takes the most severe rank', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    await s.ingest(payload('g', [{ fingerprint: 'aa' }]), inSlack);
    await s.ingest(
      payload('g', [{ fingerprint: 'cc', labels: { alertname: 'A', severity: 'critical' } }]),
      inSlack,
    );
    const g = (await s.group('g'))!;
    expect(g.severityRank).toBe(0);
    await s.acknowledge('g', 'alice');
    expect((await s.group('g'))!.ackBy).toBe('alice');
    expect((await s.groups({ status: 'firing' })).map((x) => x.groupKey)).toEqual(['g']);
    expect(await s.groups({ status: 'resolved' })).toEqual([]);
    expect((await s.recentGroups(Date.now() - 60_000, 10)).map((x) => x.groupKey)).toEqual(['g']);
    expect((await s.untriaged()).map((x) => x.groupKey)).toEqual(['g']);
  });

  it('takes triage most severe first, then oldest, and queues again what a stop left running', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    const place = () => ({ storm: false });
    for (const [key, sev] of [
      ['w1', 'warning'],
      ['c1', 'critical'],
      ['i1', 'info'],
      ['c2', 'critical'],
    ] as const) {
      const g = (
        await s.ingest(
          payload(key, [
            { fingerprint: key.charCodeAt(0).toString(16), labels: { alertname: 'A', severity: sev } },
          ]),
          place,
        )
      ).group;
      expect(await s.queue.enqueue(g.groupKey, g.severityRank, 100)).toBe(true);
      await new Promise((r) => setTimeout(r, 2)); // distinct queue times
    }
    expect((await s.queue.next())!.groupKey).toBe('c1');
    expect((await s.queue.next())!.groupKey).toBe('c2');
    expect(await s.queue.counts()).toEqual({ queued: 2, running: 2 });
    // Another replica's live triage (started after the bound) is left alone; a stale one is requeued.
    expect(await s.queue.requeueRunning(Date.now() - 60_000)).toBe(0);
    expect(await s.queue.counts()).toEqual({ queued: 2, running: 2 });
    expect(await s.queue.requeueRunning(Date.now() + 1)).toBe(2);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await s.queue.next())!.groupKey);
    expect(order).toEqual(['c1', 'c2', 'w1', 'i1']);
    expect(await s.queue.next()).toBeUndefined();
    await s.queue.finish('c1', { enrichment: 'facts', diagnosis: 'cause', model: true });
    expect(await s.queue.get('c1')).toMatchObject({
      state: 'done',
      enrichment: 'facts',
      diagnosis: 'cause',
      model: true,
    });
    await s.queue.finish('c2', { enrichment: '', model: false, error: 'boom' });
    expect(await s.queue.get('c2')).toMatchObject({ state: 'failed', error: 'boom' });
    // A full queue refuses more and counts it; the group stays recorded.
    await s.ingest(payload('late', [{ fingerprint: 'ff' }]), place);
    expect(await s.queue.enqueue('late', 2, 0)).toBe(false);
    expect((await s.stats()).triage_queue_full).toBe(1);
  });

  it('keeps the model budget per minute, across reopening', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    const a = await openStore(place);
    expect([
      await a.budget.take(1000, 2),
      await a.budget.take(2000, 2),
      await a.budget.take(3000, 2),
    ]).toEqual([true, true, false]);
    const b = await openStore(place);
    expect(await b.budget.take(4000, 2)).toBe(false);
    expect(await b.budget.take(61_001, 2)).toBe(true);
  });

  it('a group that resolved and fires again is a new episode, triaged again', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    const first = await s.ingest(payload('g2', [{ fingerprint: 'aa' }]), inSlack);
    await s.queue.enqueue('g2', first.group.severityRank, 10);
    await s.queue.finish((await s.queue.next())!.groupKey, { enrichment: 'facts', model: false });
    await s.acknowledge('g2', 'bob');
    await s.ingest(payload('g2', [{ fingerprint: 'aa', status: 'resolved' }]), inSlack);
    expect((await s.group('g2'))!.status).toBe('resolved');
    const back = await s.ingest(
      payload('g2', [{ fingerprint: 'aa', startsAt: '2026-12-08T01:00:00Z' }]),
      inSlack,
    );
    expect([back.refired, back.group.episode, back.fired.length, back.group.ackBy]).toEqual([
      true,
      1,
      1,
      undefined,
    ]);
    expect((await s.queue.get('g2'))!.state).toBe('queued');
    // Still firing: no new episode.
    expect((await s.ingest(payload('g2', [{ fingerprint: 'bb' }]), inSlack)).refired).toBe(false);
  });

  it('keeps one storm episode per channel of each platform until it has been quiet', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    const e1 = await s.stormEpisode('slack', 'C1', 1000, 600_000);
    expect(e1.began).toBe(true);
    expect(await s.stormEpisode('slack', 'C1', 5000, 600_000)).toEqual({ ...e1, began: false });
    expect((await s.stormEpisode('slack', 'C2', 5000, 600_000)).key).not.toBe(e1.key);
    const feishu = await s.stormEpisode('feishu', 'C1', 2000, 600_000);
    expect(feishu.key).not.toBe(e1.key);
    expect(await s.currentStorm('slack', 'C1')).toEqual({ key: e1.key, since: 1000 });
    expect(await s.currentStorm('dingtalk', 'C1')).toBeUndefined();
    const later = await s.stormEpisode('slack', 'C1', 5000 + 600_001, 600_000);
    expect([later.began, later.key === e1.key, later.since]).toEqual([true, false, 605_001]);
    // Groups are counted (and listed) on their own platform only.
    const storm = (platform: string) => () => ({ channel: 'C1', platform, storm: true });
    await s.ingest(payload('gs', [{ fingerprint: 'a1' }]), storm('slack'));
    await s.ingest(payload('gf', [{ fingerprint: 'a2' }]), storm('feishu'));
    await s.ingest(payload('gf2', [{ fingerprint: 'a3' }]), storm('feishu'));
    expect(await s.newGroupsIn('slack', 'C1', 0)).toBe(1);
    expect(await s.newGroupsIn('feishu', 'C1', 0)).toBe(2);
    expect(await s.stormTotals('feishu', 'C1', 0)).toEqual({ groups: 2, firing: 2, triaged: 0 });
    expect(await s.stormTally('slack', 'C1', 0)).toEqual([
      { alertname: 'A', namespace: 'ns', groups: 1, firing: 1, triaged: 0 },
    ]);
    expect(await s.stormTally('feishu', 'C1', 0)).toMatchObject([{ groups: 2, firing: 2 }]);
  });

  it('the placement sees the groups already placed, inside the delivery', async () => {
    const s = await openStore(await freshPlace(kind, 'alerts.db'));
    const seen: number[] = [];
    for (const key of ['p1', 'p2', 'p3']) {
      await s.ingest(payload(key, [{ fingerprint: 'aa' }]), async (_labels, _rank, count) => {
        const n = await count('slack', 'C1', 0);
        seen.push(n);
        return { channel: 'C1', platform: 'slack', storm: n >= 2 };
      });
    }
    expect(seen).toEqual([0, 1, 2]);
    expect((await s.group('p3'))!.storm).toBe(true);
    expect((await s.group('p2'))!.storm).toBe(false);
  });

  it('the same new group delivered to two replicas at once is made once, and placed once', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    const [a, b] = [await openStore(place), await openStore(place)];
    for (let round = 0; round < 10; round++) {
      let placed = 0;
      const counted = () => {
        placed++;
        return inSlack();
      };
      const deliveries = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          (i % 2 ? a : b).ingest(
            payload(`race-${round}`, [{ fingerprint: 'aa' }, { fingerprint: 'bb' }]),
            counted,
          ),
        ),
      );
      expect(deliveries.filter((d) => d.isNew)).toHaveLength(1);
      expect(deliveries.flatMap((d) => d.fired)).toHaveLength(2);
      expect(new Set(deliveries.map((d) => d.group.id)).size).toBe(1);
      expect(placed).toBeGreaterThanOrEqual(1);
    }
    expect((await a.totals()).groups).toBe(10);
  });

  it('a storm begun on two replicas at once is begun once', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    const [a, b] = [await openStore(place), await openStore(place)];
    for (let round = 0; round < 10; round++) {
      const now = 1_000_000 * (round + 1);
      const episodes = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b).stormEpisode('slack', `S${round}`, now + i, 600_000),
        ),
      );
      expect(episodes.filter((e) => e.began)).toHaveLength(1);
      expect(new Set(episodes.map((e) => e.key)).size).toBe(1);
    }
  });

  it('refuses a database whose alerts schema is newer than this code knows', async () => {
    const place = await freshPlace(kind, 'alerts.db');
    await (await openStore(place)).count('x');
    await closeAll();
    await place.setVersion('alerts', 99);
    const err = await openStore(place).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as Error).message).toContain(
      'alerts schema in this database is at version 99, newer than this Kubemate knows (2)',
    );
  });
});

describe('alert store files written before versions were kept', () => {
  it('keep their rows: storms keyed by channel alone become Slack storms, tables get their own names', async () => {
    const place = await freshPlace('sqlite', 'alerts.db');
    const old = openSqlite(place.where);
    old.exec(`
      CREATE TABLE storms (channel TEXT PRIMARY KEY, key TEXT NOT NULL, started_at INTEGER NOT NULL, last_at INTEGER NOT NULL);
      CREATE TABLE groups (group_key TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, labels_json TEXT NOT NULL,
        status TEXT NOT NULL, severity_rank INTEGER NOT NULL, channel TEXT, platform TEXT,
        storm INTEGER NOT NULL DEFAULT 0, first_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        ack_by TEXT, ack_at INTEGER);
      CREATE TABLE stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
    old.prepare('INSERT INTO storms VALUES (?, ?, ?, ?)').run('C0OPS', 'st_kept', 100, Date.now());
    old
      .prepare(
        'INSERT INTO groups (group_key, id, labels_json, status, severity_rank, channel, platform, first_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run('old-group', 'ag_0123456789ab', '{"alertname":"Old"}', 'firing', 1, 'C0OPS', 'slack', 5, 6);
    old.prepare('INSERT INTO stats VALUES (?, ?)').run('deliveries', 41);
    old.close();
    const s = await openStore(place);
    expect(await s.currentStorm('slack', 'C0OPS')).toEqual({ key: 'st_kept', since: 100 });
    expect((await s.stormEpisode('slack', 'C0OPS', Date.now(), 600_000)).key).toBe('st_kept');
    expect((await s.stormEpisode('feishu', 'C0OPS', Date.now(), 600_000)).key).not.toBe('st_kept');
    expect(await s.groupById('ag_0123456789ab')).toMatchObject({
      groupKey: 'old-group',
      episode: 0,
      firstAt: 5,
    });
    await s.ingest(payload('old-group', [{ fingerprint: 'aa' }]), inSlack);
    expect((await s.stats()).deliveries).toBe(42);
    await closeAll();
    // Opening it again leaves it as it is.
    const again = await openStore(place);
    expect((await again.currentStorm('slack', 'C0OPS'))?.key).toBe('st_kept');
    const db = track(openSqlite(place.where));
    expect(db.prepare("SELECT version FROM kubemate_schema WHERE store = 'alerts'").get()).toEqual({
      version: 2,
    });
  });
});
