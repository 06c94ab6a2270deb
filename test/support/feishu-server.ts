import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encryptEvent, eventSignature } from '../../bots/feishu/crypto.js';

/**
 * A local Feishu/Lark Open API speaking the real wire format: `{code, msg, data}` bodies, tenant
 * access tokens from the app id and secret, `Authorization: Bearer`, message create / reply / patch,
 * image and file upload (an image or file message must name an uploaded key). It also builds event and card callback deliveries exactly as Feishu sends them:
 * the 2.0 event schema, encrypted with the Encrypt Key and signed (`X-Lark-Signature`).
 */
/** As Feishu issues them (cli_ and 16 hex digits): the SDK's long-connection client checks the form. */
export const APP_ID = 'cli_a5b6c7d8e9f01234';
export const APP_SECRET = 'feishu-app-secret-for-tests';
export const ENCRYPT_KEY = 'feishu-encrypt-key-for-tests';
export const VERIFICATION_TOKEN = 'feishu-verification-token-for-tests';
export const BOT_OPEN_ID = 'ou_bot0000000000000000000000000001';

export interface FeishuMessage {
  message_id: string;
  chat_id: string;
  root_id?: string;
  msg_type: string;
  /** The content as posted (a JSON string), parsed. */
  content: Record<string, unknown>;
  /** Every version, oldest first (PATCH appends). */
  history: Array<Record<string, unknown>>;
}

export interface FeishuCall {
  method: string;
  path: string;
  token?: string;
  at: number;
  code: number;
}

/** A card's text: every plain_text content and button label, in order, for assertions. */
export function cardText(card: Record<string, unknown>): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.content === 'string') out.push(o.content);
      for (const [k, x] of Object.entries(o)) if (k !== 'content') walk(x);
    }
  };
  walk(card);
  return out.join('\n');
}

/** The buttons of a card: the value each sends back. */
export function cardButtons(card: Record<string, unknown>): Array<Record<string, unknown>> {
  const elements = (card.elements ?? []) as Array<Record<string, unknown>>;
  return elements
    .filter((e) => e.tag === 'action')
    .flatMap((e) =>
      (e.actions as Array<Record<string, unknown>>).map((a) => a.value as Record<string, unknown>),
    );
}

/** The value a card's button sends back, as the card was first posted (before a press redrew it). */
export function buttonValue(card: FeishuMessage, action: 'approve' | 'reject'): Record<string, unknown> {
  const value = cardButtons(card.history[0]!).find((v) => v.kubemate === action);
  if (!value) throw new Error(`the card has no ${action} button`);
  return value;
}

