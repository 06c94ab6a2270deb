// The chat core's state: seen events, the outbox, agent threads per place, approval cards, resumed
// runs and joined threads. One implementation over state/sql.ts for both backends: a SQLite file per
// platform in the data folder (the embedded default), or PostgreSQL shared by every replica, where a
// conversation continued on another replica finds its thread and the outbox is drained by all of
// them, one message in flight per channel (a claim on the channel's row, released when settled or
// when its holder stops renewing it).
import { randomBytes } from 'node:crypto';
import { PgEventDedupe } from '../../state/dedupe.js';
import type { PgState } from '../../state/postgres.js';
import { num, PgSql, type SqlDb, SqliteSql } from '../../state/sql.js';
import { openSqlite } from '../../state/sqlite.js';
import { CHAT_MIGRATIONS } from './store-schema.js';
import type { OutboundOp } from './types.js';

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

/** What one claim of the outbox gave this sender. */
export interface OutboxClaim {
  /** Head operations of channels now claimed by this sender (each until released or `claimMs` passed). */
  rows: OutboxRow[];
  /** The earliest time another head becomes due (pacing, backoff), if any is waiting. */
  wakeAt?: number;
}

export const newKey = () => `m_${randomBytes(8).toString('hex')}`;

/** The chat core's store; every call is a promise, whichever backend holds it. */
export interface ChatStore {
  /** Forgets delivered and dropped operations older than `ms`; keys newer still stop a repeated post. */
  prune(ms: number): Promise<number>;
  /** True the first time an event id is seen; platforms retry deliveries, each is handled once. */
  firstSight(eventId: string): Promise<boolean>;
  enqueue(op: OutboundOp): Promise<number>;
  /** The oldest pending operation of each channel (claimed or not). */
  heads(): Promise<OutboxRow[]>;
  /**
   * Claims the channels whose head operation is due (its own next time, and for posts the channel's
   * pacing `intervalMs` after its last post) and that no live claim holds; one operation per channel,
   * in order, across every sender sharing the store. `now` (tests) defaults to the time the claim
   * takes its locks, so time spent waiting for them never shortens the pacing.
   */
  claim(owner: string, claimMs: number, intervalMs: number, now?: number): Promise<OutboxClaim>;
  /**
   * Releases every channel claim of this platform (a process that was killed left them); only for
   * a store no other sender uses at the time. Resolves with how many there were.
   */
  releaseClaims(): Promise<number>;
  /**
   * Gives a channel's claim back (after its head was settled), with the time the post began if one
   * did: the channel's next post is paced from then (the claim only took a provisional time).
   */
  release(channel: string, owner: string, postedAt?: number): Promise<void>;
  pendingCount(): Promise<number>;
  /** An attempt is about to begin: until it is settled, a restart must ask whether it landed. */
  markSending(seq: number): Promise<void>;
  delivered(seq: number, messageId?: string): Promise<void>;
  retry(seq: number, nextAt: number, error: string): Promise<void>;
  dropped(seq: number, error: string): Promise<void>;
  /** The platform id of a message the outbox posted under `key`, once it is out. */
  messageIdOf(key: string): Promise<string | undefined>;
  /** The channel of a message this outbox posted, by its platform id: a press on it acts there. */
  channelOfPost(messageId: string): Promise<string | undefined>;
  /** Whether anything was ever enqueued under this key (sent, pending or dropped). */
  hasKey(key: string): Promise<boolean>;
  /** The posted key, if the message is a post this outbox made. */
  keyOf(messageId: string): Promise<string | undefined>;
  agentThread(place: string, principalId: string): Promise<string | undefined>;
  setAgentThread(place: string, principalId: string, agentThread: string): Promise<void>;
  /** True once per run: a decided ticket's run is resumed by one of the surfaces that notice it. */
  claimResume(runId: string): Promise<boolean>;
  /** Kubemate was addressed in this thread: later replies in it are for it, with or without a mention. */
  join(place: string): Promise<void>;
  joined(place: string): Promise<boolean>;
  saveCard(card: CardRecord): Promise<void>;
  /** Records the ticket status a card was last drawn with. */
  cardDrawn(ticketId: string, status: string): Promise<void>;
  /** Cards last drawn while their ticket could still change: the expiry sweep looks at these. */
  openCards(): Promise<CardRecord[]>;
  card(ticketId: string): Promise<CardRecord | undefined>;
  close(): void;
}

