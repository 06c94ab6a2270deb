import { z } from 'zod';
import { ACTION_NAME, ACTION_VALUE, type InboundEvent } from '../core/types.js';
import { decryptEvent, eventSignature, sameHex } from './crypto.js';

export interface FeishuAnswer {
  status: number;
  body: unknown;
  /** Why a delivery was refused, for the audit (never the body: it is untrusted). */
  refused?: string;
}

export interface FeishuWebhookOptions {
  appId: string;
  encryptKey: string;
  verificationToken: string;
  /** The bot's open_id, once known: a group message is for Kubemate when it mentions it. */
  botOpenId: () => string | undefined;
  /** Oldest accepted `X-Lark-Request-Timestamp`, in seconds either way (default 300). */
  maxSkewSeconds?: number;
  /** Largest accepted body in bytes (default 512 KiB). */
  maxBodyBytes?: number;
  now?: () => number;
}

const envelope = z.looseObject({ encrypt: z.string().min(1) });
const challenge = z.looseObject({
  type: z.literal('url_verification'),
  challenge: z.string(),
  token: z.string(),
});
const v2 = z.looseObject({
  schema: z.literal('2.0'),
  header: z.looseObject({
    event_id: z.string().min(1),
    event_type: z.string().min(1),
    token: z.string(),
    app_id: z.string(),
  }),
  event: z.looseObject({}),
});
const messageEvent = z.looseObject({
  sender: z.looseObject({
    sender_id: z.looseObject({ open_id: z.string().min(1) }),
    sender_type: z.string(),
  }),
  message: z.looseObject({
    message_id: z.string().min(1),
    root_id: z.string().optional(),
    chat_id: z.string().min(1),
    chat_type: z.string(),
    message_type: z.string(),
    content: z.string(),
    mentions: z
      .array(
        z.looseObject({
          key: z.string(),
          name: z.string().default(''),
          id: z.looseObject({ open_id: z.string().optional() }),
        }),
      )
      .optional(),
  }),
});
const cardAction = z.looseObject({
  operator: z.looseObject({ open_id: z.string().min(1) }),
  action: z.looseObject({
    value: z.union([
      z.looseObject({ kubemate: z.enum(['approve', 'reject']), ticket: z.string().min(1) }),
      z.looseObject({
        kubemate: z.literal('act'),
        action: z.string().regex(ACTION_NAME),
        arg: z.string().regex(ACTION_VALUE),
      }),
    ]),
  }),
  context: z.looseObject({ open_message_id: z.string().min(1), open_chat_id: z.string().min(1) }),
});

const refuse = (status: number, error: string, refused: string): FeishuAnswer => ({
  status,
  body: { error },
  refused,
});

function textOf(m: z.infer<typeof messageEvent>['message'], bot: string | undefined): string {
  let text = '';
  try {
    const c = JSON.parse(m.content) as { text?: unknown };
    text = typeof c.text === 'string' ? c.text : '';
  } catch {
    return '';
  }
  for (const mention of m.mentions ?? []) {
    const isBot = bot === undefined || mention.id.open_id === bot;
    text = text.split(mention.key).join(isBot ? ' ' : `@${mention.name}`);
  }
  return text.replace(/\s+/g, ' ').trim();
}

/** A received message as the core's event, or undefined when it is not for Kubemate. */
function normaliseMessage(
  eventId: string,
  e: z.infer<typeof messageEvent>,
  bot: string | undefined,
): InboundEvent | undefined {
  if (e.sender.sender_type !== 'user' || e.message.message_type !== 'text') return undefined;
  const m = e.message;
  const base = {
    eventId,
    user: { platform: 'feishu', id: e.sender.sender_id.open_id },
    place: { channel: m.chat_id, ...(m.root_id ? { thread: m.root_id } : {}) },
    messageId: m.message_id,
    text: textOf(m, bot),
  };
  if (m.chat_type === 'p2p') return { ...base, kind: 'message', direct: true };
  const mentions = m.mentions ?? [];
  if (mentions.some((x) => bot === undefined || x.id.open_id === bot)) return { ...base, kind: 'mention' };
  // A reply in a thread that mentions nobody: the core keeps it only where Kubemate was addressed.
  if (mentions.length === 0 && m.root_id) return { ...base, kind: 'message', direct: false };
  return undefined;
}

/**
 * Feishu/Lark's event and callback request URL. Every delivery must be encrypted with the Encrypt
 * Key; a signed one (`X-Lark-Signature` over timestamp + nonce + key + raw body) must be fresh, and
 * its verification token and app id must be this app's. The one unsigned request Feishu sends, the
 * `url_verification` challenge, is answered only when it decrypts and carries the verification
 * token. `deliver` gets each normalised event; the answer is immediate (Feishu's deadline is 3 s).
 */
