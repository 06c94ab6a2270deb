// The agent store's schema, versioned, for both backends (state/migrations.ts). SQLite files written
// before versions were kept have version 1's tables (threads, turns, runs); version 2 renames them to
// the agent_* names PostgreSQL has (a database every store shares), keeping their rows.
import type { Migration } from '../state/migrations.js';

const TABLES = (p: string) => `
CREATE TABLE IF NOT EXISTS ${p}threads (
  id TEXT PRIMARY KEY,
  principal_id TEXT NOT NULL,
  context_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${p}turns (
  thread_id TEXT NOT NULL REFERENCES ${p}threads(id),
  seq INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS ${p}runs (
  id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL REFERENCES ${p}threads(id),
  principal_id TEXT NOT NULL,
  status TEXT NOT NULL,
  ticket_id TEXT,
  state_json TEXT NOT NULL,
  answer_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ${p}runs_ticket ON ${p}runs(ticket_id);`;

export const AGENT_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'threads, turns and runs', sqlite: TABLES(''), postgres: TABLES('agent_') },
  {
    version: 2,
    name: 'agent_* table names',
    sqlite: `
ALTER TABLE threads RENAME TO agent_threads;
ALTER TABLE turns RENAME TO agent_turns;
ALTER TABLE runs RENAME TO agent_runs;
DROP INDEX IF EXISTS runs_ticket;
CREATE INDEX IF NOT EXISTS agent_runs_ticket ON agent_runs(ticket_id);`,
  },
];
