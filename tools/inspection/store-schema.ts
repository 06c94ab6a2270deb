// The inspection store's schema, versioned, for both backends (state/migrations.ts). Version 1 is
// the schema SQLite files had before versions were kept; version 2 gives the tables names of their
// own, as PostgreSQL has them from the start (one database holds every store).
import type { Migration } from '../../state/migrations.js';

export const INSPECTIONS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'reports, schedule state and missed runs',
    sqlite: `
CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL, cluster TEXT NOT NULL,
  scopes TEXT NOT NULL, plan TEXT, by TEXT NOT NULL, score REAL, critical INTEGER NOT NULL,
  warning INTEGER NOT NULL, findings INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_kind ON reports(kind, created_at);
CREATE INDEX IF NOT EXISTS reports_created ON reports(created_at);
CREATE TABLE IF NOT EXISTS plan_state (plan TEXT PRIMARY KEY, last_due INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS missed_runs (
  plan TEXT NOT NULL, due_at TEXT NOT NULL, reason TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, due_at));`,
    postgres: `
CREATE TABLE inspection_reports (
  id TEXT PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL, cluster TEXT NOT NULL,
  scopes TEXT NOT NULL, plan TEXT, "by" TEXT NOT NULL, score DOUBLE PRECISION, critical INTEGER NOT NULL,
  warning INTEGER NOT NULL, findings INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX inspection_reports_kind ON inspection_reports (kind, created_at);
CREATE INDEX inspection_reports_created ON inspection_reports (created_at);
CREATE TABLE inspection_plan_state (plan TEXT PRIMARY KEY, last_due BIGINT NOT NULL);
CREATE TABLE inspection_missed_runs (
  plan TEXT NOT NULL, due_at TEXT NOT NULL, reason TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, due_at));`,
  },
  {
    version: 2,
    name: 'tables named for the inspection store',
    sqlite: `
ALTER TABLE reports RENAME TO inspection_reports;
ALTER TABLE plan_state RENAME TO inspection_plan_state;
ALTER TABLE missed_runs RENAME TO inspection_missed_runs;`,
  },
];
