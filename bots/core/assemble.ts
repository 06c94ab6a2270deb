import { join } from 'node:path';
import type { Agent } from '../../agent/index.js';
import type { AuditSink } from '../../policies/types.js';
import type { EventDedupe } from '../../state/dedupe.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import type { Logger } from '../../tools/core/logger.js';
import { ChannelGuard } from './channel-guard.js';
import { ChatCore } from './core.js';
import { DEFAULT_OUTBOX, Outbox, type OutboxOptions } from './outbox.js';
import { ChatStore } from './store.js';
import type { ChannelBinding, ChatTransport } from './types.js';

/** What every platform's bot needs from the app, whatever carries its messages. */
export interface ChatBotBase {
  dataDir: string;
  outbox?: Partial<OutboxOptions>;
  pipeline: ToolPipeline;
  /** The agent that answers questions, built on the pipeline given: the chat core's channel-guarded one. */
  agent: (pipeline: ToolPipeline) => Agent;
  /** How often cards are checked for tickets that expired or were decided elsewhere (default 30 s). */
  cardSweepMs?: number;
  /** Called once the bot has stopped (closes what `agent` opened). */
  onStop?: () => void;
  audit: AuditSink;
  /** Event dedupe shared by replicas (state.url: postgres://…); each bot's store dedupes on its own otherwise. */
  dedupe?: EventDedupe;
  logger: Logger;
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
  const store = new ChatStore(join(o.dataDir, dbFile));
  const logger = o.logger.child({ component: platform });
  const outbox = new Outbox(store, transport(logger), logger, { ...DEFAULT_OUTBOX, ...o.outbox });
  const guard = new ChannelGuard(o.pipeline);
  const core = new ChatCore({
    platform,
    pipeline: guard.pipeline,
    guard,
    agent: () => o.agent(guard.pipeline),
    audit: o.audit,
    ...(o.dedupe ? { dedupe: o.dedupe } : {}),
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
    start() {
      store.prune(KEEP_DELIVERED_MS);
      outbox.start();
      core.startSweep(o.cardSweepMs ?? 30_000);
    },
    /** After the platform's own transport stopped taking events: finish the work, then close. */
    async stop() {
      core.stopSweep();
      await core.settled();
      outbox.stop();
      store.close();
      o.onStop?.();
    },
  };
}