interface Row {
  seq: number | string;
  channel: string;
  key: string;
  op_json: string;
  attempts: number;
  next_at: number | string;
  sending: number;
  created_at: number | string;
}

interface CardRow {
  ticket_id: string;
  channel: string;
  key: string;
  thread: string | null;
  run_id: string | null;
}

const toRow = (r: Row): OutboxRow => ({
  seq: num(r.seq),
  channel: r.channel,
  key: r.key,
  op: JSON.parse(r.op_json),
  attempts: r.attempts,
  nextAt: num(r.next_at),
  sending: r.sending === 1,
  createdAt: num(r.created_at),
});

const toCard = (r: CardRow): CardRecord => ({
  ticketId: r.ticket_id,
  channel: r.channel,
  key: r.key,
  ...(r.thread ? { thread: r.thread } : {}),
  ...(r.run_id ? { runId: r.run_id } : {}),
});

const isPost = (op: OutboundOp) => op.op === 'post' || op.op === 'upload';

const HEADS = `SELECT o.* FROM chat_channels c
  JOIN chat_outbox o ON o.seq = (SELECT MIN(p.seq) FROM chat_outbox p
    WHERE p.platform = c.platform AND p.channel = c.channel AND p.status = 'pending')
  WHERE c.platform = ?`;

class SqlChatStore implements ChatStore {
  constructor(
    private readonly sql: SqlDb,
    /** '' in a SQLite file (one platform per file); the platform's name on PostgreSQL. */
    private readonly platform: string,
    private readonly seen: (eventId: string) => Promise<boolean>,
  ) {}

  close(): void {
    this.sql.close();
  }

  private all<R>(op: string, sql: string, params: unknown[]): Promise<R[]> {
    return this.sql.op(op, (q) => q.all<R>(sql, params));
  }

  private get<R>(op: string, sql: string, params: unknown[]): Promise<R | undefined> {
    return this.sql.op(op, (q) => q.get<R>(sql, params));
  }

  private run(op: string, sql: string, params: unknown[]): Promise<number> {
    return this.sql.op(op, (q) => q.run(sql, params));
  }

  async prune(ms: number): Promise<number> {
    return this.run(
      'prune',
      `DELETE FROM chat_outbox WHERE platform = ? AND status IN ('sent', 'dropped') AND created_at > 0
         AND created_at < ?`,
      [this.platform, Date.now() - ms],
    );
  }

  firstSight(eventId: string): Promise<boolean> {
    return this.seen(eventId);
  }

