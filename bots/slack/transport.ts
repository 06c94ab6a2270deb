import { webApi } from '@slack/bolt';
import {
  type ChatFile,
  type ChatTransport,
  type OutMessage,
  type Place,
  RetryLater,
  Undeliverable,
} from '../core/types.js';
import { render } from './render.js';

const { ErrorCode, WebClient } = webApi;
type WebClient = webApi.WebClient;
type WebClientOptions = webApi.WebClientOptions;

/** The metadata event type that carries the outbox key of a message Kubemate posted. */
const OUTBOX_EVENT = 'kubemate_outbox';

/** Errors Slack will repeat however often we try. */
const FINAL = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'invalid_blocks',
  'message_not_found',
  'cant_update_message',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'missing_scope',
]);

/** Maps Web API failures to the outbox's retry classes. */
export function classify(e: unknown): Error {
  const err = e as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
  if (err.code === ErrorCode.RateLimitedError) {
    return new RetryLater(`rate limited by Slack`, Math.max(1, err.retryAfter ?? 1) * 1000);
  }
  if (err.code === ErrorCode.PlatformError && err.data?.error && FINAL.has(err.data.error)) {
    return new Undeliverable(`Slack refused: ${err.data.error}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Slack's Web API as the outbox's transport: its own retries are off, the outbox retries durably. */
export function slackWebClient(token: string, options: WebClientOptions = {}): WebClient {
  return new WebClient(token, {
    ...options,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
}

export class SlackTransport implements ChatTransport {
  readonly platform = 'slack';

  constructor(private readonly client: WebClient) {}

  async post(place: Place, message: OutMessage, key?: string): Promise<{ messageId: string }> {
    try {
      const r = await this.client.chat.postMessage({
        channel: place.channel,
        ...(place.thread ? { thread_ts: place.thread } : {}),
        ...render(message),
        unfurl_links: false,
        unfurl_media: false,
        // The outbox key travels with the message, so a retry can find what an earlier attempt posted.
        ...(key ? { metadata: { event_type: OUTBOX_EVENT, event_payload: { key } } } : {}),
      });
      if (!r.ts) throw new Error('chat.postMessage answered without a ts');
      return { messageId: r.ts };
    } catch (e) {
      throw classify(e);
    }
  }

  async update(channel: string, messageId: string, message: OutMessage): Promise<void> {
    try {
      await this.client.chat.update({ channel, ts: messageId, ...render(message) });
    } catch (e) {
      throw classify(e);
    }
  }

  /** conversations.history (or .replies in a thread) with metadata: a message this outbox posted under `key`. */
  async findPosted(place: Place, key: string, sinceMs: number): Promise<string | undefined> {
    const oldest = (Math.max(0, sinceMs) / 1000).toFixed(6);
    try {
      const page = place.thread
        ? await this.client.conversations.replies({
            channel: place.channel,
            ts: place.thread,
            oldest,
            limit: 200,
            include_all_metadata: true,
          })
        : await this.client.conversations.history({
            channel: place.channel,
            oldest,
            limit: 200,
            include_all_metadata: true,
          });
      const mine = (page.messages ?? []).find(
        (m) =>
          m.metadata?.event_type === OUTBOX_EVENT &&
          (m.metadata.event_payload as { key?: unknown })?.key === key,
      );
      return mine?.ts;
    } catch (e) {
      throw classify(e);
    }
  }

  /** files.uploadV2: an upload URL (files.getUploadURLExternal), the bytes, then files.completeUploadExternal into the thread. */
  async upload(place: Place, file: ChatFile): Promise<void> {
    try {
      const content = { file: Buffer.from(file.data, 'base64'), filename: file.name, title: file.title };
      await this.client.filesUploadV2(
        place.thread
          ? { ...content, channel_id: place.channel, thread_ts: place.thread }
          : { ...content, channel_id: place.channel },
      );
    } catch (e) {
      throw classify(e);
    }
  }
}
