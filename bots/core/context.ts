import type { Agent } from '../../agent/index.js';
import type { AuditSink } from '../../policies/types.js';
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
  store: ChatStore;
  outbox: Outbox;
  logger: Logger;
  binding(channel: string): ChannelBinding;
}

/** Enqueues durably and wakes the outbox. Returns the key an update can name. */
export async function send(ctx: CoreContext, op: OutboundOp): Promise<void> {
  await ctx.store.enqueue(op);
  ctx.outbox.kick();
}

export async function post(ctx: CoreContext, place: Place, message: OutMessage): Promise<string> {
  const key = newKey();
  await send(ctx, { op: 'post', place, message, key });
  return key;
}

/** Shares the images a tool returned (charts) in the place, after what was said there. */
export async function upload(
  ctx: CoreContext,
  place: Place,
  images: readonly ChartImage[],
  title: string,
): Promise<void> {
  for (const [i, image] of images.entries()) {
    await send(ctx, {
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
  }
}

export async function update(
  ctx: CoreContext,
  channel: string,
  key: string,
  message: OutMessage,
): Promise<void> {
  await send(ctx, { op: 'update', channel, key, message });
}
