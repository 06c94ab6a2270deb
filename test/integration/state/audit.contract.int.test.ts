// The audit log's contract on SQLite (AuditLog) and a real PostgreSQL 15 (PgAuditLog): one hash
// chain that verifies, whatever number of writers append at once, and that catches an edit.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../policies/audit-log.js';
import { PgAuditLog } from '../../../policies/audit-log-pg.js';
import type { AuditRecord } from '../../../policies/types.js';
import { SchemaError } from '../../../state/migrations.js';
import { LOCKS, PgState } from '../../../state/postgres.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const KEY = Buffer.from('k'.repeat(48));

interface Log {
  record(r: AuditRecord): number | Promise<number>;
  head(): unknown;
  verify(o?: { anchors?: Array<{ seq: number; hash: string }> }): unknown;
  tail(n?: number): unknown;
}

async function openLog(place: Place): Promise<Log> {
  if (place.kind === 'sqlite') return track(new AuditLog(place.where, { hmacKey: KEY }));
  return PgAuditLog.open(pgState(place.where), { hmacKey: KEY });
}

const rec = (i: number, writer: string): AuditRecord => ({
  at: new Date().toISOString(),
  kind: i % 2 ? 'result' : 'decision',
  principal: { id: `token:${writer}`, groups: ['sre'], source: 'mcp-http' },
  tool: 'pods_list',
  args: { namespace: `ns-${i}` },
  ...(i % 2 ? { outcome: 'success' } : { decision: { effect: 'allow' as const, rule: 'r' } }),
});

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('audit log on %s', (kind: BackendKind) => {
  it('chains records in order and verifies them, MACs included', async () => {
    const log = await openLog(await freshPlace(kind, 'audit.db'));
    expect(await log.head()).toBeUndefined();
    const seqs = [];
    for (let i = 0; i < 5; i++) seqs.push(await log.record(rec(i, 'one')));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    const head = (await log.head()) as { seq: number; hash: string; mac: string };
    expect(head.seq).toBe(5);
    expect(head.mac).toMatch(/^[0-9a-f]{12}:[0-9a-f]{64}$/);
    const tail = (await log.tail(2)) as Array<{ seq: number; args: unknown; prevHash: string; hash: string }>;
    expect(tail.map((e) => e.seq)).toEqual([4, 5]);
    expect(tail[1]!.prevHash).toBe(tail[0]!.hash);
    expect(tail[1]!.args).toEqual({ namespace: 'ns-4' });
    const report = (await log.verify({ anchors: [head] })) as {
      ok: boolean;
      count: number;
      mac: { checked: number };
    };
    expect(report).toMatchObject({ ok: true, count: 5, problems: [], mac: { checked: 5 } });
  });

  it('keeps one valid chain when several writers on two replicas append at once', async () => {
    const place = await freshPlace(kind, 'audit.db');
    const [a, b] = [await openLog(place), await openLog(place)];
    const writes: Array<number | Promise<number>> = [];
    for (let i = 0; i < 400; i++) writes.push((i % 2 ? a : b).record(rec(i, i % 2 ? 'a' : 'b')));
    const seqs = await Promise.all(writes);
    expect(new Set(seqs).size).toBe(400);
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(await a.verify()).toMatchObject({ ok: true, count: 400, problems: [] });
  });

  it('refuses a database whose audit schema is newer than this code knows', async () => {
    const place = await freshPlace(kind, 'audit.db');
    await (await openLog(place)).record(rec(0, 'one'));
    await closeAll();
    await place.setVersion('audit', 3);
    await expect(openLog(place)).rejects.toThrow(SchemaError);
  });
});

describe('audit log on postgres, in the database itself', () => {
  it('refuses updates and deletes, and verify finds an edit made behind its back', async () => {
    const place = await freshPlace('postgres');
    const state = pgState(place.where);
    const log = await PgAuditLog.open(state, { hmacKey: KEY });
    for (let i = 0; i < 3; i++) await log.record(rec(i, 'one'));
    await expect(state.pool.query("UPDATE audit SET tool = 'x' WHERE seq = 2")).rejects.toThrow(
      'the audit log is append-only: rows cannot be updated',
    );
    await expect(state.pool.query('DELETE FROM audit')).rejects.toThrow('rows cannot be deleted');
    // Someone with the database's owner rights turns the guard off and edits a record.
    await state.pool.query('ALTER TABLE audit DISABLE TRIGGER audit_no_change');
    await state.pool.query(`UPDATE audit SET record = replace(record, 'ns-1', 'ns-9') WHERE seq = 2`);
    const report = (await log.verify()) as { ok: boolean; problems: Array<{ seq: number }> };
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.seq)).toContain(2);
  });
});

