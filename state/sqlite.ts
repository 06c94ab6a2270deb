// Every SQLite database Kubemate keeps (approvals, audit, agent runs, chat, the embedded runbook
// store) is opened here, with the same settings. A foundation module: it imports nothing of ours,
// and every layer may use it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type { Database };

export interface SqliteOptions {
  /** FULL survives power loss, not only a crash of the process (the audit log may ask for it). */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating its folder) a database file, or `:memory:`: write-ahead logging, so readers never
 * block the writer; NORMAL sync, which WAL keeps safe across a crash of the process; and a wait for
 * locks held by other processes (the CLI and the server share the data folder).
 */
export function openSqlite(path: string, options: SqliteOptions = {}): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  return db;
}
