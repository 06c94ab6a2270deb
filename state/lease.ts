// A lease: at most one holder at a time for a named piece of work (scheduled inspections, outbox
// sending, alert triage), with an expiry, so that when its holder dies another replica takes it over
// once the lease runs out. Kept in the database every replica shares (PostgreSQL), or in the data
// folder's SQLite file for one machine. The database's clock decides expiry on PostgreSQL, so
// replicas with skewed clocks still agree.
import type Database from 'better-sqlite3';
import { type Migration, migrateSqlite } from './migrations.js';
import { NO_OBSERVER, observed, type StateObserver } from './observe.js';
import type { PgState } from './postgres.js';

export const LEASE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'leases',
    sqlite: `CREATE TABLE IF NOT EXISTS leases (
      name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, token INTEGER NOT NULL)`,
    postgres: `CREATE TABLE leases (
      name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL, token BIGINT NOT NULL)`,
  },
];

/** What a holder knows after asking for (or renewing) the lease. */
export interface LeaseGrant {
  held: boolean;
  /** Rises each time the lease changes hands: work stamped with it can be told apart by holder. */
  token: number;
  holder: string;
}

export interface LeaseBackend {
  /** Takes the lease when free or expired, renews it when `holder` has it; else reports who does. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant>;
  /** Gives the lease up at once (a clean stop), so another replica need not wait for the expiry. */
  release(name: string, holder: string): Promise<void>;
}

const UPSERT_PG = `
INSERT INTO leases (name, holder, expires_at, token) VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1)
ON CONFLICT (name) DO UPDATE SET
  holder = excluded.holder,
  expires_at = excluded.expires_at,
  token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END
WHERE leases.holder = excluded.holder OR leases.expires_at <= now()
RETURNING token`;

export class PgLeases implements LeaseBackend {
  private constructor(private readonly state: PgState) {}

  static async open(state: PgState): Promise<PgLeases> {
    await state.migrate('lease', LEASE_MIGRATIONS);
    return new PgLeases(state);
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant> {
    const res = await this.state.query<{ token: string }>('lease', 'acquire', UPSERT_PG, [
      name,
      holder,
      ttlMs,
    ]);
    if (res.rows[0]) return { held: true, token: Number(res.rows[0].token), holder };
    const now = await this.state.query<{ holder: string; token: string }>(
      'lease',
      'read',
      'SELECT holder, token FROM leases WHERE name = $1',
      [name],
    );
    return { held: false, token: Number(now.rows[0]?.token ?? 0), holder: now.rows[0]?.holder ?? '' };
  }

  async release(name: string, holder: string): Promise<void> {
    await this.state.query(
      'lease',
      'release',
      'UPDATE leases SET expires_at = now() WHERE name = $1 AND holder = $2',
      [name, holder],
    );
  }
}

export class SqliteLeases implements LeaseBackend {
  constructor(
    private readonly db: Database.Database,
    private readonly observer: StateObserver = NO_OBSERVER,
    private readonly now: () => number = Date.now,
  ) {
    migrateSqlite(db, 'lease', LEASE_MIGRATIONS);
  }

  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant> {
    return observed(this.observer, 'lease', 'acquire', async () =>
      this.db
        .transaction((): LeaseGrant => {
          const now = this.now();
          const row = this.db
            .prepare('SELECT holder, expires_at, token FROM leases WHERE name = ?')
            .get(name) as { holder: string; expires_at: number; token: number } | undefined;
          if (row && row.holder !== holder && row.expires_at > now) {
            return { held: false, token: row.token, holder: row.holder };
          }
          const token = !row ? 1 : row.holder === holder ? row.token : row.token + 1;
          this.db
            .prepare(
              `INSERT INTO leases (name, holder, expires_at, token) VALUES (?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, token = excluded.token`,
            )
            .run(name, holder, now + ttlMs, token);
          return { held: true, token, holder };
        })
        .immediate(),
    );
  }

  async release(name: string, holder: string): Promise<void> {
    await observed(this.observer, 'lease', 'release', async () => {
      this.db
        .prepare('UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?')
        .run(this.now(), name, holder);
    });
  }
}

export interface LeaderOptions {
  name: string;
  /** This replica (pod name and a random suffix). */
  holder: string;
  /** How long a grant lasts without renewal; a dead holder's work moves after at most this. */
  ttlMs: number;
  /** How often to renew or try to take the lease (default a third of ttlMs). */
  renewMs?: number;
  observer?: StateObserver;
  onError?: (err: unknown) => void;
}

/**
 * Keeps trying to hold one lease, renewing it while held. `holds(marginMs)` answers whether this
 * replica may start a piece of work now: it holds the lease and the grant, counted from before the
 * request that got it, still has `marginMs` to run. Work that checks it just before starting never
 * runs on two replicas at once, even if a renewal is late.
 */
export class Leader {
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** The renewal under way, awaited by `stop()` so that it cannot take the lease back after the release. */
  private ticking: Promise<boolean> | undefined;
  token = 0;

  constructor(
    private readonly backend: LeaseBackend,
    private readonly options: LeaderOptions,
  ) {}

  get renewMs(): number {
    return this.options.renewMs ?? Math.max(50, Math.floor(this.options.ttlMs / 3));
  }

  holds(marginMs = 0): boolean {
    return performance.now() + marginMs < this.validUntil;
  }

  /** One attempt to take or renew the lease. */
  async tick(): Promise<boolean> {
    const asked = performance.now();
    try {
      const grant = await this.backend.acquire(this.options.name, this.options.holder, this.options.ttlMs);
      if (grant.held) {
        this.validUntil = asked + this.options.ttlMs;
        this.token = grant.token;
      } else {
        this.validUntil = 0;
      }
    } catch (err) {
      // Unreachable database: keep the grant only as long as it was valid, never longer.
      this.options.onError?.(err);
    }
    const held = this.holds();
    this.options.observer?.lease(this.options.name, held);
    return held;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      this.ticking = this.tick();
      await this.ticking;
      this.ticking = undefined;
      if (!this.stopped) this.timer = setTimeout(loop, this.renewMs);
    };
    void loop();
  }

  /** Stops renewing and gives the lease up, so another replica takes it at its next try. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A renewal in flight would otherwise commit after the release below and hold the lease again.
    await this.ticking?.catch(() => false);
    const had = this.holds();
    this.validUntil = 0;
    this.options.observer?.lease(this.options.name, false);
    if (had) await this.backend.release(this.options.name, this.options.holder).catch(() => undefined);
  }
}
