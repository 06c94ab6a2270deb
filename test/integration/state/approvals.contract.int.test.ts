// The approvals store's contract, run against SQLite (ApprovalStore) and a real PostgreSQL 15
// (PgApprovalStore): the same cases, the same answers. "Replicas" are separate handles on one
// database, so races go through the database, never through shared memory.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ApprovalError, ApprovalStore, type Approvals } from '../../../policies/approvals.js';
import { PgApprovalStore } from '../../../policies/approvals-pg.js';
import { SchemaError } from '../../../state/migrations.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import { BACKENDS, type BackendKind, closeAll, freshPlace, type Place, pgState, track } from './backends.js';

const TTL = 15 * 60_000;

async function openStore(
  place: Place,
  opts: { now?: () => number; executingLimitMs?: number } = {},
): Promise<Approvals> {
  const now = opts.now ?? Date.now;
  if (place.kind === 'sqlite') return track(new ApprovalStore(place.where, TTL, now, opts.executingLimitMs));
  return PgApprovalStore.open(pgState(place.where), TTL, now, opts.executingLimitMs);
}

const request = (store: Approvals, extra: { count?: number; args?: Record<string, unknown> } = {}) =>
  store.request({
    tool: 'deployment_scale',
    args: extra.args ?? { namespace: 'payments', name: 'api', replicas: 3 },
    requester: { id: 'slack:UALICE', groups: ['sre'], source: 'chat' },
    requesterPerson: 'alice',
    rule: 'approvals[0]',
    required: { count: extra.count ?? 1 },
    plan: 'scale payments/api to 3 replicas',
  });

