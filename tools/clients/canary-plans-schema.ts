// The canary plans' schema, versioned, for both backends (state/migrations.ts). SQLite files written
// before versions were kept have version 1's tables; version 2 adds what takes a plan (who holds it,
// until when) and the creation time plans are listed by (SQLite listed by rowid, which PostgreSQL
// has not), filled in from each plan. PostgreSQL starts with the whole schema.
import { type Migration, sqliteColumns } from '../../state/migrations.js';

export const CANARY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'plans and Flagger gates',
    sqlite: `
CREATE TABLE IF NOT EXISTS canary_plans (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  next_at INTEGER NOT NULL,
  plan_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS canary_plans_due ON canary_plans(state, next_at);
CREATE TABLE IF NOT EXISTS canary_gates (
  key TEXT PRIMARY KEY,
  ticket TEXT,
  opened_at TEXT
);`,
    postgres: `
CREATE TABLE canary_plans (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  next_at BIGINT NOT NULL,
  plan_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  claimed_by TEXT,
  claimed_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX canary_plans_due ON canary_plans (state, next_at);
CREATE INDEX canary_plans_created ON canary_plans (created_at);
CREATE TABLE canary_gates (
  key TEXT PRIMARY KEY,
  ticket TEXT,
  opened_at TEXT
);`,
  },
  {
    version: 2,
    name: 'who holds a plan, and when it was created',
    sqlite: (db) => {
      const have = sqliteColumns(db, 'canary_plans');
      if (!have.has('claimed_by')) db.exec('ALTER TABLE canary_plans ADD COLUMN claimed_by TEXT');
      if (!have.has('claimed_until'))
        db.exec('ALTER TABLE canary_plans ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0');
      if (!have.has('created_at')) {
        db.exec("ALTER TABLE canary_plans ADD COLUMN created_at TEXT NOT NULL DEFAULT ''");
        db.exec("UPDATE canary_plans SET created_at = COALESCE(json_extract(plan_json, '$.createdAt'), '')");
      }
      db.exec('CREATE INDEX IF NOT EXISTS canary_plans_created ON canary_plans (created_at)');
    },
  },
];