describe('audit group commit on postgres', () => {
  it('a record the database refuses fails alone: the others in its group commit and the chain verifies', async () => {
    const place = await freshPlace('postgres');
    const state = pgState(place.where);
    const log = await PgAuditLog.open(state, { hmacKey: KEY });
    // The database refuses one record (a trigger stands in for any row it will not take).
    await state.pool.query(`
      CREATE FUNCTION refuse_one() RETURNS trigger AS $$
      BEGIN
        IF NEW.tool = 'pods_refused' THEN RAISE EXCEPTION 'row refused by the database'; END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER refuse_one BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION refuse_one();`);
    // Queued in one turn, so they go in one group.
    const bad: AuditRecord = { ...rec(1, 'bad'), tool: 'pods_refused' };
    const settled = await Promise.allSettled([
      log.record(rec(0, 'a')),
      log.record(bad),
      log.record(rec(2, 'b')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/row refused by the database/);
    const seqs = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    expect(seqs.sort()).toEqual([1, 2]);
    const report = (await log.verify()) as { ok: boolean; count: number };
    expect(report).toMatchObject({ ok: true, count: 2 });
  });
});

describe.each(BACKENDS)('a call naming a tool with a NUL byte on %s', (kind: BackendKind) => {
  it('still leaves its record (the column says U+FFFD, the record the exact text) and the chain verifies', async () => {
    const log = await openLog(await freshPlace(kind, 'audit.db'));
    const odd: AuditRecord = {
      ...rec(0, 'prober'),
      tool: 'pods\u0000list',
      principal: { id: 'token:pro\u0000ber', groups: [], source: 'mcp-http' },
    };
    expect(await log.record(odd)).toBe(1);
    expect(await log.record(rec(1, 'next'))).toBe(2);
    expect(await log.verify()).toMatchObject({ ok: true, count: 2 });
  });
});

describe('a replica that dies holding the audit lock on postgres', () => {
  it('does not stall the others: the server ends its idle transaction and their appends go on', async () => {
    const place = await freshPlace('postgres');
    const survivor = new PgState(place.where, { idleInTransactionMs: 800 });
    track({ close: () => survivor.close() });
    const log = await PgAuditLog.open(survivor, { hmacKey: KEY });
    expect(
      (
        await survivor.pool.query<{ v: string }>(
          "SELECT current_setting('idle_in_transaction_session_timeout') AS v",
        )
      ).rows[0]!.v,
    ).toBe('800ms');
    expect(
      (await survivor.pool.query<{ v: string }>("SELECT current_setting('lock_timeout') AS v")).rows[0]!.v,
    ).toBe('30s');
    // Settings given in the URL are kept beside these.
    const withOptions = new PgState(
      `${place.where}?options=${encodeURIComponent('-c statement_timeout=12345')}`,
    );
    track({ close: () => withOptions.close() });
    const both = await withOptions.pool.query<{ s: string; l: string }>(
      "SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l",
    );
    expect(both.rows[0]).toEqual({ s: '12345ms', l: '30s' });
    // Another replica took the chain's lock inside a transaction, then went silent (its node died).
    const dead = new PgState(place.where, { idleInTransactionMs: 800 });
    track({ close: () => dead.close().catch(() => undefined) });
    const held = await dead.pool.connect();
    held.on('error', () => undefined); // the server ends this session: that is the point
    await held.query('BEGIN');
    await held.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.audit]);
    const t0 = performance.now();
    expect(await log.record(rec(0, 'survivor'))).toBe(1);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThan(500); // it did wait for the lock
    expect(waited).toBeLessThan(10_000); // and was not stalled for long
    held.release(true);
  });
});