/** The ApprovalError code a call ends with, or 'ok' (the SQLite store throws synchronously). */
const code = async (call: () => unknown): Promise<string> => {
  try {
    await call();
  } catch (e) {
    if (e instanceof ApprovalError || e instanceof SchemaError)
      return e instanceof ApprovalError ? e.code : 'schema';
    throw e;
  }
  return 'ok';
};

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('approvals store on %s', (kind: BackendKind) => {
  it('a request makes one pending ticket; the same request again returns it', async () => {
    const store = await openStore(await freshPlace(kind, 'approvals.db'));
    const t = await request(store);
    expect(t).toMatchObject({
      status: 'pending',
      requesterPerson: 'alice',
      approvals: [],
      required: { count: 1 },
    });
    expect(t.id).toMatch(/^apr_[0-9a-f]{12}$/);
    expect((await request(store)).id).toBe(t.id);
    expect((await request(store, { args: { namespace: 'payments', name: 'api', replicas: 4 } })).id).not.toBe(
      t.id,
    );
    expect((await store.list({ status: 'pending' })).map((x) => x.id).sort()).toHaveLength(2);
    expect(await code(() => store.get('apr_000000000000'))).toBe('not_found');
  });

  it('needs a quorum of distinct approvers other than the requester', async () => {
    const store = await openStore(await freshPlace(kind, 'approvals.db'));
    const t = await request(store, { count: 2 });
    expect(await code(() => store.approve(t.id, { person: 'alice', principalId: 'slack:UALICE' }))).toBe(
      'forbidden',
    );
    const one = await store.approve(t.id, { person: 'bob', principalId: 'slack:UBOB' });
    expect(one.status).toBe('pending');
    expect(await code(() => store.approve(t.id, { person: 'bob', principalId: 'slack:UBOB2' }))).toBe(
      'duplicate',
    );
    const two = await store.approve(t.id, { person: 'carol', principalId: 'slack:UCAROL' });
    expect(two).toMatchObject({ status: 'approved', decidedBy: 'carol' });
    expect(two.approvals.map((a) => a.person).sort()).toEqual(['bob', 'carol']);
    expect(await code(() => store.approve(t.id, { person: 'dave', principalId: 'slack:UDAVE' }))).toBe(
      'not_pending',
    );
  });

  it('an approved ticket is claimed once, only with its own hash, then completes', async () => {
    const store = await openStore(await freshPlace(kind, 'approvals.db'));
    const t = await request(store);
    expect(await store.claim(t.id, t.argsHash)).toBe(false); // not approved yet
    await store.approve(t.id, { person: 'bob', principalId: 'slack:UBOB' });
    expect(await store.claim(t.id, 'f'.repeat(64))).toBe(false);
    expect(await store.claim(t.id, t.argsHash)).toBe(true);
    expect(await store.claim(t.id, t.argsHash)).toBe(false);
    expect((await store.get(t.id)).status).toBe('executing');
    const done = await store.complete(t.id, { status: 'success', text: 'scaled' });
    expect(done).toMatchObject({ status: 'executed', outcome: { status: 'success', text: 'scaled' } });
    const failed = await request(store, { args: { replicas: 9 } });
    await store.approve(failed.id, { person: 'bob', principalId: 'slack:UBOB' });
    await store.claim(failed.id, failed.argsHash);
    expect((await store.complete(failed.id, { status: 'error', text: 'forbidden' })).status).toBe('failed');
  });

  it('a ticket decided at the same moment on two replicas is approved once and claimed once', async () => {
    const place = await freshPlace(kind, 'approvals.db');
    const [a, b] = [await openStore(place), await openStore(place)];
    for (let round = 0; round < 10; round++) {
      const t = await request(a, { count: 1, args: { round } });
      const approvals = await Promise.all([
        code(() => a.approve(t.id, { person: 'bob', principalId: 'slack:UBOB' })),
        code(() => b.approve(t.id, { person: 'carol', principalId: 'slack:UCAROL' })),
        code(() => b.approve(t.id, { person: 'erin', principalId: 'slack:UERIN' })),
      ]);
      expect(approvals.filter((c) => c === 'ok')).toHaveLength(1);
      expect(approvals.filter((c) => c === 'not_pending')).toHaveLength(2);
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claim(t.id, t.argsHash)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await a.get(t.id)).approvals).toHaveLength(1);
    }
  });

  it('expires pending tickets, and fails tickets executing past any run', async () => {
    let clock = Date.parse('2026-12-07T08:00:00.000Z');
    const store = await openStore(await freshPlace(kind, 'approvals.db'), {
      now: () => clock,
      executingLimitMs: 60_000,
    });
    const stale = await request(store);
    clock += TTL + 1;
    expect((await store.get(stale.id)).status).toBe('expired');
    expect(await code(() => store.approve(stale.id, { person: 'bob', principalId: 'slack:UBOB' }))).toBe(
      'expired',
    );
    const lost = await request(store);
    await store.approve(lost.id, { person: 'bob', principalId: 'slack:UBOB' });
    expect(await store.claim(lost.id, lost.argsHash)).toBe(true);
    clock += 61_000;
    const t = await store.get(lost.id);
    expect(t.status).toBe('failed');
    expect(t.outcome?.text).toContain('claimed at 2026-12-07T08:15:00.001Z');
    expect(t.outcome?.text).toContain('whether the call took effect is unknown');
  });

  it('rejects pending or approved tickets only', async () => {
    const store = await openStore(await freshPlace(kind, 'approvals.db'));
    const t = await request(store);
    const r = await store.reject(t.id, 'bob', 'not during the freeze');
    expect(r).toMatchObject({ status: 'rejected', decidedBy: 'bob', note: 'not during the freeze' });
    expect(await code(() => store.reject(t.id, 'bob'))).toBe('not_pending');
  });

  it('refuses a database whose approvals schema is newer than this code knows', async () => {
    const place = await freshPlace(kind, 'approvals.db');
    await request(await openStore(place));
    await closeAll();
    await place.setVersion('approvals', 99);
    const err = await openStore(place).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as Error).message).toContain(
      'approvals schema in this database is at version 99, newer than this Kubemate knows (2)',
    );
  });
});

describe('approvals store on postgres, expiry under the lock', () => {
  it('approve and claim refuse a ticket whose time ran out after the sweep before their transaction', async () => {
    const T0 = Date.parse('2026-12-07T10:00:00Z');
    const expiry = T0 + TTL;
    // The sweep that runs before each transaction reads the clock twice; then the locked step reads it.
    let script: number[] = [];
    let base = T0;
    const now = () => script.shift() ?? base;
    const store = await openStore(await freshPlace('postgres'), { now });
    const sweptJustBefore = () => {
      script = [expiry - 1, expiry - 1];
      base = expiry + 1;
    };

    const first = await request(store);
    sweptJustBefore();
    expect(await code(() => store.approve(first.id, { person: 'bob', principalId: 'slack:UBOB' }))).toBe(
      'expired',
    );

    base = T0;
    const second = await request(store, { args: { namespace: 'payments', name: 'api', replicas: 5 } });
    const approved = await store.approve(second.id, { person: 'bob', principalId: 'slack:UBOB' });
    expect(approved.status).toBe('approved');
    sweptJustBefore();
    expect(await store.claim(second.id, approved.argsHash)).toBe(false);
    base = expiry + 1;
    expect((await store.get(second.id)).status).toBe('expired');
    expect((await store.get(first.id)).status).toBe('expired');
  });
});
