import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The AES key of an Encrypt Key, derived once: a hash per delivery is work the hot path need not do. */
const derived = new Map<string, Buffer>();
function aesKeyOf(encryptKey: string): Buffer {
  let key = derived.get(encryptKey);
  if (!key) {
    key = createHash('sha256').update(encryptKey).digest();
    if (derived.size >= 16) derived.clear(); // one app has one key; a few at most during tests
    derived.set(encryptKey, key);
  }
  return key;
}

/**
 * Feishu/Lark event encryption: AES-256-CBC, the key the SHA-256 of the app's Encrypt Key, the IV
 * the first 16 bytes of the base64 payload, PKCS#7 padding. Throws on anything that does not decrypt.
 */
export function decryptEvent(encryptKey: string, encrypted: string): string {
  const key = aesKeyOf(encryptKey);
  const bytes = Buffer.from(encrypted, 'base64');
  if (bytes.length < 32 || bytes.length % 16 !== 0) throw new Error('the ciphertext has a wrong length');
  const decipher = createDecipheriv('aes-256-cbc', key, bytes.subarray(0, 16));
  const plain = Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()]);
  return utf8.decode(plain);
}

/** The inverse, as Feishu's servers do it (random IV first); tests and the local Feishu server use it. */
export function encryptEvent(encryptKey: string, plain: string): string {
  const key = createHash('sha256').update(encryptKey).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

/** `X-Lark-Signature`: hex SHA-256 of timestamp + nonce + Encrypt Key + the raw body. */
export function eventSignature(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return createHash('sha256')
    .update(timestamp + nonce + encryptKey + body)
    .digest('hex');
}

export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
