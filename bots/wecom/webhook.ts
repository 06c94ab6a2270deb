import type { InboundEvent } from '../core/types.js';
import { sameSignature, wecomDecrypt, wecomSignature } from './crypto.js';
import { xmlFields } from './xml.js';

export interface WecomAnswer {
  status: number;
  /** Plain text: the echostr on verification, empty for a callback (no passive reply). */
  body: string;
  /** Why a request was refused, for the audit (never the body: it is untrusted). */
  refused?: string;
}

export interface WecomWebhookOptions {
  corpId: string;
  agentId: number;
  token: string;
  aesKey: Buffer;
  /** Largest callback timestamp skew accepted, in seconds (default 300). */
  maxSkewSeconds?: number;
  maxBodyBytes?: number;
  now?: () => number;
}

type Query = Record<string, string | string[] | undefined>;

const refuse = (status: number, refused: string): WecomAnswer => ({ status, body: '', refused });
const one = (q: Query, k: string) => {
  const v = q[k];
  return Array.isArray(v) ? v[0] : v;
};

/** Signature, freshness, decryption and the corp id check shared by both requests. */
function open(o: WecomWebhookOptions, q: Query, encrypted: string): { message: string } | WecomAnswer {
  const signature = one(q, 'msg_signature');
  const timestamp = one(q, 'timestamp');
  const nonce = one(q, 'nonce');
  if (!signature || !timestamp || !nonce) return refuse(401, 'unsigned request');
  if (!sameSignature(wecomSignature(o.token, timestamp, nonce, encrypted), signature))
    return refuse(401, 'bad signature');
  const skew = Math.abs((o.now ?? Date.now)() / 1000 - Number(timestamp));
  if (!Number.isFinite(skew) || skew > (o.maxSkewSeconds ?? 300)) return refuse(401, 'stale timestamp');
  let plain: { message: string; receiveId: string };
  try {
    plain = wecomDecrypt(o.aesKey, encrypted);
  } catch {
    return refuse(401, 'bad ciphertext');
  }
  if (plain.receiveId !== o.corpId) return refuse(401, 'wrong corp id');
  return { message: plain.message };
}

/** GET on the callback URL when it is saved in the admin console: answer the decrypted echostr. */
export function handleWecomVerify(o: WecomWebhookOptions, q: Query): WecomAnswer {
  const echostr = one(q, 'echostr');
  if (!echostr) return { status: 400, body: 'invalid request: echostr is missing' };
  const opened = open(o, q, echostr);
  return 'status' in opened ? opened : { status: 200, body: opened.message };
}

/**
 * POST on the callback URL: an encrypted XML message or event. Answered at once with an empty body
 * (WeCom waits 5 s and retries otherwise); the reply goes out later through the message API. A
 * text message becomes a direct message from the person; a press on a card's button
 * (`template_card_event`) becomes a button event, and its response code is handed to the transport.
 */
export function handleWecomCallback(
  o: WecomWebhookOptions,
  q: Query,
  raw: string,
  deliver: (event: InboundEvent) => void,
  onResponseCode: (taskId: string, code: string) => void,
): WecomAnswer {
  if (Buffer.byteLength(raw) > (o.maxBodyBytes ?? 256 * 1024)) return refuse(413, 'oversized body');
  let outer: Record<string, string>;
  try {
    outer = xmlFields(raw);
  } catch {
    return refuse(400, 'body is not WeCom XML');
  }
  if (!outer.Encrypt) return refuse(400, 'unencrypted body');
  const opened = open(o, q, outer.Encrypt);
  if ('status' in opened) return opened;
  let m: Record<string, string>;
  try {
    m = xmlFields(opened.message);
  } catch {
    return { status: 400, body: 'invalid request: the message is not WeCom XML' };
  }
  if (m.AgentID !== undefined && m.AgentID !== String(o.agentId)) return refuse(401, 'wrong agent id');
  const user = m.FromUserName;
  if (!user) return { status: 400, body: 'invalid request: FromUserName is missing' };
  const who = { platform: 'wecom', id: user };
  if (m.MsgType === 'text' && m.MsgId) {
    deliver({
      kind: 'message',
      direct: true,
      eventId: `msg:${m.MsgId}`,
      user: who,
      place: { channel: user },
      messageId: m.MsgId,
      text: (m.Content ?? '').trim(),
    });
  } else if (m.MsgType === 'event' && m.Event === 'template_card_event' && m.TaskId) {
    const key = /^(approve|reject):(.+)$/.exec(m.EventKey ?? '');
    if (m.ResponseCode) onResponseCode(m.TaskId, m.ResponseCode);
    if (key)
      deliver({
        kind: 'button',
        action: key[1] as 'approve' | 'reject',
        ticketId: key[2]!,
        cardMessageId: m.TaskId,
        // WeCom retries a callback with the same sender and CreateTime: one press, one event.
        eventId: `card:${user}:${m.TaskId}:${m.CreateTime ?? ''}:${m.EventKey}`,
        user: who,
        place: { channel: user },
      });
  }
  return { status: 200, body: '' };
}
