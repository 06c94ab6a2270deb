import { assembleChat, type ChatBotBase } from '../core/assemble.js';
import type { ChatCore } from '../core/core.js';
import type { Outbox } from '../core/outbox.js';
import { RefusedDeliveries } from '../core/people.js';
import type { ChatStore } from '../core/store.js';
import type { ChannelBinding, InboundEvent } from '../core/types.js';
import { DingtalkApi } from './api.js';
import {
  cardCallbackSchema,
  normaliseCardPress,
  normaliseMessage,
  robotMessageSchema,
  type SessionWebhook,
  TOPIC_CARD,
  TOPIC_ROBOT,
} from './inbound.js';
import { StreamClient, type StreamFrame } from './stream.js';
import { DingtalkTransport } from './transport.js';
import { type DingtalkAnswer, handleDingtalkCallback, SeenSignatures } from './webhook.js';

export interface DingtalkBotOptions extends ChatBotBase {
  /** `stream`: an outbound WebSocket (no inbound URL needed); `http`: the robot callback at /dingtalk/callback. */
  mode: 'stream' | 'http';
  /** OpenAPI base (https://api.dingtalk.com); the Stream gateway is reached there too. */
  apiUrl: string;
  /** The only origin a session webhook may have (https://oapi.dingtalk.com). */
  webhookOrigin: string;
  /** AppKey (Client ID) and AppSecret (Client Secret) of the enterprise internal app. */
  clientId: string;
  clientSecret: string;
  /** The robot's code; for an enterprise internal app's robot it is the AppKey. */
  robotCode: string;
  /** The interactive card template for approval cards (docs/chat-dingtalk.md). */
  cardTemplateId: string;
  /** The interactive card template for messages with buttons (alert summaries); Stream mode only. */
  actionCardTemplateId?: string;
  chats: ChannelBinding[];
  defaultAllowWrites: boolean;
  now?: () => number;
}

export interface DingtalkBot {
  mode: 'stream' | 'http';
  core: ChatCore;
  outbox: Outbox;
  store: ChatStore;
  transport: DingtalkTransport;
  /** HTTP mode: one request to the robot's message receiving URL. */
  handle(raw: string, headers: Record<string, string | string[] | undefined>): DingtalkAnswer;
  /** Stream mode: one frame of a subscribed topic (what the SDK's listener is given); ACKed by the caller. */
  onFrame(frame: StreamFrame): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** DingTalk on the chat core: Stream mode or the HTTP robot callback, interactive cards, the OpenAPI. */
export function createDingtalkBot(o: DingtalkBotOptions): DingtalkBot {
  const api = new DingtalkApi(o.apiUrl, o.clientId, o.clientSecret, o.now);
  const transport = new DingtalkTransport(api, {
    robotCode: o.robotCode,
    cardTemplateId: o.cardTemplateId,
    ...(o.actionCardTemplateId ? { actionCardTemplateId: o.actionCardTemplateId } : {}),
    buttons: o.mode === 'stream',
    webhookOrigin: o.webhookOrigin,
    ...(o.now ? { now: o.now } : {}),
  });
  const bindings = new Map(o.chats.map((c) => [c.channel, c]));
  const chat = assembleChat(
    'dingtalk',
    o,
    'chat-dingtalk.db',
    () => transport,
    (channel) => bindings.get(channel) ?? { channel, allowWrites: o.defaultAllowWrites },
  );
  const { core, outbox, store, logger } = chat;
  const refused = new RefusedDeliveries(o.audit, 'dingtalk');
  const refuse = (reason: string) => {
    if (refused.record(reason)) logger.warn({ reason }, 'dingtalk delivery refused');
  };
  const receive = (event: InboundEvent, webhook?: SessionWebhook) => {
    if (webhook && !transport.noteWebhook(webhook)) refuse('session webhook outside DingTalk');
    void core.receive(event);
  };
  /** The channel of the card Kubemate posted for this ticket, if `outTrackId` is that card. */
  const channelOf = async (outTrackId: string, ticketId: string) => {
    const card = await store.card(ticketId);
    return card && (await store.messageIdOf(card.key)) === outTrackId ? card.channel : undefined;
  };

  const onFrame = (frame: StreamFrame) => {
    let data: unknown;
    try {
      data = JSON.parse(frame.data);
    } catch {
      return refuse('frame data is not JSON');
    }
    if (frame.headers.topic === TOPIC_ROBOT) {
      const m = robotMessageSchema.safeParse(data);
      if (!m.success) return refuse('not a robot message');
      if (m.data.robotCode !== o.robotCode) return refuse('wrong robot');
      const n = normaliseMessage(m.data);
      if (n) receive(n.event, n.webhook);
      return;
    }
    if (frame.headers.topic === TOPIC_CARD) {
      const c = cardCallbackSchema.safeParse(data);
      if (!c.success) return refuse('not a card callback');
      void normaliseCardPress(
        c.data,
        frame.headers.messageId,
        channelOf,
        (outTrackId) => store.channelOfPost(outTrackId),
        refuse,
      )
        .then((press) => press && core.receive(press))
        .catch((e: Error) => logger.warn({ error: e.message }, 'dingtalk: card press not handled'));
    }
  };

  let client: StreamClient | undefined;
  const seen = new SeenSignatures();
  return {
    mode: o.mode,
    core,
    outbox,
    store,
    transport,
    handle: (raw, headers) =>
      handleDingtalkCallback(
        { appSecret: o.clientSecret, robotCode: o.robotCode, seen, ...(o.now ? { now: o.now } : {}) },
        raw,
        headers,
        receive,
      ),
    onFrame,
    async start() {
      await chat.start();
      if (o.mode !== 'stream') return;
      const c = new StreamClient({ clientId: o.clientId, clientSecret: o.clientSecret }, o.apiUrl);
      for (const topic of [TOPIC_ROBOT, TOPIC_CARD])
        c.registerCallbackListener(topic, (frame) => {
          // ACK at once, whatever the frame holds: DingTalk would otherwise deliver it again for a minute.
          c.socketCallBackResponse(frame.headers.messageId, {});
          try {
            onFrame(frame);
          } catch (e) {
            logger.error({ error: String((e as Error)?.stack ?? e), topic }, 'dingtalk frame failed');
          }
        });
      client = c;
      await c.connect();
    },
    async stop() {
      client?.disconnect();
      client = undefined;
      await chat.stop();
    },
  };
}
