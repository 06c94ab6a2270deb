import type { Agent } from '../../agent/index.js';
import type { AuditSink } from '../../policies/types.js';
import type { EventDedupe } from '../../state/dedupe.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import type { Logger } from '../../tools/core/logger.js';
import type { ChannelGuard } from './channel-guard.js';
import type { Outbox } from './outbox.js';
import { type ChatStore, newKey } from './store.js';
import type { ChannelBinding, OutboundOp, OutMessage, Place } from './types.js';

/** An image a tool returned (base64 PNG). */
export interface ChartImage {
  data: string;
  mimeType: string;
}

/** What the core's parts share: the one pipeline, the agent, the store and the outbox. */
export interface CoreContext {
  platform: string;
  /** The channel-guarded pipeline (`guard.pipeline`): every call the chat surface makes goes through it. */
  pipeline: ToolPipeline;
  guard: ChannelGuard;
  agent: () => Agent;
  audit: AuditSink;
  /** Event dedupe shared by replicas (PostgreSQL), after the bot's own store's. */
  dedupe?: EventDedupe;
  store: ChatStore;
  outbox: Outbox;
  logger: Logger;
  binding(channel: string): ChannelBinding;
}

/** Enqueues durably and wakes the outbox. Returns the key an update can name. */
export function send(ctx: CoreContext, op: OutboundOp): void {
  ctx.store.enqueue(op);
  ctx.outbox.kick();
}

export function post(ctx: CoreContext, place: Place, message: OutMessage): string {
  const key = newKey();
  send(ctx, { op: 'post', place, message, key });
  return key;
}

/** Shares the images a tool returned (charts) in the place, after what was said there. */
export function upload(ctx: CoreContext, place: Place, images: readonly ChartImage[], title: string): void {
  images.forEach((image, i) => {
    send(ctx, {
      op: 'upload',
      place,
      key: newKey(),
      file: {
        name: `chart-${i + 1}.png`,
        title: images.length > 1 ? `${title} (${i + 1}/${images.length})` : title,
        mimeType: image.mimeType,
        data: image.data,
      },
    });
  });
}

export function update(ctx: CoreContext, channel: string, key: string, message: OutMessage): void {
  send(ctx, { op: 'update', channel, key, message });
}
