// Work driven by a timer that must run on one replica at a time — scheduled inspections and canary
// plan steps — starts only on the replica holding the scheduler lease (state/lease.ts): in PostgreSQL
// when replicas share it, in the data folder's SQLite file on one machine (the same code path). The
// chat outbox is not under it: each replica's outbox sends what that replica queued.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Leader } from '../state/lease.js';
import type { App } from './wiring.js';

export const SCHEDULER_LEASE = 'scheduler';

/** This replica's name in the lease table: the pod (or host) name, the process and a random suffix. */
export function replicaId(): string {
  const host = process.env.POD_NAME || hostname();
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The scheduler lease for this replica, renewed every third of `state.leaseSeconds`. Its holding
 * shows as `kubemate_lease_held{lease="scheduler"}` on /metrics; gaining and losing it are logged.
 */
export function schedulerLeader(app: App, holder = replicaId()): Leader {
  const log = app.logger.child({ component: 'lease', lease: SCHEDULER_LEASE, holder });
  let held = false;
  let lastError = '';
  return new Leader(app.leases, {
    name: SCHEDULER_LEASE,
    holder,
    ttlMs: app.config.state.leaseSeconds * 1000,
    observer: {
      operation: app.metrics.state.operation,
      lease(name, now) {
        app.metrics.state.lease(name, now);
        if (now !== held)
          log.info(now ? 'scheduler lease held: scheduled work runs here' : 'scheduler lease not held');
        held = now;
      },
    },
    onError(err) {
      const message = (err as Error)?.message ?? String(err);
      if (message !== lastError) log.warn({ error: message }, 'cannot renew the scheduler lease');
      lastError = message;
    },
  });
}

/**
 * Whether scheduled work may start now: the lease is held, with at least one renewal interval of it
 * left, so work is never started on a grant about to run out.
 */
export function mayStartUnder(leader: Leader): () => boolean {
  return () => leader.holds(leader.renewMs);
}
