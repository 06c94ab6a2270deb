import { join } from 'node:path';
import type { Agent } from '../../agent/index.js';
import type { AuditSink } from '../../policies/types.js';
import type { PgState } from '../../state/postgres.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import type { Logger } from '../../tools/core/logger.js';
import { ChannelGuard } from './channel-guard.js';
import { ChatCore } from './core.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { openChatStore } from './store.js';
import type { ChannelBinding, ChatFile, ChatTransport, Place } from './types.js';

/** What every platform's bot needs from the app, whatever carries its messages. */
export interface ChatBotBase {
  dataDir: string;
  /** The state every replica shares, when `state.url` is PostgreSQL; else the store is a file in dataDir. */
  pgState?: PgState;
  outbox?: Partial<OutboxOptions>;
  pipeline: ToolPipeline;
  /** The agent that answers questions, built on the pipeline given: the chat core's channel-guarded one. */
  agent: (pipeline: ToolPipeline) => Agent;
  /** How often cards are checked for tickets that expired or were decided elsewhere (default 30 s). */
  cardSweepMs?: number;
  /** Called once the bot has stopped (closes what `agent` opened). */
  onStop?: () => void;
  audit: AuditSink;
  logger: Logger;
}

/** A platform's transport with its uploads done by `upload` instead (a kind of file it does not send itself). */
export function withFileUpload(
  transport: ChatTransport,
  upload: (place: Place, file: ChatFile) => Promise<void>,
): ChatTransport {
  return {
    platform: transport.platform,
    post: (place, message, key) => transport.post(place, message, key),
    ...(transport.findPosted
      ? { findPosted: (place: Place, key: string, since: number) => transport.findPosted!(place, key, since) }
      : {}),
    update: (channel, messageId, message) => transport.update(channel, messageId, message),
    upload,
  };
}

/** Delivered messages are kept a week: long enough that a repeated cause never posts twice. */
const KEEP_DELIVERED_MS = 7 * 24 * 3600_000;

/**
 * One platform's chat core, assembled the same way for every platform: its own store (so one
 * platform's outbox never sends another's messages), the durable outbox over the platform's
 * transport, the channel guard around the pipeline, and the start and stop every bot shares.
 */
export function assembleChat(
  platform: string,
  o: ChatBotBase,
  dbFile: string,
  transport: (logger: Logger) => ChatTransport,
  binding: (channel: string) => ChannelBinding,
) {
  const store = openChatStore(o.pgState, platform, join(o.dataDir, dbFile));
  const logger = o.logger.child({ component: platform });
  const outbox = new Outbox(store, transport(logger), logger, o.outbox);
  const guard = new ChannelGuard(o.pipeline);
  const core = new ChatCore({
    platform,
    pipeline: guard.pipeline,
    guard,
    agent: () => o.agent(guard.pipeline),
    audit: o.audit,
    store,
    outbox,
    logger,
    binding,
  });
  return {
    core,
    outbox,
    store,
    logger,
    async start() {
      void store
        .prune(KEEP_DELIVERED_MS)
        .catch((e: Error) => logger.warn({ error: e.message }, 'chat: could not prune the outbox'));
      // A SQLite data folder has one process at a time: claims left by one that was killed are
      // stale, and would hold their channels for the claim time. Replicas sharing PostgreSQL wait.
      if (!o.pgState) {
        const released = await store.releaseClaims();
        if (released) logger.info({ released }, 'chat: channels claimed by a stopped process released');
      }
      outbox.start();
      core.startSweep(o.cardSweepMs ?? 30_000);
    },
    /** After the platform's own transport stopped taking events: finish the work, then close. */
    async stop() {
      core.stopSweep();
      await core.settled();
      await outbox.stop();
      store.close();
      o.onStop?.();
    },
  };
}
