import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../state/sqlite.js';
import type { OutboundOp } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  channel TEXT NOT NULL,
  key TEXT NOT NULL,
  op_json TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  message_id TEXT,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, channel, seq);
CREATE INDEX IF NOT EXISTS outbox_key ON outbox(key);
CREATE INDEX IF NOT EXISTS outbox_message ON outbox(message_id);
CREATE TABLE IF NOT EXISTS threads (
  place TEXT NOT NULL, principal_id TEXT NOT NULL, agent_thread TEXT NOT NULL,
  PRIMARY KEY (place, principal_id));
CREATE TABLE IF NOT EXISTS cards (
  ticket_id TEXT PRIMARY KEY, channel TEXT NOT NULL, key TEXT NOT NULL, thread TEXT, run_id TEXT);
CREATE TABLE IF NOT EXISTS card_views (ticket_id TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resumed (run_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS joined (place TEXT PRIMARY KEY, at INTEGER NOT NULL);`;

export interface OutboxRow {
  seq: number;
  channel: string;
  key: string;
  op: OutboundOp;
  attempts: number;
  nextAt: number;
  /** An attempt began and its outcome is unknown (the process stopped, or the call failed midway). */
  sending: boolean;
  /** When it was enqueued (ms). */
  createdAt: number;
}

export interface CardRecord {
  ticketId: string;
  channel: string;
  key: string;
  thread?: string;
  runId?: string;
}

export const newKey = () => `m_${randomBytes(8).toString('hex')}`;

/** The chat core's state in SQLite (`<dataDir>/chat.db`): seen events, the outbox, threads and cards. */
export class ChatStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(SCHEMA);
    const columns = new Set(
      (this.db.prepare('PRAGMA table_info(outbox)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    if (!columns.has('sending'))
      this.db.exec('ALTER TABLE outbox ADD COLUMN sending INTEGER NOT NULL DEFAULT 0');
    if (!columns.has('created_at'))
      this.db.exec('ALTER TABLE outbox ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Forgets delivered and dropped operations older than `ms` (their bodies, charts included, are
   * the bulk of the file). Keys newer than that still stop a repeated post.
   */
  prune(ms: number): number {
    return this.db
      .prepare("DELETE FROM outbox WHERE status IN ('sent', 'dropped') AND created_at > 0 AND created_at < ?")
      .run(Date.now() - ms).changes;
  }

  /** True the first time an event id is seen; platforms retry deliveries, each is handled once. */
  firstSight(eventId: string): boolean {
    const now = Date.now();
    this.db.prepare('DELETE FROM seen WHERE at < ?').run(now - 24 * 3600_000);
    return (
      this.db.prepare('INSERT OR IGNORE INTO seen (event_id, at) VALUES (?, ?)').run(eventId, now).changes ===
      1
    );
  }

  enqueue(op: OutboundOp): number {
    const channel = op.op === 'post' || op.op === 'upload' ? op.place.channel : op.channel;
    const key = op.op === 'update-ref' ? op.messageId : op.key;
    return Number(
      this.db
        .prepare('INSERT INTO outbox (channel, key, op_json, next_at, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(channel, key, JSON.stringify(op), Date.now(), Date.now()).lastInsertRowid,
    );
  }

  /** The oldest pending operation of each channel: a channel's messages go out in order. */
  heads(): OutboxRow[] {
    const rows = this.db
      .prepare(
        `SELECT o.* FROM outbox o JOIN (SELECT channel, MIN(seq) AS seq FROM outbox
           WHERE status = 'pending' GROUP BY channel) h ON o.seq = h.seq ORDER BY o.next_at`,
      )
      .all() as Array<{
      seq: number;
      channel: string;
      key: string;
      op_json: string;
      attempts: number;
      next_at: number;
      sending: number;
      created_at: number;
    }>;
    return rows.map((r) => ({
      seq: r.seq,
      channel: r.channel,
      key: r.key,
      op: JSON.parse(r.op_json),
      attempts: r.attempts,
      nextAt: r.next_at,
      sending: r.sending === 1,
      createdAt: r.created_at,
    }));
  }

  pendingCount(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get() as { n: number }
    ).n;
  }

  /** An attempt is about to begin: until it is settled, a restart must ask whether it landed. */
  markSending(seq: number): void {
    this.db.prepare('UPDATE outbox SET sending = 1 WHERE seq = ?').run(seq);
  }

  delivered(seq: number, messageId?: string): void {
    this.db
      .prepare("UPDATE outbox SET status = 'sent', message_id = ?, attempts = attempts + 1 WHERE seq = ?")
      .run(messageId ?? null, seq);
  }

  retry(seq: number, nextAt: number, error: string): void {
    this.db
      .prepare('UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ?')
      .run(nextAt, error.slice(0, 500), seq);
  }

  dropped(seq: number, error: string): void {
    this.db
      .prepare("UPDATE outbox SET status = 'dropped', last_error = ? WHERE seq = ?")
      .run(error.slice(0, 500), seq);
  }

  /** The platform id of a message the outbox posted under `key`, once it is out. */
  messageIdOf(key: string): string | undefined {
    const row = this.db
      .prepare("SELECT message_id FROM outbox WHERE key = ? AND status = 'sent' AND message_id IS NOT NULL")
      .get(key) as { message_id: string } | undefined;
    return row?.message_id;
  }

  /** The channel of a message this outbox posted, by its platform id: a press on it acts there. */
  channelOfPost(messageId: string): string | undefined {
    const row = this.db
      .prepare(
        "SELECT channel FROM outbox WHERE message_id = ? AND status = 'sent' AND json_extract(op_json, '$.op') = 'post'",
      )
      .get(messageId) as { channel: string } | undefined;
    return row?.channel;
  }

  /** Whether anything was ever enqueued under this key (sent, pending or dropped). */
  hasKey(key: string): boolean {
    return this.db.prepare('SELECT 1 FROM outbox WHERE key = ? LIMIT 1').get(key) !== undefined;
  }

  /** The posted key, if the message is a post this outbox made (cards are found by their message id). */
  keyOf(messageId: string): string | undefined {
    const row = this.db.prepare('SELECT key FROM outbox WHERE message_id = ?').get(messageId) as
      | { key: string }
      | undefined;
    return row?.key;
  }

  agentThread(place: string, principalId: string): string | undefined {
    const row = this.db
      .prepare('SELECT agent_thread FROM threads WHERE place = ? AND principal_id = ?')
      .get(place, principalId) as { agent_thread: string } | undefined;
    return row?.agent_thread;
  }

  setAgentThread(place: string, principalId: string, agentThread: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO threads (place, principal_id, agent_thread) VALUES (?, ?, ?)')
      .run(place, principalId, agentThread);
  }

  /**
   * True once per run: a paused run resumes when its ticket is decided, whether the decision came
   * from a press here or from another surface (seen by the sweep); both may notice it, one resumes.
   */
  claimResume(runId: string): boolean {
    return (
      this.db.prepare('INSERT OR IGNORE INTO resumed (run_id, at) VALUES (?, ?)').run(runId, Date.now())
        .changes === 1
    );
  }

  /** Kubemate was addressed in this thread: later replies in it are for it, with or without a mention. */
  join(place: string): void {
    this.db.prepare('INSERT OR IGNORE INTO joined (place, at) VALUES (?, ?)').run(place, Date.now());
  }

  joined(place: string): boolean {
    return this.db.prepare('SELECT 1 FROM joined WHERE place = ?').get(place) !== undefined;
  }

  saveCard(card: CardRecord): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO cards (ticket_id, channel, key, thread, run_id) VALUES (?, ?, ?, ?, ?)',
      )
      .run(card.ticketId, card.channel, card.key, card.thread ?? null, card.runId ?? null);
  }

  /** Records the ticket status a card was last drawn with. */
  cardDrawn(ticketId: string, status: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO card_views (ticket_id, status) VALUES (?, ?)')
      .run(ticketId, status);
  }

  /** Cards last drawn while their ticket could still change: the expiry sweep looks at these. */
  openCards(): CardRecord[] {
    const rows = this.db
      .prepare(
        `SELECT c.ticket_id FROM cards c LEFT JOIN card_views v ON v.ticket_id = c.ticket_id
         WHERE v.status IS NULL OR v.status IN ('pending', 'approved', 'executing')`,
      )
      .all() as Array<{ ticket_id: string }>;
    return rows.flatMap((r) => this.card(r.ticket_id) ?? []);
  }

  card(ticketId: string): CardRecord | undefined {
    const r = this.db.prepare('SELECT * FROM cards WHERE ticket_id = ?').get(ticketId) as
      | { ticket_id: string; channel: string; key: string; thread: string | null; run_id: string | null }
      | undefined;
    if (!r) return undefined;
    return {
      ticketId: r.ticket_id,
      channel: r.channel,
      key: r.key,
      ...(r.thread ? { thread: r.thread } : {}),
      ...(r.run_id ? { runId: r.run_id } : {}),
    };
  }
}
