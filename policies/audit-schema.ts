// The audit log's schema, versioned, for both backends (state/migrations.ts). SQLite logs written
// before versions were kept already have version 1 (IF NOT EXISTS) and may have the MAC column.
import { type Migration, sqliteColumns } from '../state/migrations.js';

const APPEND_ONLY = 'the audit log is append-only';
// Every index costs each append a page write. Most records succeed or are allowed, so only the rare
// outcomes a reviewer hunts for get an index entry; source and kind have too few values to need one.
export const NOTABLE = ['error', 'denied', 'invalid', 'approval_required', 'deny', 'needs-approval'];
export const NOTABLE_SQL = `outcome IN (${NOTABLE.map((o) => `'${o}'`).join(', ')})`;

export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'append-only audit chain',
    sqlite: `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  principal TEXT NOT NULL,
  source TEXT NOT NULL,
  tool TEXT NOT NULL,
  kind TEXT NOT NULL,
  outcome TEXT,
  record TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_principal ON audit (principal);
CREATE INDEX IF NOT EXISTS audit_tool ON audit (tool);
CREATE INDEX IF NOT EXISTS audit_outcome_notable ON audit (outcome) WHERE ${NOTABLE_SQL};
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}: rows cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}: rows cannot be deleted'); END;
`,
    postgres: `
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  at TEXT NOT NULL,
  principal TEXT NOT NULL,
  source TEXT NOT NULL,
  tool TEXT NOT NULL,
  kind TEXT NOT NULL,
  outcome TEXT,
  record TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_principal ON audit (principal);
CREATE INDEX audit_tool ON audit (tool);
CREATE INDEX audit_outcome_notable ON audit (outcome) WHERE ${NOTABLE_SQL};
CREATE FUNCTION kubemate_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '${APPEND_ONLY}: rows cannot be %d', lower(TG_OP); END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION kubemate_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION kubemate_audit_append_only();`,
  },
  {
    version: 2,
    name: 'a MAC per record',
    // Logs written before MACs existed gain the column; their rows keep it empty.
    sqlite: (db) => {
      if (!sqliteColumns(db, 'audit').has('mac')) db.exec('ALTER TABLE audit ADD COLUMN mac TEXT');
    },
    postgres: 'ALTER TABLE audit ADD COLUMN mac TEXT',
  },
];
