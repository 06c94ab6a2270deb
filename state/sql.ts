// One way for a store to speak SQL to either backend, so that a store's queries, schema and row
// mapping are written once: statements use `?` placeholders (numbered `$n` for PostgreSQL here),
// every call is timed under the store's name, and `tx` runs a function in one transaction (SQLite:
// BEGIN IMMEDIATE, taking turns with the other transactions of this handle; PostgreSQL: one pooled
// connection). A store adds dialect-specific clauses (row locks) where it needs them.
import type Database from 'better-sqlite3';
import { type Migration, migrateSqlite } from './migrations.js';
import { NO_OBSERVER, observed, type StateObserver } from './observe.js';
import type { PgClient, PgState } from './postgres.js';

export type Dialect = 'sqlite' | 'postgres';
export type SqlParam = string | number | boolean | null;

export interface SqlRunner {
  readonly dialect: Dialect;
  all<R>(op: string, sql: string, params?: SqlParam[]): Promise<R[]>;
  get<R>(op: string, sql: string, params?: SqlParam[]): Promise<R | undefined>;
  /** Runs a statement; the number of rows it changed. */
  run(op: string, sql: string, params?: SqlParam[]): Promise<number>;
}

export interface SqlDb extends SqlRunner {
  tx<T>(op: string, fn: (q: SqlRunner) => Promise<T>): Promise<T>;
  /** Closes a SQLite handle this object opened; a PostgreSQL pool belongs to its PgState. */
  close(): void;
}

/** `?` → `$1`, `$2`…; statements here never hold a `?` inside a string literal. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class PgRunner implements SqlRunner {
  readonly dialect = 'postgres';
  constructor(
    private readonly exec: (
      op: string,
      sql: string,
      params: SqlParam[],
    ) => Promise<{ rows: unknown[]; rowCount: number | null }>,
  ) {}
  async all<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R[]> {
    return (await this.exec(op, numbered(sql), params)).rows as R[];
  }
  async get<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R | undefined> {
    return (await this.all<R>(op, sql, params))[0];
  }
  async run(op: string, sql: string, params: SqlParam[] = []): Promise<number> {
    return (await this.exec(op, numbered(sql), params)).rowCount ?? 0;
  }
}

/**
 * A store's SQL on the PostgreSQL every replica shares. Its migrations are applied before the first
 * statement (start-up and `kubemate state migrate` apply them too), so a store can be built at once.
 */
export class PgSql extends PgRunner implements SqlDb {
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly state: PgState,
    private readonly store: string,
    migrations: readonly Migration[] = [],
  ) {
    super(async (op, sql, params) => {
      await this.migrated();
      return state.query(store, op, sql, params);
    });
    if (migrations.length > 0) {
      this.ready = state.migrate(store, migrations);
      this.ready.catch(() => undefined); // reported to each call that awaits it
    }
  }

  /** Waits for the migrations; a failure (a schema newer than this code) fails every call, clearly. */
  migrated(): Promise<unknown> {
    return this.ready ?? Promise.resolve();
  }

  async tx<T>(op: string, fn: (q: SqlRunner) => Promise<T>): Promise<T> {
    await this.migrated();
    return this.state.tx(this.store, op, (client: PgClient) =>
      fn(new PgRunner((_op, sql, params) => client.query(sql, params))),
    );
  }

  close(): void {}
}

class SqliteRunner implements SqlRunner {
  readonly dialect = 'sqlite';
  private readonly statements = new Map<string, Database.Statement>();
  constructor(
    protected readonly db: Database.Database,
    protected readonly observer: StateObserver,
    protected readonly store: string,
  ) {}

  protected prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }
  protected sync<T>(op: string, fn: () => T): Promise<T> {
    return observed(this.observer, this.store, op, async () => fn());
  }
  protected params(params: SqlParam[]): unknown[] {
    return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  }
  all<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R[]> {
    return this.sync(op, () => this.prepare(sql).all(...this.params(params)) as R[]);
  }
  get<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R | undefined> {
    return this.sync(op, () => this.prepare(sql).get(...this.params(params)) as R | undefined);
  }
  run(op: string, sql: string, params: SqlParam[] = []): Promise<number> {
    return this.sync(op, () => {
      const st = this.prepare(sql);
      return st.reader ? st.all(...this.params(params)).length : st.run(...this.params(params)).changes;
    });
  }
}

/** The calls waiting on each SQLite file in this process (handles on one file share it). */
const turns = new Map<string, Promise<unknown>>();

/**
 * A store's SQL in a SQLite file. A transaction's function may await: while it is open, the other
 * calls on the file from this process wait for it (on this handle they would land inside it; on
 * another, its lock wait would block the one thread that can finish the transaction), and other
 * processes on the file wait on SQLite's lock (busy timeout).
 */
export class SqliteSql extends SqliteRunner implements SqlDb {
  private readonly inner: SqliteRunner;
  private readonly file: string;

  constructor(db: Database.Database, store: string, observer: StateObserver = NO_OBSERVER) {
    super(db, observer, store);
    this.inner = new SqliteRunner(db, observer, store);
    this.file = db.memory ? `:memory:${Math.random()}` : db.name;
  }

  /** Applies the store's migrations to the file, then returns its SQL handle. */
  static open(db: Database.Database, store: string, migrations: readonly Migration[]): SqliteSql {
    migrateSqlite(db, store, migrations);
    return new SqliteSql(db, store);
  }

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const run = (turns.get(this.file) ?? Promise.resolve()).then(fn, fn);
    const settled = run.catch(() => undefined);
    turns.set(this.file, settled);
    void settled.then(() => {
      if (turns.get(this.file) === settled) turns.delete(this.file);
    });
    return run;
  }

  override all<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R[]> {
    return this.queued(() => this.inner.all<R>(op, sql, params));
  }
  override get<R>(op: string, sql: string, params: SqlParam[] = []): Promise<R | undefined> {
    return this.queued(() => this.inner.get<R>(op, sql, params));
  }
  override run(op: string, sql: string, params: SqlParam[] = []): Promise<number> {
    return this.queued(() => this.inner.run(op, sql, params));
  }

  tx<T>(op: string, fn: (q: SqlRunner) => Promise<T>): Promise<T> {
    return this.queued(() =>
      observed(this.observer, this.store, op, async () => {
        this.db.exec('BEGIN IMMEDIATE');
        try {
          const value = await fn(this.inner);
          this.db.exec('COMMIT');
          return value;
        } catch (err) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw err;
        }
      }),
    );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
