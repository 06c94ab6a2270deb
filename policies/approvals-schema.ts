// The approvals schema, versioned, for both backends (state/migrations.ts). SQLite files written
// before versions were kept already have version 1's tables (IF NOT EXISTS) and may have version 2's
// columns, so those steps look before they add. PostgreSQL started with the whole schema.
import { type Migration, sqliteColumns } from '../state/migrations.js';

export const APPROVALS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tickets and their approvals',
    sqlite: `
CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  args_json TEXT NOT NULL,
  args_hash TEXT NOT NULL,
  requester_json TEXT NOT NULL,
  requester_person TEXT NOT NULL,
  rule TEXT NOT NULL,
  required_json TEXT NOT NULL,
  plan TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  decided_by TEXT,
  note TEXT,
  outcome_json TEXT
);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets(status, expires_at);
CREATE TABLE IF NOT EXISTS ticket_approvals (
  ticket_id TEXT NOT NULL REFERENCES tickets(id),
  person TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (ticket_id, person)
);`,
    postgres: `
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  args_json TEXT NOT NULL,
  args_hash TEXT NOT NULL,
  requester_json TEXT NOT NULL,
  requester_person TEXT NOT NULL,
  rule TEXT NOT NULL,
  required_json TEXT NOT NULL,
  plan TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  decided_by TEXT,
  note TEXT,
  outcome_json TEXT,
  default_cluster TEXT,
  claimed_at TIMESTAMPTZ
);
CREATE INDEX tickets_status ON tickets (status, expires_at);
-- One pending ticket per requester and call, even when two replicas take the same request at once.
CREATE UNIQUE INDEX tickets_one_pending ON tickets (args_hash, requester_person) WHERE status = 'pending';
CREATE TABLE ticket_approvals (
  ticket_id TEXT NOT NULL REFERENCES tickets (id),
  person TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (ticket_id, person)
);`,
  },
  {
    version: 2,
    name: 'default cluster and claim time of a ticket',
    sqlite: (db) => {
      const have = sqliteColumns(db, 'tickets');
      if (!have.has('default_cluster')) db.exec('ALTER TABLE tickets ADD COLUMN default_cluster TEXT');
      if (!have.has('claimed_at')) db.exec('ALTER TABLE tickets ADD COLUMN claimed_at TEXT');
    },
  },
];
