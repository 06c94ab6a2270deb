// The chat store's schema, versioned, for both backends (state/migrations.ts). One DDL for both: on
// PostgreSQL every platform shares the tables (a `platform` column keeps them apart); a SQLite file
// holds one platform (`platform` is ''). SQLite files written before versions were kept have the
// older unprefixed tables: version 1 moves their rows into the new ones and drops them.
import type Database from 'better-sqlite3';
import { type Migration, sqliteColumns } from '../../state/migrations.js';
import type { Dialect } from '../../state/sql.js';

const ddl = (dialect: Dialect) => `
CREATE TABLE IF NOT EXISTS chat_outbox (
  seq ${dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
  platform TEXT NOT NULL,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  kind TEXT NOT NULL,
  op_json TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  message_id TEXT,
  last_error TEXT,
  sending INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chat_outbox_head ON chat_outbox (platform, channel, seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS chat_outbox_key ON chat_outbox (platform, key);
CREATE INDEX IF NOT EXISTS chat_outbox_message ON chat_outbox (platform, message_id);
-- One row per channel: who is sending its head message now (until when), and when it last posted,
-- so that pacing and "one in flight per channel" hold across replicas.
CREATE TABLE IF NOT EXISTS chat_channels (
  platform TEXT NOT NULL,
  channel TEXT NOT NULL,
  last_post_at BIGINT NOT NULL DEFAULT 0,
  claimed_by TEXT,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (platform, channel)
);
CREATE TABLE IF NOT EXISTS chat_threads (
  platform TEXT NOT NULL, place TEXT NOT NULL, principal_id TEXT NOT NULL, agent_thread TEXT NOT NULL,
  PRIMARY KEY (platform, place, principal_id));
CREATE TABLE IF NOT EXISTS chat_cards (
  platform TEXT NOT NULL, ticket_id TEXT NOT NULL, channel TEXT NOT NULL, key TEXT NOT NULL, thread TEXT,
  run_id TEXT, PRIMARY KEY (platform, ticket_id));
CREATE TABLE IF NOT EXISTS chat_card_views (
  platform TEXT NOT NULL, ticket_id TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (platform, ticket_id));
CREATE TABLE IF NOT EXISTS chat_resumed (
  platform TEXT NOT NULL, run_id TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (platform, run_id));
CREATE TABLE IF NOT EXISTS chat_joined (
  platform TEXT NOT NULL, place TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (platform, place));`;

const hasTable = (db: Database.Database, name: string) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/** Moves a pre-version table's rows into its new table, then drops it. */
function carry(db: Database.Database, old: string, insert: string): void {
  if (!hasTable(db, old)) return;
  db.exec(insert);
  db.exec(`DROP TABLE ${old}`);
}

function upgradeSqlite(db: Database.Database): void {
  db.exec(ddl('sqlite'));
  // Event ids seen (platforms retry deliveries); on PostgreSQL this is chat_seen (state/dedupe.ts).
  db.exec('CREATE TABLE IF NOT EXISTS chat_seen (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL)');
  if (hasTable(db, 'outbox')) {
    const have = sqliteColumns(db, 'outbox');
    if (!have.has('sending')) db.exec('ALTER TABLE outbox ADD COLUMN sending INTEGER NOT NULL DEFAULT 0');
    if (!have.has('created_at'))
      db.exec('ALTER TABLE outbox ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0');
  }
  carry(
    db,
    'outbox',
    `INSERT INTO chat_outbox (seq, platform, channel, key, kind, op_json, attempts, next_at, status, message_id,
       last_error, sending, created_at)
     SELECT seq, '', channel, key, json_extract(op_json, '$.op'), op_json, attempts, next_at, status, message_id,
       last_error, sending, created_at FROM outbox`,
  );
  db.exec(
    "INSERT OR IGNORE INTO chat_channels (platform, channel) SELECT DISTINCT '', channel FROM chat_outbox",
  );
  carry(db, 'seen', 'INSERT OR IGNORE INTO chat_seen (event_id, at) SELECT event_id, at FROM seen');
  carry(
    db,
    'threads',
    `INSERT INTO chat_threads (platform, place, principal_id, agent_thread)
     SELECT '', place, principal_id, agent_thread FROM threads`,
  );
  carry(
    db,
    'cards',
    `INSERT INTO chat_cards (platform, ticket_id, channel, key, thread, run_id)
     SELECT '', ticket_id, channel, key, thread, run_id FROM cards`,
  );
  carry(
    db,
    'card_views',
    "INSERT INTO chat_card_views (platform, ticket_id, status) SELECT '', ticket_id, status FROM card_views",
  );
  carry(db, 'resumed', "INSERT INTO chat_resumed (platform, run_id, at) SELECT '', run_id, at FROM resumed");
  carry(db, 'joined', "INSERT INTO chat_joined (platform, place, at) SELECT '', place, at FROM joined");
}

export const CHAT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox with per-channel claims, threads, cards, resumed runs, joined threads',
    sqlite: upgradeSqlite,
    postgres: ddl('postgres'),
  },
];