export function handleFeishuRequest(
  o: FeishuWebhookOptions,
  raw: string,
  headers: Record<string, string | string[] | undefined>,
  deliver: (event: InboundEvent) => void,
): FeishuAnswer {
  const header = (n: string) => {
    const v = headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  if (Buffer.byteLength(raw) > (o.maxBodyBytes ?? 512 * 1024))
    return refuse(413, 'the body is too large for a Feishu event', 'oversized body');
  let outer: unknown;
  try {
    outer = JSON.parse(raw);
  } catch {
    return refuse(400, 'invalid request: the body is not valid JSON', 'body is not JSON');
  }
  const env = envelope.safeParse(outer);
  if (!env.success)
    return refuse(
      400,
      'invalid request: the body is not encrypted; set the same Encrypt Key in Kubemate and the developer console',
      'unencrypted body',
    );
  const timestamp = header('x-lark-request-timestamp');
  const nonce = header('x-lark-request-nonce');
  const signature = header('x-lark-signature');
  const signed = Boolean(timestamp && nonce && signature);
  if (signed) {
    if (!sameHex(eventSignature(timestamp!, nonce!, o.encryptKey, raw), signature!))
      return refuse(401, 'invalid Feishu request signature', 'bad signature');
    const skew = Math.abs((o.now ?? Date.now)() / 1000 - Number(timestamp));
    if (!Number.isFinite(skew) || skew > (o.maxSkewSeconds ?? 300))
      return refuse(401, 'stale Feishu request timestamp', 'stale timestamp');
  }
  let inner: unknown;
  try {
    inner = JSON.parse(decryptEvent(o.encryptKey, env.data.encrypt));
  } catch {
    return refuse(401, 'the payload does not decrypt with the configured Encrypt Key', 'bad ciphertext');
  }
  const c = challenge.safeParse(inner);
  if (c.success) {
    if (!sameHex(c.data.token, o.verificationToken))
      return refuse(401, 'wrong verification token', 'wrong verification token');
    return { status: 200, body: { challenge: c.data.challenge } };
  }
  if (!signed) return refuse(401, 'unsigned Feishu request', 'unsigned request');
  const e = v2.safeParse(inner);
  if (!e.success)
    return { status: 400, body: { error: 'invalid request: not a Feishu 2.0 event or callback' } };
  const h = e.data.header;
  if (!sameHex(h.token, o.verificationToken))
    return refuse(401, 'wrong verification token', 'wrong verification token');
  return dispatchFeishuEvent(o, h, e.data.event, deliver);
}

/**
 * A verified 2.0 event (webhook: decrypted and signed; long connection: from the authenticated
 * socket) for this app, normalised and handed to `deliver`. The answer's body is what Feishu shows
 * (a toast for a card press).
 */
export function dispatchFeishuEvent(
  o: { appId: string; botOpenId: () => string | undefined },
  h: { event_id: string; event_type: string; app_id: string },
  event: unknown,
  deliver: (event: InboundEvent) => void,
): FeishuAnswer {
  if (h.app_id !== o.appId) return refuse(401, 'the event is for another app', 'wrong app id');
  if (h.event_type === 'im.message.receive_v1') {
    const m = messageEvent.safeParse(event);
    if (!m.success)
      return { status: 400, body: { error: 'invalid request: a message event without its message' } };
    const normalised = normaliseMessage(h.event_id, m.data, o.botOpenId());
    if (normalised) deliver(normalised);
    return { status: 200, body: {} };
  }
  if (h.event_type === 'card.action.trigger') {
    const a = cardAction.safeParse(event);
    // A press on another card (not Kubemate's buttons) is acknowledged and ignored.
    if (!a.success) return { status: 200, body: {} };
    const ctx = a.data.context;
    const value = a.data.action.value;
    const base = {
      eventId: h.event_id,
      user: { platform: 'feishu', id: a.data.operator.open_id },
      place: { channel: ctx.open_chat_id, thread: ctx.open_message_id },
    };
    deliver(
      value.kubemate === 'act'
        ? { ...base, kind: 'action', action: value.action, value: value.arg, messageId: ctx.open_message_id }
        : {
            ...base,
            kind: 'button',
            action: value.kubemate,
            ticketId: value.ticket,
            cardMessageId: ctx.open_message_id,
          },
    );
    return { status: 200, body: { toast: { type: 'info', content: '已收到 Received' } } };
  }
  return { status: 200, body: {} };
}
