// Versioned schema migrations, one list per store, for both backends. Each store's version is kept
// in `kubemate_schema`; at start the missing steps are applied in order, in one transaction, and a
// database whose version is newer than the code knows is refused (an older Kubemate must not write
// to a schema it does not understand, e.g. during a rolling upgrade that is rolled back).
import type Database from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3…: contiguous, never renumbered once released. */
  version: number;
  name: string;
  /** SQL, or a function for steps that must look first (e.g. a column older files may already have). */
  sqlite?: string | ((db: Database.Database) => void);
  postgres?: string;
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

export function latestVersion(migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name}: version ${m.version}, expected ${i + 1}`);
  });
  return migrations.length;
}

export function tooNew(store: string, found: number, known: number): SchemaError {
  return new SchemaError(
    `the ${store} schema in this database is at version ${found}, newer than this Kubemate knows (${known}); ` +
      'run the Kubemate version that wrote it (or newer), never an older one',
  );
}

const SQLITE_TABLE = `CREATE TABLE IF NOT EXISTS kubemate_schema (
  store TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)`;

/** Applies `migrations` for `store` to a SQLite database; returns the version it is now at. */
export function migrateSqlite(
  db: Database.Database,
  store: string,
  migrations: readonly Migration[],
): number {
  const known = latestVersion(migrations);
  return db
    .transaction(() => {
      db.exec(SQLITE_TABLE);
      const row = db.prepare('SELECT version FROM kubemate_schema WHERE store = ?').get(store) as
        | { version: number }
        | undefined;
      const found = row?.version ?? 0;
      if (found > known) throw tooNew(store, found, known);
      for (const m of migrations) {
        if (m.version <= found) continue;
        if (typeof m.sqlite === 'string') db.exec(m.sqlite);
        else m.sqlite?.(db);
      }
      if (found < known) {
        db.prepare(
          `INSERT INTO kubemate_schema (store, version, applied_at) VALUES (?, ?, ?)
           ON CONFLICT (store) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
        ).run(store, known, new Date().toISOString());
      }
      return known;
    })
    .immediate();
}

/** The columns a SQLite table has (for steps adding a column older files may already have). */
export function sqliteColumns(db: Database.Database, table: string): Set<string> {
  return new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  );
}
