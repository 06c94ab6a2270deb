// Kubemate's state in PostgreSQL, shared by every replica: one connection pool, migrations applied
// under a database lock (replicas starting together take turns), and every store operation timed and
// counted through a StateObserver.
import pg from 'pg';
import { latestVersion, type Migration, tooNew } from './migrations.js';
import { NO_OBSERVER, observed, type StateObserver } from './observe.js';

export type PgClient = pg.PoolClient;

/** Advisory lock keys (pg_advisory_xact_lock): one per purpose, fixed forever. */
export const LOCKS = { migrations: 0x6b6d0001, audit: 0x6b6d0002 } as const;

export interface PgStateOptions {
  observer?: StateObserver;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** Names this replica in pg_stat_activity. */
  applicationName?: string;
  /**
   * The server ends a session left idle inside a transaction this long (default 60 s): a replica that
   * died or was cut off while holding a lock (the audit chain's, a row's) frees it for the others.
   */
  idleInTransactionMs?: number;
  /** A wait for a lock longer than this fails the statement (default 30 s) instead of hanging the call. */
  lockTimeoutMs?: number;
}

export class PgState {
  readonly pool: pg.Pool;
  readonly observer: StateObserver;

  constructor(
    readonly url: string,
    options: PgStateOptions = {},
  ) {
    this.observer = options.observer ?? NO_OBSERVER;
    const settings = [
      `-c idle_in_transaction_session_timeout=${Math.round(options.idleInTransactionMs ?? 60_000)}`,
      `-c lock_timeout=${Math.round(options.lockTimeoutMs ?? 30_000)}`,
    ].join(' ');
    // Options given in the URL (?options=…) are kept, ours after them; pg would let the URL's replace ours.
    const parsed = new URL(url);
    const given = parsed.searchParams.get('options');
    if (given !== null) parsed.searchParams.delete('options');
    this.pool = new pg.Pool({
      connectionString: given === null ? url : parsed.toString(),
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'kubemate',
      // A server that cannot be reached fails the operation (and the call waiting for it) in 10 s.
      connectionTimeoutMillis: 10_000,
      // A connection to a server that went away unannounced is noticed rather than waited on for hours.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      options: [given, settings].filter(Boolean).join(' '),
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Applies `migrations` for `store`; refuses a schema newer than the code knows. */
  async migrate(store: string, migrations: readonly Migration[]): Promise<number> {
    const known = latestVersion(migrations);
    return this.tx(store, 'migrate', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrations]);
      await c.query(`CREATE TABLE IF NOT EXISTS kubemate_schema (
        store TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const res = await c.query<{ version: number }>('SELECT version FROM kubemate_schema WHERE store = $1', [
        store,
      ]);
      const found = res.rows[0]?.version ?? 0;
      if (found > known) throw tooNew(store, found, known);
      for (const m of migrations) {
        if (m.version > found && m.postgres) await c.query(m.postgres);
      }
      if (found < known) {
        await c.query(
          `INSERT INTO kubemate_schema (store, version) VALUES ($1, $2)
           ON CONFLICT (store) DO UPDATE SET version = excluded.version, applied_at = now()`,
          [store, known],
        );
      }
      return known;
    });
  }

  /** One statement, timed as `store`/`op`. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    store: string,
    op: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return observed(this.observer, store, op, () => this.pool.query<R>(sql, params));
  }

  /** Runs `fn` in one transaction (all or nothing), timed as `store`/`op`. */
  async tx<T>(store: string, op: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
    return observed(this.observer, store, op, async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const value = await fn(client);
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
