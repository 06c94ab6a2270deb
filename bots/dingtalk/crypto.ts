import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `sign` header of DingTalk's HTTP robot callback: base64 of HMAC-SHA256, keyed with the app
 * secret, over `timestamp + "\n" + app secret` (the same scheme as a custom robot's signed webhook).
 */
export function robotSign(timestamp: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');
}

/** Constant-time comparison of two signatures as sent (base64 text). */
export function sameSign(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
