// One store implementation over either backend: the stores write their SQL once (`?` placeholders,
// SQL that SQLite and PostgreSQL both accept), map rows once, and run on a SqliteSql (one file, the
// embedded default) or a PgSql (the database every replica shares). What differs between the two is
// named here: row locks, skipping locked rows, a table lock, reading a field of a JSON text column.
import type Database from 'better-sqlite3';
import { type Migration, migrateSqlite } from './migrations.js';
import { NO_OBSERVER, observed, type StateObserver } from './observe.js';
import type { PgClient, PgState } from './postgres.js';

export type Dialect = 'sqlite' | 'postgres';

/** Statements on one connection (inside a transaction, or not). */
export interface Sql {
  readonly dialect: Dialect;
  all<R>(sql: string, params?: unknown[]): Promise<R[]>;
  get<R>(sql: string, params?: unknown[]): Promise<R | undefined>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** ` FOR UPDATE` on PostgreSQL (the row is held until commit); SQLite's write transaction holds the file. */
  readonly forUpdate: string;
  /** ` FOR UPDATE SKIP LOCKED` on PostgreSQL: concurrent takers get different rows. */
  readonly skipLocked: string;
  /** Holds `table` against other writers until commit (PostgreSQL); SQLite's write transaction already does. */
  lockTable(table: string): Promise<void>;
  /** A field of a JSON object kept as text, as text. */
  jsonText(column: string, field: string): string;
}

/** A store's database: statements, and transactions that are all or nothing. */
export interface SqlDb extends Sql {
  /** Runs `fn` in one write transaction, timed as `op`. */
  tx<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T>;
  /** One read or write outside a transaction, timed as `op`. */
  op<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T>;
  /** Resolves once the store's schema is at this code's version. */
  migrated(): Promise<void>;
  close(): void;
}

const FIELD = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const COLUMN = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;

function checkedJson(column: string, field: string): void {
  if (!COLUMN.test(column) || !FIELD.test(field)) throw new Error(`bad JSON field ${column}.${field}`);
}

/** `?` placeholders as PostgreSQL's `$1, $2…`; a `?` inside a quoted literal stays. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|\?/g, (m) => (m === '?' ? `$${++n}` : m));
}

/**
 * The turns taken on each SQLite file by this process's handles. A transaction's body is async, so
 * two handles on one file could interleave: the second's BEGIN would then wait for a lock the first
 * can never release while the thread waits. Handles of one file in one process take turns instead;
 * other processes wait on the file's lock (busy timeout).
 */
const turns = new Map<string, Promise<unknown>>();

/**
 * SQLite through one better-sqlite3 handle. Its calls are synchronous, but a transaction's body is
 * async: operations on the file take turns (a queue), so nothing runs inside another's transaction.
 */
export class SqliteSql implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly forUpdate = '';
  readonly skipLocked = '';
  private readonly file: string;

  /** Applies the store's migrations to the file at once (a newer schema throws here). */
  constructor(
    readonly db: Database.Database,
    private readonly store: string,
    migrations: readonly Migration[],
    private readonly observer: StateObserver = NO_OBSERVER,
  ) {
    migrateSqlite(db, store, migrations);
    this.file = db.memory ? `:memory:${Math.random()}` : db.name;
  }

  async migrated(): Promise<void> {}

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const before = turns.get(this.file) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    turns.set(this.file, settled);
    // Forgotten once idle, so the map holds only files in use.
    void settled.then(() => {
      if (turns.get(this.file) === settled) turns.delete(this.file);
    });
    return run;
  }

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.db.prepare(sql).all(...params) as R[];
  }

  async get<R>(sql: string, params: unknown[] = []): Promise<R | undefined> {
    const stmt = this.db.prepare(sql);
    if (stmt.reader) return stmt.get(...params) as R | undefined;
    stmt.run(...params);
    return undefined;
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return this.db.prepare(sql).run(...params).changes;
  }

  async lockTable(): Promise<void> {}

  jsonText(column: string, field: string): string {
    checkedJson(column, field);
    return `json_extract(${column}, '$.${field}')`;
  }

  tx<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.queued(() =>
      observed(this.observer, this.store, op, async () => {
        // IMMEDIATE: the write lock first, so what the body reads cannot change under it.
        this.db.exec('BEGIN IMMEDIATE');
        try {
          const value = await fn(this);
          this.db.exec('COMMIT');
          return value;
        } catch (err) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw err;
        }
      }),
    );
  }

  op<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.queued(() => observed(this.observer, this.store, op, () => fn(this)));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

class PgSqlClient implements Sql {
  readonly dialect = 'postgres' as const;
  readonly forUpdate = ' FOR UPDATE';
  readonly skipLocked = ' FOR UPDATE SKIP LOCKED';

  constructor(private readonly client: Pick<PgClient, 'query'>) {}

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.client.query(numbered(sql), params)).rows as R[];
  }

  async get<R>(sql: string, params: unknown[] = []): Promise<R | undefined> {
    return (await this.all<R>(sql, params))[0];
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.client.query(numbered(sql), params)).rowCount ?? 0;
  }

  async lockTable(table: string): Promise<void> {
    if (!FIELD.test(table)) throw new Error(`bad table name ${table}`);
    await this.client.query(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
  }

  jsonText(column: string, field: string): string {
    checkedJson(column, field);
    return `(${column}::json ->> '${field}')`;
  }
}

/**
 * PostgreSQL through the replica's PgState pool: every statement and transaction timed and counted.
 * The store's migrations are applied first (every operation waits for them), so a store can be made
 * where the app is wired, synchronously; a schema newer than the code fails every operation.
 */
export class PgSql extends PgSqlClient implements SqlDb {
  private readonly ready: Promise<unknown>;

  constructor(
    readonly state: PgState,
    private readonly store: string,
    migrations: readonly Migration[],
  ) {
    super({
      query: ((sql: string, params: unknown[]) => state.pool.query(sql, params)) as PgClient['query'],
    });
    this.ready = state.migrate(store, migrations);
    // Reported by the operations that wait for it, never as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Resolves once the schema is migrated; rejects as the migration did (a newer schema). */
  async migrated(): Promise<void> {
    await this.ready;
  }

  async tx<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T> {
    await this.ready;
    return this.state.tx(this.store, op, (client) => fn(new PgSqlClient(client)));
  }

  async op<T>(op: string, fn: (q: Sql) => Promise<T>): Promise<T> {
    await this.ready;
    return observed(this.state.observer, this.store, op, () => fn(this));
  }

  /** The pool belongs to the PgState; closing a store leaves it to its owner. */
  close(): void {}
}

/** The statements' counts and sums: PostgreSQL answers BIGINT and NUMERIC as text. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
