import { assembleChat, type ChatBotBase } from '../core/assemble.js';
import type { ChatCore } from '../core/core.js';
import type { Outbox } from '../core/outbox.js';
import { RefusedDeliveries } from '../core/people.js';
import type { ChatStore } from '../core/store.js';
import { normaliseAibotEvent, normaliseAibotMessage } from './aibot-inbound.js';
import { WecomBotTransport } from './aibot-transport.js';
import { type LongConnectionOptions, WecomLongConnection, type WsFrame } from './long-connection.js';

export interface WecomAibotOptions
  extends ChatBotBase,
    Partial<
      Pick<
        LongConnectionOptions,
        'heartbeatMs' | 'ackTimeoutMs' | 'maxFrameBytes' | 'backoffBaseMs' | 'backoffMaxMs'
      >
    > {
  /** wss://openws.work.weixin.qq.com unless an egress proxy (or a test gateway) is named. */
  url: string;
  /** The intelligent robot's Bot ID and Secret (API 模式: 长连接). */
  botId: string;
  secret: string;
  /** Whether changes may be requested and approved in chats with the robot (closed by default). */
  allowWrites: boolean;
}

export interface WecomAibotBot {
  mode: 'long-connection';
  core: ChatCore;
  outbox: Outbox;
  store: ChatStore;
  transport: WecomBotTransport;
  connection: WecomLongConnection;
  /** One callback frame as the connection hands it over (tests and benchmarks drive it directly too). */
  onCallback(frame: WsFrame): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * WeCom's intelligent robot (智能机器人) over its long connection, on the chat core: no inbound URL,
 * callbacks and replies over one outbound WebSocket. The adapter validates each callback, checks it
 * is for this robot and that a card press is on the card Kubemate posted for that ticket, and hands
 * the event to the core; refusals are audited (rate-limited) and nothing runs.
 */
export function createWecomAibot(o: WecomAibotOptions): WecomAibotBot {
  let connection: WecomLongConnection | undefined;
  const transport = new WecomBotTransport({
    request: (cmd, reqId, body) =>
      connection
        ? connection.request(cmd, reqId, body)
        : Promise.reject(new Error('WeCom long connection not started')),
    ready: () => connection?.state === 'subscribed',
  });
  // One setting for every chat: the robot is added to groups by people, not configured per group.
  const chat = assembleChat(
    'wecom',
    o,
    'chat-wecom.db',
    () => transport,
    (channel) => ({ channel, allowWrites: o.allowWrites }),
  );
  const { core, outbox, store, logger } = chat;
  const refused = new RefusedDeliveries(o.audit, 'wecom');
  const refuse = (reason: string) => {
    if (refused.record(reason)) logger.warn({ reason }, 'wecom frame refused');
  };

  const onCallback = (frame: WsFrame) => {
    const reqId = frame.headers.req_id;
    if (frame.cmd === 'aibot_msg_callback') {
      const n = normaliseAibotMessage(frame.body, o.botId);
      if ('refused' in n) return refuse(n.refused);
      if ('ignored' in n) return;
      transport.noteMessage(n.event.messageId!, reqId);
      void core.receive(n.event);
      return;
    }
    const n = normaliseAibotEvent(frame.body, o.botId);
    if ('refused' in n) return refuse(n.refused);
    if (!('press' in n)) return;
    transport.notePress(n.press.taskId, reqId);
    const press = n.press.event;
    if (press?.kind !== 'button') return;
    const taskId = n.press.taskId;
    // The press must be on the card posted for its ticket: a made-up key on another card decides nothing.
    core.track(
      (async () => {
        const card = await store.card(press.ticketId);
        if (!card || (await store.messageIdOf(card.key)) !== taskId)
          return refuse("card press on a card that is not the ticket's");
        await core.receive(press);
      })().catch((e: Error) => logger.warn({ error: e.message }, 'wecom: card press not handled')),
    );
  };

  return {
    mode: 'long-connection',
    core,
    outbox,
    store,
    transport,
    get connection() {
      connection ??= newConnection();
      return connection;
    },
    onCallback,
    async start() {
      await chat.start();
      // A connection stopped (or taken over) before does not come back: a new one subscribes again.
      if (!connection || connection.state === 'stopped' || connection.state === 'taken-over')
        connection = newConnection();
      try {
        await connection.start();
      } catch (e) {
        await chat.stop();
        throw e;
      }
    },
    async stop() {
      await connection?.stop();
      await chat.stop();
    },
  };

  function newConnection() {
    return new WecomLongConnection({
      url: o.url,
      botId: o.botId,
      secret: o.secret,
      logger,
      onCallback,
      onRefused: refuse,
      ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.ackTimeoutMs ? { ackTimeoutMs: o.ackTimeoutMs } : {}),
      ...(o.maxFrameBytes ? { maxFrameBytes: o.maxFrameBytes } : {}),
      ...(o.backoffBaseMs ? { backoffBaseMs: o.backoffBaseMs } : {}),
      ...(o.backoffMaxMs ? { backoffMaxMs: o.backoffMaxMs } : {}),
    });
  }
}
