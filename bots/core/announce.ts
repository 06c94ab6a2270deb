/**
 * Kubemate's own posts (a scheduled inspection report, a missed run, a canary step) on any chat
 * platform, through that platform's durable outbox, rendered within what the platform allows: the
 * text split at its length limit (between paragraphs or lines, never inside a citation), the parts
 * after the first in the first one's thread where the platform has threads, and on a platform
 * without threads each part naming what it is about, as alert threads do there. A file goes as a
 * file where the platform can share one; elsewhere the post says what stands in for it.
 */
import { type CoreContext, send } from './context.js';
import { type ChatPlatform, PLATFORM_TRAITS } from './platforms.js';
import { splitText } from './split.js';
import { newKey } from './store.js';
import type { ChatFile, Place } from './types.js';

export interface Announcement {
  text: string;
  /** What the post is about (`[inspection daily]`), on every part where there are no threads. */
  tag: string;
  file?: ChatFile;
  /**
   * Said once, at the end of the text, on a platform that cannot share files (DingTalk): where to
   * find what the file would have been, or that there is nowhere.
   */
  instead?: string;
}

export async function announce(
  ctx: CoreContext,
  platform: ChatPlatform,
  place: Place,
  a: Announcement,
): Promise<void> {
  const traits = PLATFORM_TRAITS[platform];
  const text = !traits.files && a.instead ? `${a.text}\n${a.instead}` : a.text;
  const tagged = !traits.threads;
  // Room for the tag and a part counter ("[inspection daily] (2/3)") on each part that carries them.
  const room = traits.textBytes - (tagged ? Buffer.byteLength(a.tag, 'utf8') + 16 : 0);
  const parts = splitText(text, room);
  let first: string | undefined;
  // Enqueued one after another, so the outbox delivers them in this order.
  for (const [i, part] of parts.entries()) {
    const counter = parts.length > 1 ? ` (${i + 1}/${parts.length})` : '';
    const key = newKey();
    const where: Place =
      traits.threads && first && !place.thread ? { channel: place.channel, threadOf: first } : place;
    await send(ctx, {
      op: 'post',
      place: where,
      message: { text: tagged ? `${a.tag}${counter}\n${part}` : part },
      key,
    });
    first ??= key;
  }
  if (a.file && traits.files) await send(ctx, { op: 'upload', place, file: a.file, key: newKey() });
}
