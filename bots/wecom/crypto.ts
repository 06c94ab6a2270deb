import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * WeCom callback cryptography (企业微信回调加解密). The AES key is the EncodingAESKey (43 characters)
 * base64-decoded with a trailing `=`: 32 bytes, its first 16 the IV. AES-256-CBC, PKCS#7 padding to
 * a multiple of 32 bytes. Plain text: 16 random bytes, the message length (4 bytes, big-endian), the
 * message, then the receiver id (the corp id), which the caller must check.
 */
export function aesKeyOf(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (encodingAesKey.length !== 43 || key.length !== 32)
    throw new Error('the EncodingAESKey must be the 43 characters shown in the WeCom admin console');
  return key;
}

/** msg_signature: SHA-1 (hex) of token, timestamp, nonce and the ciphertext, sorted and joined. */
export function wecomSignature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypted].sort().join('')).digest('hex');
}

export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function wecomDecrypt(key: Buffer, encrypted: string): { message: string; receiveId: string } {
  const bytes = Buffer.from(encrypted, 'base64');
  if (bytes.length === 0 || bytes.length % 32 !== 0) throw new Error('the ciphertext has a wrong length');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(bytes), decipher.final()]);
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > 32 || padded.subarray(padded.length - pad).some((b) => b !== pad))
    throw new Error('bad padding');
  const plain = padded.subarray(0, padded.length - pad);
  if (plain.length < 20) throw new Error('the plain text is too short');
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new Error('the message length is out of range');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  return {
    message: utf8.decode(plain.subarray(20, 20 + length)),
    receiveId: utf8.decode(plain.subarray(20 + length)),
  };
}

/** The inverse, as WeCom's servers do it; the local WeCom server and tests use it. */
export function wecomEncrypt(key: Buffer, message: string, receiveId: string): string {
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([randomBytes(16), length, body, Buffer.from(receiveId, 'utf8')]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
}
