// The alert store's schema, versioned, for both backends (state/migrations.ts). Version 1 is the
// schema SQLite files had before versions were kept (tables made IF NOT EXISTS, the storms table
// rebuilt keyed by platform and channel when it was keyed by channel alone); version 2 gives the
// tables names of their own, as PostgreSQL has them from the start (one database holds every store).
import type Database from 'better-sqlite3';
import { type Migration, sqliteColumns } from '../state/migrations.js';

const SQLITE_V1 = `
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  labels_json TEXT NOT NULL,
  status TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  channel TEXT,
  platform TEXT,
  storm INTEGER NOT NULL DEFAULT 0,
  first_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ack_by TEXT,
  ack_at INTEGER,
  episode INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groups_channel ON groups(channel, first_at);
CREATE TABLE IF NOT EXISTS alerts (
  group_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  annotations_json TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (group_key, fingerprint, starts_at));
CREATE TABLE IF NOT EXISTS stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS storms (
  platform TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, started_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL, PRIMARY KEY (platform, channel));
CREATE TABLE IF NOT EXISTS triage (
  group_key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  enrichment TEXT,
  diagnosis TEXT,
  model INTEGER NOT NULL DEFAULT 0,
  error TEXT);
CREATE INDEX IF NOT EXISTS triage_queue ON triage(state, priority, queued_at);
CREATE TABLE IF NOT EXISTS model_runs (at INTEGER NOT NULL);`;

/**
 * Stores written before routes could name a platform keyed storms by channel alone (every channel
 * was Slack's): the table is rebuilt keyed by platform and channel, its rows kept as Slack's.
 */
function migrateStorms(db: Database.Database): void {
  const columns = sqliteColumns(db, 'storms');
  if (columns.size === 0 || columns.has('platform')) return;
  db.exec('ALTER TABLE storms RENAME TO storms_by_channel');
  db.exec(`CREATE TABLE storms (
    platform TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, started_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL, PRIMARY KEY (platform, channel))`);
  db.exec(`INSERT INTO storms (platform, channel, key, started_at, last_at)
    SELECT 'slack', channel, key, started_at, last_at FROM storms_by_channel`);
  db.exec('DROP TABLE storms_by_channel');
}

const RENAMES: Array<[string, string]> = [
  ['groups', 'alert_groups'],
  ['alerts', 'alert_items'],
  ['stats', 'alert_stats'],
  ['storms', 'alert_storms'],
  ['triage', 'alert_triage'],
  ['model_runs', 'alert_model_runs'],
];

export const ALERTS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alert groups, alerts, storms, triage and the model budget',
    sqlite: (db) => {
      migrateStorms(db);
      db.exec(SQLITE_V1);
      // Files from before episodes were counted.
      if (!sqliteColumns(db, 'groups').has('episode'))
        db.exec('ALTER TABLE groups ADD COLUMN episode INTEGER NOT NULL DEFAULT 0');
    },
    postgres: `
CREATE TABLE alert_groups (
  group_key TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  labels_json TEXT NOT NULL,
  status TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  channel TEXT,
  platform TEXT,
  storm INTEGER NOT NULL DEFAULT 0,
  first_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  ack_by TEXT,
  ack_at BIGINT,
  episode INTEGER NOT NULL DEFAULT 0);
CREATE INDEX alert_groups_channel ON alert_groups (channel, first_at);
CREATE INDEX alert_groups_updated ON alert_groups (updated_at);
CREATE TABLE alert_items (
  group_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  annotations_json TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (group_key, fingerprint, starts_at));
CREATE INDEX alert_items_fingerprint ON alert_items (fingerprint, updated_at);
CREATE TABLE alert_stats (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE alert_storms (
  platform TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, started_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL, PRIMARY KEY (platform, channel));
CREATE TABLE alert_triage (
  group_key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  queued_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  enrichment TEXT,
  diagnosis TEXT,
  model INTEGER NOT NULL DEFAULT 0,
  error TEXT);
CREATE INDEX alert_triage_queue ON alert_triage (state, priority, queued_at);
CREATE TABLE alert_model_runs (at BIGINT NOT NULL);`,
  },
  {
    version: 2,
    name: 'tables named for the alert store',
    sqlite: (db) => {
      for (const [from, to] of RENAMES) db.exec(`ALTER TABLE ${from} RENAME TO ${to}`);
      db.exec('CREATE INDEX IF NOT EXISTS alert_groups_updated ON alert_groups(updated_at)');
      db.exec('CREATE INDEX IF NOT EXISTS alert_items_fingerprint ON alert_items(fingerprint, updated_at)');
    },
  },
];
