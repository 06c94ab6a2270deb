// The two state backends the contract suites run against: SQLite files in a fresh folder, and a
// fresh database on a real PostgreSQL 15. Each `replica()` is what another Kubemate process would
// have: its own connection (SQLite: its own handle on the same file; PostgreSQL: its own pool).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgState } from '../../../state/postgres.js';
import { openSqlite } from '../../../state/sqlite.js';
import { freshDatabase, startStatePostgres } from '../../support/pg-state.js';

export interface Place {
  kind: 'sqlite' | 'postgres';
  /** SQLite: a file path; PostgreSQL: a database URL. */
  where: string;
  /** Sets a store's recorded schema version (to test refusing a newer one). */
  setVersion(store: string, version: number): Promise<void>;
}

export type BackendKind = Place['kind'];
export const BACKENDS: BackendKind[] = ['sqlite', 'postgres'];

const open: Array<{ close(): unknown }> = [];

export async function freshPlace(kind: BackendKind, file = 'state.db'): Promise<Place> {
  if (kind === 'sqlite') {
    const where = join(mkdtempSync(join(tmpdir(), 'kubemate-state-')), file);
    return {
      kind,
      where,
      async setVersion(store, version) {
        const db = openSqlite(where);
        db.prepare('UPDATE kubemate_schema SET version = ? WHERE store = ?').run(version, store);
        db.close();
      },
    };
  }
  const where = freshDatabase(await startStatePostgres());
  return {
    kind,
    where,
    async setVersion(store, version) {
      const state = new PgState(where);
      await state.pool.query('UPDATE kubemate_schema SET version = $1 WHERE store = $2', [version, store]);
      await state.close();
    },
  };
}

/** A PgState (one replica's pool) closed after the test file. */
export function pgState(url: string): PgState {
  const state = new PgState(url, { maxConnections: 20 });
  open.push({ close: () => state.close() });
  return state;
}

export function track<T extends { close(): unknown }>(thing: T): T {
  open.push(thing);
  return thing;
}

export async function closeAll(): Promise<void> {
  for (const t of open.splice(0).reverse()) await t.close();
}
