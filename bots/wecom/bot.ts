import { assembleChat, type ChatBotBase, withFileUpload } from '../core/assemble.js';
import type { ChatCore } from '../core/core.js';
import type { Outbox } from '../core/outbox.js';
import type { ChatStore } from '../core/store.js';
import { WecomApi } from './api.js';
import { aesKeyOf } from './crypto.js';
import { WecomTransport } from './transport.js';
import { handleWecomCallback, handleWecomVerify, type WecomAnswer } from './webhook.js';

export interface WecomBotOptions extends ChatBotBase {
  apiUrl: string;
  corpId: string;
  agentId: number;
  secret: string;
  token: string;
  encodingAesKey: string;
  /** Userids who receive every approval card besides the requester (the approvers). */
  approvers: string[];
  /** Whether changes may be requested and approved in chats with the app. */
  allowWrites: boolean;
  now?: () => number;
}

type Query = Record<string, string | string[] | undefined>;

export interface WecomBot {
  mode: 'callback';
  core: ChatCore;
  outbox: Outbox;
  store: ChatStore;
  transport: WecomTransport;
  verify(query: Query): WecomAnswer;
  handle(query: Query, raw: string): WecomAnswer;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** WeCom (self-built app) on the chat core: callback crypto, template cards, the message API. */
export function createWecomBot(o: WecomBotOptions): WecomBot {
  const webhook = {
    corpId: o.corpId,
    agentId: o.agentId,
    token: o.token,
    aesKey: aesKeyOf(o.encodingAesKey),
    ...(o.now ? { now: o.now } : {}),
  };
  const api = new WecomApi(o.apiUrl, o.corpId, o.secret, o.now);
  const transport = new WecomTransport(api, o.agentId, o.approvers);
  // An app writes to people, not channels: one setting for all of its chats.
  const chat = assembleChat(
    'wecom',
    o,
    'chat-wecom.db',
    // Images go as images (the transport's upload); other files (an HTML report) as file messages.
    () =>
      withFileUpload(transport, (place, file) =>
        file.mimeType.startsWith('image/')
          ? transport.upload(place, file)
          : api.sendFile(o.agentId, place.channel, file),
      ),
    (channel) => ({ channel, allowWrites: o.allowWrites }),
  );
  const { core, outbox, store } = chat;
  return {
    mode: 'callback',
    core,
    outbox,
    store,
    transport,
    verify: (query) => handleWecomVerify(webhook, query),
    handle: (query, raw) =>
      handleWecomCallback(
        webhook,
        query,
        raw,
        (e) => core.receive(e),
        (task, code) => transport.noteResponseCode(task, code),
      ),
    async start() {
      await chat.start();
    },
    stop: () => chat.stop(),
  };
}
