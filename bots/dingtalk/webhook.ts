import type { InboundEvent } from '../core/types.js';
import { robotSign, sameSign } from './crypto.js';
import { normaliseMessage, robotMessageSchema, type SessionWebhook } from './inbound.js';

export interface DingtalkAnswer {
  status: number;
  body: unknown;
  /** Why a delivery was refused, for the audit (never the body: it is untrusted). */
  refused?: string;
}

export interface DingtalkWebhookOptions {
  appSecret: string;
  robotCode: string;
  /** Largest accepted skew of the `timestamp` header, in seconds either way (default 300). */
  maxSkewSeconds?: number;
  /** Largest accepted body in bytes (default 256 KiB). */
  maxBodyBytes?: number;
  now?: () => number;
  /**
   * Signatures already accepted. DingTalk's `sign` covers the timestamp only, not the body, so a
   * signature seen once must never be accepted again: a captured pair of headers is not a pass to
   * post other bodies for as long as the timestamp is fresh.
   */
  seen?: SeenSignatures;
}

/** Signatures accepted within the freshness window; older ones are forgotten (they are stale anyway). */
export class SeenSignatures {
  private readonly until = new Map<string, number>();

  /** True the first time `sign` is offered; false for a replay. Remembered until `expiresAt`. */
  first(sign: string, now: number, expiresAt: number): boolean {
    for (const [s, t] of this.until) {
      if (t > now) break; // insertion order is expiry order: the rest are younger
      this.until.delete(s);
    }
    if (this.until.has(sign)) return false;
    this.until.set(sign, expiresAt);
    return true;
  }
}

const refuse = (status: number, error: string, refused: string): DingtalkAnswer => ({
  status,
  body: { error },
  refused,
});

/**
 * DingTalk's HTTP robot callback (the message receiving URL of an enterprise robot in HTTP mode).
 * The `sign` header must be the HMAC-SHA256 of `timestamp\nAppSecret` keyed with the AppSecret, the
 * `timestamp` (milliseconds) fresh, the body a robot message for this robot. `deliver` gets each
 * normalised message and the session webhook it came with; the answer is immediate and the reply
 * goes out later through the outbox.
 */
export function handleDingtalkCallback(
  o: DingtalkWebhookOptions,
  raw: string,
  headers: Record<string, string | string[] | undefined>,
  deliver: (event: InboundEvent, webhook?: SessionWebhook) => void,
): DingtalkAnswer {
  const header = (n: string) => {
    const v = headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  if (Buffer.byteLength(raw) > (o.maxBodyBytes ?? 256 * 1024))
    return refuse(413, 'the body is too large for a DingTalk robot message', 'oversized body');
  const timestamp = header('timestamp');
  const sign = header('sign');
  if (!timestamp || !sign) return refuse(401, 'unsigned DingTalk request', 'unsigned request');
  if (!sameSign(robotSign(timestamp, o.appSecret), sign))
    return refuse(401, 'invalid DingTalk request signature', 'bad signature');
  const now = (o.now ?? Date.now)();
  const maxSkew = o.maxSkewSeconds ?? 300;
  const skew = Math.abs(now - Number(timestamp)) / 1000;
  if (!/^\d{13}$/.test(timestamp) || !Number.isFinite(skew) || skew > maxSkew)
    return refuse(401, 'stale DingTalk request timestamp', 'stale timestamp');
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return refuse(400, 'invalid request: the body is not valid JSON', 'body is not JSON');
  }
  const m = robotMessageSchema.safeParse(body);
  if (!m.success) {
    const issue = m.error.issues[0];
    return refuse(
      400,
      `invalid request: not a DingTalk robot message (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
      'not a robot message',
    );
  }
  if (m.data.robotCode !== o.robotCode) return refuse(401, 'the message is for another robot', 'wrong robot');
  // Only a message that would be taken uses up its signature (two real messages of one millisecond
  // share one; DingTalk's scheme cannot tell them apart, and the second is refused).
  if (o.seen && !o.seen.first(sign, now, Number(timestamp) + maxSkew * 1000))
    return refuse(401, 'replayed DingTalk request signature', 'replayed signature');
  const n = normaliseMessage(m.data);
  if (n) deliver(n.event, n.webhook);
  return { status: 200, body: {} };
}
