import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * WeCom's intelligent robot long-connection gateway (wss://openws.work.weixin.qq.com), local, on the
 * protocol WeCom documents: JSON frames `{cmd, headers: {req_id}, body}`; `aibot_subscribe` with
 * `bot_id` and `secret` answered `{headers: {req_id}, errcode, errmsg}`; `ping` answered the same
 * way; callbacks `aibot_msg_callback` / `aibot_event_callback` pushed with a fresh `req_id`; replies
 * `aibot_respond_msg` (on a message callback's req_id: stream or template_card),
 * `aibot_respond_update_msg` (on a template_card_event's req_id, within 5 s, same task_id) and
 * `aibot_send_msg` (proactive, by chatid, to a chat that has talked to the robot), each answered with
 * errcode under its req_id. One connection per robot: a new subscription sends the older connection a
 * `disconnected_event` and closes it. WeCom publishes no errcodes for the refusals below; the non-zero
 * codes here are stand-ins (only "zero or not" is relied on).
 */
export const BOT_ID = 'aibKubemateTestRobot01';
export const BOT_SECRET = 'wecom-robot-secret-for-tests-0123456789';

export interface RobotMessage {
  chat: string;
  via: 'respond' | 'send';
  msgtype: 'stream' | 'markdown' | 'template_card';
  streamId?: string;
  content?: string;
  finished?: boolean;
  card?: Record<string, unknown>;
  taskId?: string;
  /** Every version: stream contents as refreshed, or cards as updated. */
  history: unknown[];
}

interface Callback {
  chat: string;
  kind: 'message' | 'card';
  taskId?: string;
  at: number;
}

type Frame = { cmd?: string; headers?: { req_id?: string }; body?: Record<string, unknown> };

let msgCounter = 0;
const newMsgId = () =>
  `CAIQ${Date.now().toString(36)}${(++msgCounter).toString(36)}${randomBytes(3).toString('hex')}`;

export async function startWecomAibotServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const { port } = wss.address() as AddressInfo;
  const messages: RobotMessage[] = [];
  const callbacks = new Map<string, Callback>();
  const chats = new Set<string>();
  const subscribes: Array<{ botId: unknown; ok: boolean }> = [];
  const received: Frame[] = [];
  /** Callback req_ids the client has sent a frame on (a reply, a card update). */
  const answered = new Set<string>();
  const watchers: Array<(reqId: string) => void> = [];
  let opened = 0;
  let pings = 0;
  let live: WebSocket | undefined;
  const onSubscribed: Array<() => void> = [];

  wss.on('connection', (ws) => {
    opened++;
    let subscribed = false;
    const ack = (reqId: string, errcode: number, errmsg: string) =>
      ws.send(JSON.stringify({ headers: { req_id: reqId }, errcode, errmsg }));
    ws.on('message', (data) => {
      let f: Frame;
      try {
        f = JSON.parse(String(data)) as Frame;
      } catch {
        return;
      }
      received.push(f);
      const reqId = f.headers?.req_id;
      if (!f.cmd || !reqId) return;
      if (callbacks.has(reqId) && !answered.has(reqId)) {
        answered.add(reqId);
        for (const w of watchers) w(reqId);
      }
      if (f.cmd === 'aibot_subscribe') {
        const ok = f.body?.bot_id === BOT_ID && f.body?.secret === BOT_SECRET;
        subscribes.push({ botId: f.body?.bot_id, ok });
        if (!ok) {
          ack(reqId, 40001, 'invalid bot_id or secret');
          ws.close(1008, 'unauthorized');
          return;
        }
        subscribed = true;
        const old = live;
        live = ws;
        ack(reqId, 0, 'ok');
        if (old && old !== ws) {
          old.send(
            JSON.stringify({
              cmd: 'aibot_event_callback',
              headers: { req_id: `evt_${randomBytes(6).toString('hex')}` },
              body: {
                msgid: newMsgId(),
                create_time: Math.floor(Date.now() / 1000),
                aibotid: BOT_ID,
                msgtype: 'event',
                event: { eventtype: 'disconnected_event' },
              },
            }),
          );
          old.close(1000, 'replaced by a new connection');
        }
        for (const w of onSubscribed.splice(0)) w();
        return;
      }
      if (!subscribed) return ack(reqId, 40002, 'not subscribed');
      if (f.cmd === 'ping') {
        pings++;
        return ack(reqId, 0, 'ok');
      }
      const b = f.body ?? {};
      if (f.cmd === 'aibot_respond_msg') {
        const cb = callbacks.get(reqId);
        if (!cb) return ack(reqId, 40003, 'invalid req_id');
        if (cb.kind === 'card')
          return ack(reqId, 846605, 'card event req_id takes aibot_respond_update_msg only');
        if (b.msgtype === 'stream') {
          const s = b.stream as { id?: string; finish?: boolean; content?: string };
          if (!s?.id) return ack(reqId, 40004, 'stream.id missing');
          if (Buffer.byteLength(s.content ?? '') > 20_480) return ack(reqId, 40005, 'content too long');
          const existing = messages.find((m) => m.streamId === s.id);
          if (existing) {
            if (existing.finished) return ack(reqId, 40006, 'stream already finished');
            existing.content = s.content ?? '';
            existing.finished = s.finish === true;
            existing.history.push(existing.content);
          } else
            messages.push({
              chat: cb.chat,
              via: 'respond',
              msgtype: 'stream',
              streamId: s.id,
              content: s.content ?? '',
              finished: s.finish === true,
              history: [s.content ?? ''],
            });
          return ack(reqId, 0, 'ok');
        }
        if (b.msgtype === 'template_card') return addCard(reqId, cb.chat, 'respond', b.template_card);
        return ack(reqId, 40008, 'invalid msgtype');
      }
      if (f.cmd === 'aibot_respond_update_msg') {
        const cb = callbacks.get(reqId);
        if (cb?.kind !== 'card') return ack(reqId, 40003, 'invalid req_id');
        if (Date.now() - cb.at > 5000) return ack(reqId, 40009, 'update window of 5 s passed');
        const card = b.template_card as Record<string, unknown> | undefined;
        if (b.response_type !== 'update_template_card' || card?.task_id !== cb.taskId)
          return ack(reqId, 40008, 'invalid template_card');
        const m = messages.find((x) => x.taskId === cb.taskId)!;
        m.card = card;
        m.history.push(card);
        callbacks.delete(reqId);
        return ack(reqId, 0, 'ok');
      }
      if (f.cmd === 'aibot_send_msg') {
        const chat = String(b.chatid ?? '');
        if (!chats.has(chat)) return ack(reqId, 40010, 'chat has not talked to the robot');
        if (b.msgtype === 'markdown') {
          const content = String((b.markdown as { content?: string } | undefined)?.content ?? '');
          if (Buffer.byteLength(content) > 4096) return ack(reqId, 40005, 'content too long');
          messages.push({ chat, via: 'send', msgtype: 'markdown', content, history: [content] });
          return ack(reqId, 0, 'ok');
        }
        if (b.msgtype === 'template_card') return addCard(reqId, chat, 'send', b.template_card);
        return ack(reqId, 40008, 'invalid msgtype');
      }
      return ack(reqId, 40011, 'unknown cmd');
    });
    function addCard(reqId: string, chat: string, via: 'respond' | 'send', card: unknown) {
      const c = card as Record<string, unknown> | undefined;
      if (c?.card_type !== 'button_interaction' || typeof c.task_id !== 'string')
        return ack(reqId, 40008, 'invalid template_card');
      if (messages.some((m) => m.taskId === c.task_id)) return ack(reqId, 40008, 'task_id already used');
      messages.push({ chat, via, msgtype: 'template_card', card: c, taskId: c.task_id, history: [c] });
      return ack(reqId, 0, 'ok');
    }
    ws.on('close', () => {
      if (live === ws) live = undefined;
    });
  });

  const push = (cmd: string, body: Record<string, unknown>, cb: Omit<Callback, 'at'>) => {
    if (!live) throw new Error('no subscribed connection');
    const reqId = `${randomBytes(10).toString('hex')}`;
    callbacks.set(reqId, { ...cb, at: Date.now() });
    live.send(JSON.stringify({ cmd, headers: { req_id: reqId }, body }));
    return reqId;
  };
  const who = (o: { user: string; group?: string }) => ({
    aibotid: BOT_ID,
    ...(o.group ? { chatid: o.group, chattype: 'group' } : { chattype: 'single' }),
    from: { userid: o.user },
  });

  return {
    url: `ws://127.0.0.1:${port}`,
    messages,
    subscribes,
    received,
    /** Sockets opened so far. */
    opened: () => opened,
    pings: () => pings,
    /** Resolves at the next successful subscription. */
    connected: () => new Promise<void>((r) => onSubscribed.push(r)),
    isLive: () => live !== undefined,
    /** Whether the client answered the callback sent under `reqId` (replied, or updated the card). */
    answered: (reqId: string) => answered.has(reqId),
    /** Calls `fn` with a callback's req_id when the client first answers it (benchmarks). */
    watch: (fn: (reqId: string) => void) => watchers.push(fn),
    /** A message callback frame as WeCom sends it, without sending it (benchmarks drive the adapter directly). */
    messageFrame(o: { user: string; text: string }) {
      const reqId = randomBytes(10).toString('hex');
      chats.add(o.user);
      callbacks.set(reqId, { chat: o.user, kind: 'message', at: Date.now() });
      return JSON.stringify({
        cmd: 'aibot_msg_callback',
        headers: { req_id: reqId },
        body: {
          msgid: newMsgId(),
          create_time: Math.floor(Date.now() / 1000),
          ...who(o),
          msgtype: 'text',
          text: { content: o.text },
        },
      });
    },
    /** A person's message as `aibot_msg_callback` (in a group when `group` is set). */
    pushMessage(o: { user: string; group?: string; text: string; msgid?: string }) {
      const msgid = o.msgid ?? newMsgId();
      const chat = o.group ?? o.user;
      chats.add(chat);
      const body = {
        msgid,
        create_time: Math.floor(Date.now() / 1000),
        ...who(o),
        msgtype: 'text',
        text: { content: o.group ? `@Kubemate ${o.text}` : o.text },
      };
      return { msgid, reqId: push('aibot_msg_callback', body, { chat, kind: 'message' }) };
    },
    /** A press on a card's button as `template_card_event` (the documented nested form). */
    pushCardPress(o: { user: string; group?: string; taskId: string; key: string; msgid?: string }) {
      const chat = o.group ?? o.user;
      const body = {
        msgid: o.msgid ?? newMsgId(),
        create_time: Math.floor(Date.now() / 1000),
        ...who(o),
        msgtype: 'event',
        event: {
          eventtype: 'template_card_event',
          template_card_event: { card_type: 'button_interaction', event_key: o.key, task_id: o.taskId },
        },
      };
      return push('aibot_event_callback', body, { chat, kind: 'card', taskId: o.taskId });
    },
    /** Any text (or binary) frame as it is, on the subscribed connection. */
    sendRaw(data: string | Buffer) {
      if (!live) throw new Error('no subscribed connection');
      live.send(data);
    },
    /** Drops the subscribed connection without a closing handshake (a network cut). */
    drop() {
      live?.terminate();
      live = undefined;
    },
    /** What a chat shows now, oldest first. */
    chat: (chat: string) => messages.filter((m) => m.chat === chat),
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
export type WecomAibotServer = Awaited<ReturnType<typeof startWecomAibotServer>>;
