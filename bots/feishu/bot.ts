import { assembleChat, type ChatBotBase } from '../core/assemble.js';
import type { ChatCore } from '../core/core.js';
import type { Outbox } from '../core/outbox.js';
import { RefusedDeliveries } from '../core/people.js';
import type { ChatStore } from '../core/store.js';
import type { ChannelBinding } from '../core/types.js';
import { FeishuApi } from './api.js';
import { type LongConnection, startLongConnection } from './long-connection.js';
import { FeishuTransport } from './transport.js';
import { dispatchFeishuEvent, type FeishuAnswer, handleFeishuRequest } from './webhook.js';

export interface FeishuBotOptions extends ChatBotBase {
  /** `webhook`: events at POST /feishu/events; `long-connection`: the SDK's WebSocket client, no inbound URL. */
  mode?: 'webhook' | 'long-connection';
  /** Open API base: https://open.feishu.cn (Feishu) or https://open.larksuite.com (Lark). */
  apiUrl: string;
  appId: string;
  appSecret: string;
  encryptKey: string;
  verificationToken: string;
  chats: ChannelBinding[];
  /** What chats without a binding allow: DMs and unlisted groups. */
  defaultAllowWrites: boolean;
  now?: () => number;
}

export interface FeishuBot {
  core: ChatCore;
  outbox: Outbox;
  store: ChatStore;
  api: FeishuApi;
  /** One request to the event/callback URL (the fastify plugin in app/ hands each over). */
  handle(raw: string, headers: Record<string, string | string[] | undefined>): FeishuAnswer;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Feishu/Lark on the chat core, webhook or long-connection mode: verification and decryption, cards, the message API. */
export function createFeishuBot(o: FeishuBotOptions): FeishuBot {
  const api = new FeishuApi(o.apiUrl, o.appId, o.appSecret, o.now);
  const bindings = new Map(o.chats.map((c) => [c.channel, c]));
  const chat = assembleChat(
    'feishu',
    o,
    'chat-feishu.db',
    () => new FeishuTransport(api),
    (channel) => bindings.get(channel) ?? { channel, allowWrites: o.defaultAllowWrites },
  );
  const { core, outbox, store, logger } = chat;
  let botOpenId: string | undefined;
  const webhook = {
    appId: o.appId,
    encryptKey: o.encryptKey,
    verificationToken: o.verificationToken,
    botOpenId: () => botOpenId,
    ...(o.now ? { now: o.now } : {}),
  };
  let connection: LongConnection | undefined;
  const refused = new RefusedDeliveries(o.audit, 'feishu');
  const refuse = (reason: string) => {
    if (refused.record(reason)) logger.warn({ reason }, 'feishu event refused');
  };
  return {
    core,
    outbox,
    store,
    api,
    handle: (raw, headers) => handleFeishuRequest(webhook, raw, headers, (e) => core.receive(e)),
    async start() {
      await chat.start();
      if (o.mode === 'long-connection')
        connection = await startLongConnection({
          domain: o.apiUrl,
          appId: o.appId,
          appSecret: o.appSecret,
          logger,
          onEvent: (h, event) => {
            const answer = dispatchFeishuEvent(webhook, h, event, (e) => core.receive(e));
            if (answer.refused) refuse(answer.refused);
            return answer;
          },
          onRefused: refuse,
        });
      // Which mention is Kubemate's; until known, a group message reaches the bot only when it is
      // mentioned (Feishu's default event scope), so any mention counts.
      try {
        botOpenId = (await api.botInfo()).openId || undefined;
      } catch (e) {
        logger.warn({ error: (e as Error).message }, 'feishu: could not read the bot info');
      }
    },
    async stop() {
      connection?.close();
      connection = undefined;
      await chat.stop();
    },
  };
}