export async function startFeishuServer() {
  const messages: FeishuMessage[] = [];
  const images = new Map<string, { bytes: Buffer; name: string }>();
  const files = new Map<string, { bytes: Buffer; name: string; type: string }>();
  /** Answers to give instead of serving, by path: Feishu having trouble. */
  const failures: Array<{ path: string; status: number; code: number }> = [];
  const calls: FeishuCall[] = [];
  const tokens = new Set<string>();
  const watchers: Array<(m: FeishuMessage) => void> = [];
  let counter = 0;
  let wsEndpoint: (() => Record<string, unknown>) | undefined;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const raw = await readBody(req);
    const auth = req.headers.authorization?.replace(/^Bearer /, '');
    const answer = (status: number, code: number, msg: string, extra: Record<string, unknown> = {}) => {
      calls.push({
        method: req.method ?? '',
        path: url.pathname,
        ...(auth ? { token: auth } : {}),
        at: Date.now(),
        code,
      });
      send(res, status, { code, msg, ...extra });
    };
    const json = () => JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
    if (url.pathname === '/callback/ws/endpoint' && req.method === 'POST') {
      const b = json();
      if (!wsEndpoint || b.AppID !== APP_ID || b.AppSecret !== APP_SECRET)
        return answer(200, 1000040345, 'app id or secret is invalid');
      return answer(200, 0, 'ok', { data: wsEndpoint() });
    }
    if (url.pathname === '/open-apis/auth/v3/tenant_access_token/internal' && req.method === 'POST') {
      const b = json();
      if (b.app_id !== APP_ID || b.app_secret !== APP_SECRET) return answer(400, 10003, 'invalid param');
      const token = `t-${randomBytes(12).toString('hex')}`;
      tokens.add(token);
      return answer(200, 0, 'ok', { tenant_access_token: token, expire: 7200 });
    }
    if (!auth || !tokens.has(auth)) return answer(400, 99991663, 'Invalid access token for authorization.');
    const failure = failures.findIndex((f) => f.path === url.pathname);
    if (failure >= 0) {
      const f = failures.splice(failure, 1)[0]!;
      return answer(f.status, f.code, 'Internal Server Error');
    }
    if (url.pathname === '/open-apis/bot/v3/info' && req.method === 'GET')
      return answer(200, 0, 'ok', {
        bot: { activate_status: 2, app_name: 'kubemate', open_id: BOT_OPEN_ID },
      });
    if (url.pathname === '/open-apis/im/v1/images' && req.method === 'POST') {
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const image = form.get('image');
      if (form.get('image_type') !== 'message' || !(image instanceof Blob))
        return answer(400, 234001, 'Invalid request param.');
      const key = `img_v3_${randomUUID()}`;
      images.set(key, { bytes: Buffer.from(await image.arrayBuffer()), name: (image as File).name });
      return answer(200, 0, 'success', { data: { image_key: key } });
    }
    if (url.pathname === '/open-apis/im/v1/files' && req.method === 'POST') {
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const file = form.get('file');
      const type = String(form.get('file_type') ?? '');
      if (!['opus', 'mp4', 'pdf', 'doc', 'xls', 'ppt', 'stream'].includes(type) || !(file instanceof Blob))
        return answer(400, 234001, 'Invalid request param.');
      if (!form.get('file_name')) return answer(400, 234001, 'Invalid request param: file_name');
      if (file.size === 0 || file.size > 30 * 1024 * 1024)
        return answer(400, 234006, 'The file size exceed the max value.');
      const key = `file_v3_${randomUUID()}`;
      files.set(key, {
        bytes: Buffer.from(await file.arrayBuffer()),
        name: String(form.get('file_name')),
        type,
      });
      return answer(200, 0, 'success', { data: { file_key: key } });
    }
    const create = url.pathname === '/open-apis/im/v1/messages' && req.method === 'POST';
    const reply = url.pathname.match(/^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/);
    const patch = url.pathname.match(/^\/open-apis\/im\/v1\/messages\/([^/]+)$/);
    if (create || (reply && req.method === 'POST')) {
      const b = json();
      let content: Record<string, unknown>;
      try {
        content = JSON.parse(String(b.content)) as Record<string, unknown>;
      } catch {
        return answer(400, 230001, 'invalid content: not JSON');
      }
      if (Buffer.byteLength(String(b.content)) > 30 * 1024)
        return answer(400, 230025, 'The message content exceeds the limit.');
      if (b.msg_type === 'file' && !files.has(String(content.file_key)))
        return answer(400, 230001, 'invalid file_key');
      if (b.msg_type === 'image' && !images.has(String(content.image_key)))
        return answer(400, 230001, 'invalid image_key');
      let chat: string;
      let root: string | undefined;
      if (create) {
        if (url.searchParams.get('receive_id_type') !== 'chat_id' || typeof b.receive_id !== 'string')
          return answer(400, 230001, 'invalid receive_id');
        chat = b.receive_id;
      } else {
        const parent = messages.find((m) => m.message_id === decodeURIComponent(reply![1]!));
        if (!parent) return answer(400, 230011, 'The message was withdrawn or does not exist.');
        chat = parent.chat_id;
        root = parent.root_id ?? parent.message_id;
      }
      const m: FeishuMessage = {
        message_id: `om_${(++counter).toString(16).padStart(8, '0')}${randomBytes(4).toString('hex')}`,
        chat_id: chat,
        ...(root ? { root_id: root } : {}),
        msg_type: String(b.msg_type),
        content,
        history: [content],
      };
      messages.push(m);
      for (const w of watchers) w(m);
      return answer(200, 0, 'success', {
        data: { message_id: m.message_id, chat_id: chat, ...(root ? { root_id: root } : {}) },
      });
    }
    if (patch && req.method === 'PATCH') {
      const m = messages.find((x) => x.message_id === decodeURIComponent(patch[1]!));
      if (!m) return answer(400, 230011, 'The message was withdrawn or does not exist.');
      if (m.msg_type !== 'interactive') return answer(400, 230001, 'only cards can be patched');
      const content = JSON.parse(String(json().content)) as Record<string, unknown>;
      if (!(content.config as { update_multi?: boolean } | undefined)?.update_multi)
        return answer(400, 230001, 'a shared card must set config.update_multi');
      m.content = content;
      m.history.push(content);
      return answer(200, 0, 'success');
    }
    return answer(404, 404, 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    /** The HTTP server, for the long connection's WebSocket upgrade. */
    server,
    /** Serves POST /callback/ws/endpoint (the long connection's first step) with `fn`'s data. */
    serveWsEndpoint: (fn: () => Record<string, unknown>) => {
      wsEndpoint = fn;
    },
    /** A message a person sent (the payload of a `messageReceived` delivery), so replies can name it. */
    sent(payload: ReturnType<typeof messageReceived>) {
      const m = payload.event.message;
      const content = JSON.parse(m.content) as Record<string, unknown>;
      messages.push({
        message_id: m.message_id,
        chat_id: m.chat_id,
        ...(m.root_id ? { root_id: m.root_id } : {}),
        msg_type: 'text',
        content,
        history: [content],
      });
    },
    /** Every token issued so far stops working (as when the platform expires them early). */
    revokeTokens: () => tokens.clear(),
    /** Calls `fn` with each message the bot creates (benchmarks). */
    watch: (fn: (m: FeishuMessage) => void) => watchers.push(fn),
    /** The messages in a thread, its root first. */
    thread: (root: string) => messages.filter((m) => m.message_id === root || m.root_id === root),
    /** The next `times` calls to `path` fail with HTTP `status` (a server error by default). */
    failNext(path: string, times = 1, status = 500, code = 2200) {
      for (let i = 0; i < times; i++) failures.push({ path, status, code });
    },
    messages,
    images,
    files,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type FeishuServer = Awaited<ReturnType<typeof startFeishuServer>>;

/** A delivery as Feishu sends it: the payload encrypted, then the raw body signed. */
export function feishuDelivery(
  payload: unknown,
  opts: { encryptKey?: string; timestamp?: number; signKey?: string; unsigned?: boolean } = {},
): { body: string; headers: Record<string, string> } {
  const key = opts.encryptKey ?? ENCRYPT_KEY;
  const body = JSON.stringify({ encrypt: encryptEvent(key, JSON.stringify(payload)) });
  if (opts.unsigned) return { body, headers: { 'content-type': 'application/json' } };
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': eventSignature(timestamp, nonce, opts.signKey ?? key, body),
    },
  };
}

