// Leases and chat event dedupe on SQLite and a real PostgreSQL 15: one holder at a time, taken over
// after expiry or release; an event delivered to two replicas is handled once.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sqliteChatStore } from '../../../bots/core/store.js';
import { type EventDedupe, PgEventDedupe } from '../../../state/dedupe.js';
import { Leader, type LeaseBackend, PgLeases, SqliteLeases } from '../../../state/lease.js';
import { openSqlite } from '../../../state/sqlite.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

async function leases(place: Place): Promise<LeaseBackend> {
  if (place.kind === 'sqlite') return new SqliteLeases(track(openSqlite(place.where)));
  return PgLeases.open(pgState(place.where));
}

async function dedupe(place: Place): Promise<EventDedupe> {
  if (place.kind === 'sqlite') return track(sqliteChatStore(place.where));
  return PgEventDedupe.open(pgState(place.where));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('leases on %s', (kind: BackendKind) => {
  it('has one holder at a time; another takes it after expiry, with a new token', async () => {
    const place = await freshPlace(kind);
    const [a, b] = [await leases(place), await leases(place)];
    expect(await a.acquire('outbox', 'replica-a', 400)).toEqual({
      held: true,
      token: 1,
      holder: 'replica-a',
    });
    expect(await b.acquire('outbox', 'replica-b', 400)).toEqual({
      held: false,
      token: 1,
      holder: 'replica-a',
    });
    expect(await a.acquire('outbox', 'replica-a', 400)).toEqual({
      held: true,
      token: 1,
      holder: 'replica-a',
    });
    // Another lease is independent.
    expect((await b.acquire('schedules', 'replica-b', 400)).held).toBe(true);
    await sleep(500);
    expect(await b.acquire('outbox', 'replica-b', 400)).toEqual({
      held: true,
      token: 2,
      holder: 'replica-b',
    });
    expect((await a.acquire('outbox', 'replica-a', 400)).held).toBe(false);
    await b.release('outbox', 'replica-b');
    expect(await a.acquire('outbox', 'replica-a', 400)).toEqual({
      held: true,
      token: 3,
      holder: 'replica-a',
    });
  });

  it('two leaders racing for one lease never both hold it; a clean stop hands it over', async () => {
    const place = await freshPlace(kind);
    const leaders = [
      new Leader(await leases(place), { name: 'triage', holder: 'a', ttlMs: 600, renewMs: 50 }),
      new Leader(await leases(place), { name: 'triage', holder: 'b', ttlMs: 600, renewMs: 50 }),
    ];
    for (const l of leaders) l.start();
    let both = 0;
    let some = 0;
    for (let i = 0; i < 30; i++) {
      await sleep(20);
      const held = leaders.filter((l) => l.holds()).length;
      if (held > 1) both++;
      if (held === 1) some++;
    }
    expect(both).toBe(0);
    expect(some).toBeGreaterThan(20);
    const holder = leaders.find((l) => l.holds())!;
    const other = leaders.find((l) => l !== holder)!;
    await holder.stop();
    await sleep(200); // a few renew periods, far less than the lease time
    expect(other.holds()).toBe(true);
    expect(other.token).toBe(holder.token + 1);
    await other.stop();
  });
});

describe.each(BACKENDS)('chat event dedupe on %s', (kind: BackendKind) => {
  it('an event delivered to two replicas at once is handled once', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const [a, b] = [await dedupe(place), await dedupe(place)];
    const ids = Array.from({ length: 20 }, (_, i) => `Ev${kind}${i}`);
    const firsts = await Promise.all(
      ids.flatMap((id) => [a.firstSight(id), b.firstSight(id), a.firstSight(id)]),
    );
    expect(firsts.filter(Boolean)).toHaveLength(20);
    for (let i = 0; i < ids.length; i++)
      expect(firsts.slice(i * 3, i * 3 + 3).filter(Boolean)).toHaveLength(1);
    expect(await b.firstSight('EvNew')).toBe(true);
    expect(await a.firstSight('EvNew')).toBe(false);
  });
});
