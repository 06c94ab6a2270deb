import { describe, expect, it } from 'vitest';
import { defaultRedactor, redactDeep } from '../../tools/core/redact.js';

describe('redaction', () => {
  it.each([
    ['password=s3cr3tvalue', 's3cr3tvalue'],
    ['"client_secret": "abcdef123"', 'abcdef123'],
    [
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl',
      'c2lnbmF0dXJlLXZhbHVl',
    ],
    ['url postgres://app:pa55word@db:5432/x', 'pa55word'],
    ['key AKIAABCDEFGHIJKLMNOP here', 'AKIAABCDEFGHIJKLMNOP'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----', 'MIIEabc'],
  ])('hides the secret in %j', (text, secret) => {
    const out = defaultRedactor(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  it('leaves ordinary operational text alone', () => {
    const text = 'pod api-7d9 CrashLoopBackOff, secretName: db-creds, tokens used 512, exit code 137';
    expect(defaultRedactor(text)).toBe(text);
  });

  it('masks values of secret-named keys in structured data', () => {
    expect(
      redactDeep({ env: { password: 'x', name: 'ok' }, list: ['token=abcdef'] }, defaultRedactor),
    ).toEqual({
      env: { password: '[REDACTED]', name: 'ok' },
      list: ['token=[REDACTED]'],
    });
  });
});
