import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../../tools/core/logger.js';
import type { ChatStore, OutboxRow } from './store.js';
import { type ChatTransport, type Place, RetryLater, Undeliverable } from './types.js';

export interface OutboxOptions {
  /** Least time between two posts in one channel (Slack: about one message per second). */
  perChannelIntervalMs: number;
  /** Attempts before a message is given up (logged; it stays in the store as dropped). */
  maxAttempts: number;
  /** Backoff for failures that name no wait: base × 2^attempts, capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * How long a sender's claim on a channel lasts: a sender that stops mid-send (killed) holds the
   * channel this long, then another takes it and asks the platform whether the post landed. Longer
   * than any platform call takes.
   */
  claimMs: number;
  /** How often the store is looked at when nothing woke this sender (others enqueue on other replicas). */
  pollMs: number;
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  perChannelIntervalMs: 1000,
  maxAttempts: 20,
  backoffBaseMs: 500,
  backoffMaxMs: 60_000,
  claimMs: 120_000,
  pollMs: 1000,
};

/**
 * Delivers what the core enqueued, from the durable store: in order per channel (an update never
 * overtakes the post it updates), at most one operation in flight per channel, posts spaced by the
 * channel interval, Retry-After honoured. What is pending when the process stops goes out after a
 * restart. Several senders (replicas) may drain one store: each claims a channel's head in the
 * store before sending it, so every message goes out once and in order, paced as one.
 */
export class Outbox {
  private readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly busy = new Set<string>();
  /** Deliveries under way, awaited by `stop()` so none is cut off between the post and its record. */
  private readonly sending = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping = false;
  private again = false;
  private readonly idle: Array<() => void> = [];

  constructor(
    private readonly store: ChatStore,
    private readonly transport: ChatTransport,
    private readonly logger: Logger,
    options: Partial<OutboxOptions> = {},
  ) {
    this.options = { ...DEFAULT_OUTBOX, ...options };
  }
  private readonly options: OutboxOptions;

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /**
   * Takes nothing more, and resolves when the deliveries under way are settled and recorded (their
   * channels released for other senders), so the store can be closed after it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending.size) await Promise.allSettled([...this.sending]);
  }

  /** Something was enqueued or finished: look again now. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => void this.pump());
  }

  /** Resolves when nothing is pending (tests, shutdown), whichever sender delivered it. */
  async drained(): Promise<void> {
    if (this.busy.size === 0 && (await this.store.pendingCount()) === 0) return;
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    const now = Date.now();
    let wake = now + this.options.pollMs;
    try {
      // A sender that cannot send now claims nothing: the messages stay for the one that can.
      const { rows, wakeAt } =
        this.transport.ready?.() === false
          ? { rows: [], wakeAt: undefined }
          : await this.store.claim(this.owner, this.options.claimMs, this.options.perChannelIntervalMs);
      if (wakeAt !== undefined) wake = Math.min(wake, wakeAt);
      for (const row of rows) {
        this.busy.add(row.channel);
        const began: { at?: number } = {};
        const sending: Promise<void> = this.deliver(row, began)
          .then(() => this.store.release(row.channel, this.owner, began.at))
          .catch((e: Error) =>
            this.logger.warn({ channel: row.channel, error: e.message }, 'chat: outbox store failed'),
          )
          .finally(() => {
            this.busy.delete(row.channel);
            this.sending.delete(sending);
            this.kick();
          });
        this.sending.add(sending);
      }
      if (this.busy.size === 0 && this.idle.length > 0 && (await this.store.pendingCount()) === 0) {
        for (const resolve of this.idle.splice(0)) resolve();
      }
    } catch (e) {
      this.logger.warn({ error: (e as Error).message }, 'chat: outbox store unavailable, will look again');
    } finally {
      this.pumping = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.kick();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pump(), Math.max(5, wake - Date.now()));
    this.timer.unref();
  }

  /** A place in the thread of a message posted under a key: that message's id, once out (else the channel). */
  private async resolve(place: Place): Promise<Place> {
    if (!place.threadOf || place.thread) return place;
    const root = await this.store.messageIdOf(place.threadOf);
    return { channel: place.channel, ...(root ? { thread: root } : {}) };
  }

  /** Sends one operation and settles it in the store; `began.at` is when a post or upload was made. */
  private async deliver(row: OutboxRow, began: { at?: number }): Promise<void> {
    const { op } = row;
    try {
      if (op.op === 'post') {
        const place = await this.resolve(op.place);
        // An earlier attempt may have landed before the process stopped: ask before posting again.
        if (row.sending && this.transport.findPosted) {
          // If the platform cannot say (no history scope, an outage), posting again beats losing it.
          const found = await this.transport
            .findPosted(place, row.key, row.createdAt - 60_000)
            .catch((e: Error) => {
              this.logger.warn(
                { channel: row.channel, error: e.message },
                'chat: could not check an earlier attempt',
              );
              return undefined;
            });
          if (found) {
            await this.store.delivered(row.seq, found);
            return;
          }
        }
        await this.store.markSending(row.seq);
        began.at = Date.now();
        const { messageId } = await this.transport.post(place, op.message, row.key);
        await this.store.delivered(row.seq, messageId);
        return;
      }
      if (op.op === 'upload') {
        const place = await this.resolve(op.place);
        began.at = Date.now();
        await this.transport.upload(place, op.file);
        await this.store.delivered(row.seq);
        return;
      }
      const messageId = op.op === 'update' ? await this.store.messageIdOf(op.key) : op.messageId;
      if (!messageId) throw new Undeliverable(`the message to update (${row.key}) was never posted`);
      await this.transport.update(op.channel, messageId, op.message);
      await this.store.delivered(row.seq);
    } catch (e) {
      const error = (e as Error)?.message ?? String(e);
      if (e instanceof Undeliverable || row.attempts + 1 >= this.options.maxAttempts) {
        await this.store.dropped(row.seq, error);
        this.logger.error({ channel: row.channel, op: op.op, error }, 'chat message given up');
        return;
      }
      const wait =
        e instanceof RetryLater
          ? e.retryAfterMs
          : Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** row.attempts);
      await this.store.retry(row.seq, Date.now() + wait, error);
      this.logger.warn(
        { channel: row.channel, op: op.op, error, retryInMs: wait },
        'chat message will be retried',
      );
    }
  }
}
