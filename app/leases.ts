// Work that must run on one replica at a time starts only on the replica holding its lease
// (state/lease.ts): in PostgreSQL when replicas share it, in the data folder's SQLite file on one
// machine (the same code path). Scheduled inspections and canary plan steps are under the scheduler
// lease; the WeCom intelligent robot's one connection under its own. The chat outbox is not under a
// lease: every replica sends, claiming one channel at a time in the shared store.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Leader } from '../state/lease.js';
import type { App } from './wiring.js';

export const SCHEDULER_LEASE = 'scheduler';
/** The WeCom intelligent robot's long connection (WeCom allows one per robot). */
export const WECOM_ROBOT_LEASE = 'wecom-robot';

/** This replica's name in the lease table: the pod (or host) name, the process and a random suffix. */
export function replicaId(): string {
  const host = process.env.POD_NAME || hostname();
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * A lease for this replica, renewed every third of `state.leaseSeconds`. Its holding shows as
 * `kubemate_lease_held{lease="<name>"}` on /metrics; gaining and losing it are logged, and told to
 * `onChange` (after each renewal attempt that changed it).
 */
export function leaderFor(
  app: App,
  name: string,
  what: string,
  holder = replicaId(),
  onChange?: (held: boolean) => void,
): Leader {
  const log = app.logger.child({ component: 'lease', lease: name, holder });
  let held = false;
  let lastError = '';
  return new Leader(app.leases, {
    name,
    holder,
    ttlMs: app.config.state.leaseSeconds * 1000,
    observer: {
      operation: app.metrics.state.operation,
      lease(leaseName, now) {
        app.metrics.state.lease(leaseName, now);
        if (now === held) return;
        log.info(now ? `${name} lease held: ${what} here` : `${name} lease not held`);
        held = now;
        onChange?.(now);
      },
    },
    onError(err) {
      const message = (err as Error)?.message ?? String(err);
      if (message !== lastError) log.warn({ error: message }, `cannot renew the ${name} lease`);
      lastError = message;
    },
  });
}

/** The scheduler lease: scheduled inspections and canary plan steps start only where it is held. */
export function schedulerLeader(app: App, holder = replicaId()): Leader {
  return leaderFor(app, SCHEDULER_LEASE, 'scheduled work runs', holder);
}

/**
 * Runs a service only while this replica holds a lease: started when the lease is gained, stopped
 * when it is lost (or cannot be renewed), so at most one replica runs it and another takes over within
 * the lease time when its holder dies. Starts and stops never overlap. A start that fails is logged
 * and handed to `onStartFailed` (serve stops: a wrong credential would fail on every replica).
 */
export function whileHolding(
  app: App,
  name: string,
  what: string,
  service: { start(): Promise<void>; stop(): Promise<void> },
  onStartFailed: (e: Error) => void,
): { leader: Leader; stop(): Promise<void> } {
  const log = app.logger.child({ component: 'lease', lease: name });
  let chain: Promise<void> = Promise.resolve();
  let running = false;
  const apply = (held: boolean) => {
    chain = chain.then(async () => {
      if (held === running) return;
      try {
        if (held) await service.start();
        else await service.stop();
        running = held;
      } catch (e) {
        log.error({ error: (e as Error).message }, held ? `cannot start ${what}` : `cannot stop ${what}`);
        if (held) onStartFailed(e as Error);
        else running = false;
      }
    });
  };
  const leader = leaderFor(app, name, what, replicaId(), apply);
  leader.start();
  return {
    leader,
    async stop() {
      await leader.stop(); // tells onChange(false) when it was held
      apply(false);
      await chain;
    },
  };
}

/**
 * Whether scheduled work may start now: the lease is held, with at least one renewal interval of it
 * left, so work is never started on a grant about to run out.
 */
export function mayStartUnder(leader: Leader): () => boolean {
  return () => leader.holds(leader.renewMs);
}