  async enqueue(op: OutboundOp): Promise<number> {
    const channel = isPost(op) ? op.place.channel : op.channel;
    const key = op.op === 'update-ref' ? op.messageId : op.key;
    const now = Date.now();
    // The channel's row first: a claim never sees a message whose channel it cannot lock.
    await this.run(
      'enqueue',
      'INSERT INTO chat_channels (platform, channel) VALUES (?, ?) ON CONFLICT DO NOTHING',
      [this.platform, channel],
    );
    const row = await this.get<{ seq: number | string }>(
      'enqueue',
      `INSERT INTO chat_outbox (platform, channel, key, kind, op_json, next_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      [this.platform, channel, key, op.op, JSON.stringify(op), now, now],
    );
    return Number(row!.seq);
  }

  async heads(): Promise<OutboxRow[]> {
    return (await this.all<Row>('heads', `${HEADS} ORDER BY o.next_at`, [this.platform])).map(toRow);
  }

  releaseClaims(): Promise<number> {
    return this.run(
      'release_claims',
      'UPDATE chat_channels SET claimed_by = NULL, claimed_until = 0 WHERE platform = ? AND claimed_by IS NOT NULL',
      [this.platform],
    );
  }

  claim(owner: string, claimMs: number, intervalMs: number, at?: number): Promise<OutboxClaim> {
    // PostgreSQL: replicas claiming at once skip each other's channel rows instead of waiting on them.
    // SQLite: the transaction holds the file's write lock.
    return this.sql.tx('claim', async (q) => {
      const now = at ?? Date.now();
      const free = await q.all<{ channel: string; last_post_at: number | string }>(
        `SELECT c.channel, c.last_post_at FROM chat_channels c
         WHERE c.platform = ? AND c.claimed_until <= ? AND EXISTS (SELECT 1 FROM chat_outbox p
           WHERE p.platform = c.platform AND p.channel = c.channel AND p.status = 'pending')${q.skipLocked}`,
        [this.platform, now],
      );
      const out: OutboxClaim = { rows: [] };
      if (free.length === 0) return out;
      // The heads are read after the channels are locked, in a statement of their own: on PostgreSQL
      // a row lock waited for shows the newest channel row, but a join in the same statement would
      // still show the head from before the wait (one another sender may have sent meanwhile).
      const lastPost = new Map(free.map((c) => [c.channel, Number(c.last_post_at)]));
      const heads = await q.all<Row>(
        `SELECT * FROM chat_outbox WHERE seq IN (SELECT MIN(seq) FROM chat_outbox
           WHERE platform = ? AND status = 'pending' AND channel IN (${free.map(() => '?').join(', ')})
           GROUP BY channel)`,
        [this.platform, ...free.map((c) => c.channel)],
      );
      for (const head of heads) {
        const row = toRow(head);
        const posts = isPost(row.op);
        const last = lastPost.get(row.channel) ?? 0;
        const due = Math.max(row.nextAt, posts ? last + intervalMs : 0);
        if (due > now) {
          out.wakeAt = Math.min(out.wakeAt ?? due, due);
          continue;
        }
        // Posts are paced from now until the release says when the post really began.
        await q.run(
          `UPDATE chat_channels SET claimed_by = ?, claimed_until = ?, last_post_at = ?
           WHERE platform = ? AND channel = ?`,
          [owner, now + claimMs, posts ? now : last, this.platform, row.channel],
        );
        out.rows.push(row);
      }
      return out;
    });
  }

  async release(channel: string, owner: string, postedAt?: number): Promise<void> {
    await this.run(
      'release',
      `UPDATE chat_channels SET claimed_by = NULL, claimed_until = 0, last_post_at = COALESCE(?, last_post_at)
       WHERE platform = ? AND channel = ? AND claimed_by = ?`,
      [postedAt ?? null, this.platform, channel, owner],
    );
  }

  async pendingCount(): Promise<number> {
    const row = await this.get<{ n: number | string }>(
      'pending_count',
      "SELECT COUNT(*) AS n FROM chat_outbox WHERE platform = ? AND status = 'pending'",
      [this.platform],
    );
    return num(row?.n);
  }

  async markSending(seq: number): Promise<void> {
    await this.run('mark_sending', 'UPDATE chat_outbox SET sending = 1 WHERE seq = ?', [seq]);
  }

  async delivered(seq: number, messageId?: string): Promise<void> {
    await this.run(
      'delivered',
      "UPDATE chat_outbox SET status = 'sent', message_id = ?, attempts = attempts + 1 WHERE seq = ?",
      [messageId ?? null, seq],
    );
  }

  async retry(seq: number, nextAt: number, error: string): Promise<void> {
    await this.run(
      'retry',
      'UPDATE chat_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ?',
      [nextAt, error.slice(0, 500), seq],
    );
  }

  async dropped(seq: number, error: string): Promise<void> {
    await this.run('dropped', "UPDATE chat_outbox SET status = 'dropped', last_error = ? WHERE seq = ?", [
      error.slice(0, 500),
      seq,
    ]);
  }

  async messageIdOf(key: string): Promise<string | undefined> {
    const row = await this.get<{ message_id: string }>(
      'message_id_of',
      `SELECT message_id FROM chat_outbox WHERE platform = ? AND key = ? AND status = 'sent'
         AND message_id IS NOT NULL`,
      [this.platform, key],
    );
    return row?.message_id;
  }

  async channelOfPost(messageId: string): Promise<string | undefined> {
    const row = await this.get<{ channel: string }>(
      'channel_of_post',
      "SELECT channel FROM chat_outbox WHERE platform = ? AND message_id = ? AND status = 'sent' AND kind = 'post'",
      [this.platform, messageId],
    );
    return row?.channel;
  }

  async hasKey(key: string): Promise<boolean> {
    const row = await this.get(
      'has_key',
      'SELECT 1 AS one FROM chat_outbox WHERE platform = ? AND key = ? LIMIT 1',
      [this.platform, key],
    );
    return row !== undefined;
  }

  async keyOf(messageId: string): Promise<string | undefined> {
    const row = await this.get<{ key: string }>(
      'key_of',
      'SELECT key FROM chat_outbox WHERE platform = ? AND message_id = ? LIMIT 1',
      [this.platform, messageId],
    );
    return row?.key;
  }

  async agentThread(place: string, principalId: string): Promise<string | undefined> {
    const row = await this.get<{ agent_thread: string }>(
      'agent_thread',
      'SELECT agent_thread FROM chat_threads WHERE platform = ? AND place = ? AND principal_id = ?',
      [this.platform, place, principalId],
    );
    return row?.agent_thread;
  }

  async setAgentThread(place: string, principalId: string, agentThread: string): Promise<void> {
    await this.run(
      'set_agent_thread',
      `INSERT INTO chat_threads (platform, place, principal_id, agent_thread) VALUES (?, ?, ?, ?)
       ON CONFLICT (platform, place, principal_id) DO UPDATE SET agent_thread = excluded.agent_thread`,
      [this.platform, place, principalId, agentThread],
    );
  }

  async claimResume(runId: string): Promise<boolean> {
    const changed = await this.run(
      'claim_resume',
      'INSERT INTO chat_resumed (platform, run_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [this.platform, runId, Date.now()],
    );
    return changed === 1;
  }

  async join(place: string): Promise<void> {
    await this.run(
      'join',
      'INSERT INTO chat_joined (platform, place, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [this.platform, place, Date.now()],
    );
  }

  async joined(place: string): Promise<boolean> {
    const row = await this.get(
      'joined',
      'SELECT 1 AS one FROM chat_joined WHERE platform = ? AND place = ?',
      [this.platform, place],
    );
    return row !== undefined;
  }

  async saveCard(card: CardRecord): Promise<void> {
    await this.run(
      'save_card',
      `INSERT INTO chat_cards (platform, ticket_id, channel, key, thread, run_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (platform, ticket_id) DO UPDATE SET channel = excluded.channel, key = excluded.key,
         thread = excluded.thread, run_id = excluded.run_id`,
      [this.platform, card.ticketId, card.channel, card.key, card.thread ?? null, card.runId ?? null],
    );
  }

  async cardDrawn(ticketId: string, status: string): Promise<void> {
    await this.run(
      'card_drawn',
      `INSERT INTO chat_card_views (platform, ticket_id, status) VALUES (?, ?, ?)
       ON CONFLICT (platform, ticket_id) DO UPDATE SET status = excluded.status`,
      [this.platform, ticketId, status],
    );
  }

  async openCards(): Promise<CardRecord[]> {
    const rows = await this.all<CardRow>(
      'open_cards',
      `SELECT c.* FROM chat_cards c
         LEFT JOIN chat_card_views v ON v.platform = c.platform AND v.ticket_id = c.ticket_id
       WHERE c.platform = ? AND (v.status IS NULL OR v.status IN ('pending', 'approved', 'executing'))`,
      [this.platform],
    );
    return rows.map(toCard);
  }

  async card(ticketId: string): Promise<CardRecord | undefined> {
    const row = await this.get<CardRow>(
      'card',
      'SELECT * FROM chat_cards WHERE platform = ? AND ticket_id = ?',
      [this.platform, ticketId],
    );
    return row ? toCard(row) : undefined;
  }
}

const SEEN_MS = 24 * 3600_000;

/** The chat store in a SQLite file (one per platform, `<dataDir>/<platform>.db`): the embedded default. */
export function sqliteChatStore(path: string): ChatStore {
  const sql = new SqliteSql(openSqlite(path), 'chat', CHAT_MIGRATIONS);
  return new SqlChatStore(sql, '', (eventId) =>
    sql.op('first_sight', async (q) => {
      const now = Date.now();
      await q.run('DELETE FROM chat_seen WHERE at < ?', [now - SEEN_MS]);
      return (
        (await q.run('INSERT INTO chat_seen (event_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING', [
          eventId,
          now,
        ])) === 1
      );
    }),
  );
}

/** One platform's chat store in the PostgreSQL every replica shares (its schema migrated before use). */
export function pgChatStore(state: PgState, platform: string): ChatStore {
  const sql = new PgSql(state, 'chat', CHAT_MIGRATIONS);
  const dedupe = PgEventDedupe.open(state);
  dedupe.catch(() => undefined); // reported to each firstSight
  return new SqlChatStore(sql, platform, async (eventId) => (await dedupe).firstSight(eventId));
}

/** The chat store for the app's state: PostgreSQL when the app has one, else the platform's SQLite file. */
export function openChatStore(pgState: PgState | undefined, platform: string, path: string): ChatStore {
  return pgState ? pgChatStore(pgState, platform) : sqliteChatStore(path);
}
