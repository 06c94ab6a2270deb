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
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  perChannelIntervalMs: 1000,
  maxAttempts: 20,
  backoffBaseMs: 500,
  backoffMaxMs: 60_000,
};

/**
 * Delivers what the core enqueued, from the durable store: in order per channel (an update never
 * overtakes the post it updates), at most one operation in flight per channel, posts spaced by the
 * channel interval, Retry-After honoured. What is pending when the process stops goes out after a restart.
 */
export class Outbox {
  private readonly busy = new Set<string>();
  private readonly lastPost = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly idle: Array<() => void> = [];

  constructor(
    private readonly store: ChatStore,
    private readonly transport: ChatTransport,
    private readonly logger: Logger,
    private readonly options: OutboxOptions = DEFAULT_OUTBOX,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Something was enqueued or finished: look again now. */
  kick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => this.pump());
  }

  /** Resolves when nothing is pending (tests, shutdown). */
  drained(): Promise<void> {
    if (this.store.pendingCount() === 0 && this.busy.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    let wake = Number.POSITIVE_INFINITY;
    for (const row of this.store.heads()) {
      if (this.busy.has(row.channel)) continue;
      const last = this.lastPost.get(row.channel) ?? 0;
      const earliest = Math.max(
        row.nextAt,
        row.op.op === 'post' || row.op.op === 'upload' ? last + this.options.perChannelIntervalMs : 0,
      );
      if (earliest > now) {
        wake = Math.min(wake, earliest);
        continue;
      }
      this.busy.add(row.channel);
      void this.deliver(row).finally(() => {
        this.busy.delete(row.channel);
        this.kick();
      });
    }
    if (this.busy.size === 0 && this.store.pendingCount() === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
    if (Number.isFinite(wake)) {
      this.timer = setTimeout(() => this.pump(), Math.max(5, wake - now));
      this.timer.unref();
    }
  }

  /** A place in the thread of a message posted under a key: that message's id, once out (else the channel). */
  private resolve(place: Place): Place {
    if (!place.threadOf || place.thread) return place;
    const root = this.store.messageIdOf(place.threadOf);
    return { channel: place.channel, ...(root ? { thread: root } : {}) };
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const { op } = row;
    try {
      if (op.op === 'post') {
        const place = this.resolve(op.place);
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
            this.store.delivered(row.seq, found);
            return;
          }
        }
        this.lastPost.set(row.channel, Date.now());
        this.store.markSending(row.seq);
        const { messageId } = await this.transport.post(place, op.message, row.key);
        this.store.delivered(row.seq, messageId);
        return;
      }
      if (op.op === 'upload') {
        this.lastPost.set(row.channel, Date.now());
        await this.transport.upload(this.resolve(op.place), op.file);
        this.store.delivered(row.seq);
        return;
      }
      const messageId = op.op === 'update' ? this.store.messageIdOf(op.key) : op.messageId;
      if (!messageId) throw new Undeliverable(`the message to update (${row.key}) was never posted`);
      await this.transport.update(op.channel, messageId, op.message);
      this.store.delivered(row.seq);
    } catch (e) {
      const error = (e as Error)?.message ?? String(e);
      if (e instanceof Undeliverable || row.attempts + 1 >= this.options.maxAttempts) {
        this.store.dropped(row.seq, error);
        this.logger.error({ channel: row.channel, op: op.op, error }, 'chat message given up');
        return;
      }
      const wait =
        e instanceof RetryLater
          ? e.retryAfterMs
          : Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** row.attempts);
      this.store.retry(row.seq, Date.now() + wait, error);
      this.logger.warn(
        { channel: row.channel, op: op.op, error, retryInMs: wait },
        'chat message will be retried',
      );
    }
  }
}