const header = (eventType: string, extra: { appId?: string; token?: string; eventId?: string } = {}) => ({
  event_id: extra.eventId ?? randomUUID().replaceAll('-', ''),
  event_type: eventType,
  create_time: String(Date.now()),
  token: extra.token ?? VERIFICATION_TOKEN,
  app_id: extra.appId ?? APP_ID,
  tenant_key: 'tenant_test',
});

/** `im.message.receive_v1` for a text message; `mentionBot` puts `@_user_1` (the bot) in front. */
export function messageReceived(o: {
  user: string;
  chat: string;
  text: string;
  chatType?: 'p2p' | 'group';
  rootId?: string;
  messageId?: string;
  mentionBot?: boolean;
  appId?: string;
  token?: string;
  eventId?: string;
}) {
  const messageId = o.messageId ?? `om_in_${randomBytes(8).toString('hex')}`;
  return {
    schema: '2.0',
    header: header('im.message.receive_v1', o),
    event: {
      sender: {
        sender_id: { open_id: o.user, union_id: `on_${o.user}` },
        sender_type: 'user',
        tenant_key: 'tenant_test',
      },
      message: {
        message_id: messageId,
        ...(o.rootId ? { root_id: o.rootId, parent_id: o.rootId } : {}),
        create_time: String(Date.now()),
        chat_id: o.chat,
        chat_type: o.chatType ?? 'group',
        message_type: 'text',
        content: JSON.stringify({ text: o.mentionBot === false ? o.text : `@_user_1 ${o.text}` }),
        ...(o.mentionBot === false
          ? {}
          : {
              mentions: [
                {
                  key: '@_user_1',
                  id: { open_id: BOT_OPEN_ID, union_id: 'on_bot' },
                  name: 'kubemate',
                  tenant_key: 'tenant_test',
                },
              ],
            }),
      },
    },
  };
}

/** `card.action.trigger`: a press on a card button, with the button's value. */
export function cardAction(o: {
  user: string;
  message: FeishuMessage;
  value: Record<string, unknown>;
  eventId?: string;
}) {
  return {
    schema: '2.0',
    header: header('card.action.trigger', o),
    event: {
      operator: { tenant_key: 'tenant_test', open_id: o.user, union_id: `on_${o.user}` },
      token: `c-${randomUUID()}`,
      action: { value: o.value, tag: 'button' },
      host: 'im_message',
      context: { open_message_id: o.message.message_id, open_chat_id: o.message.chat_id },
    },
  };
}
