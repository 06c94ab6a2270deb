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

describe('redaction of common Kubernetes and tool secrets', () => {
  it.each([
    ['SECRET_KEY=abc123', 'abc123'],
    ['dbPassword: hunter2', 'hunter2'],
    ['password=ab', '=ab'],
    ['password: "correct horse battery staple"', 'horse battery'],
    ['redis://:pw123@cache:6379', 'pw123'],
    ['token ghp_abcdefghijklmnopqrstuvwxyz0123', 'ghp_abcdefghijklmnopqrstuvwxyz0123'],
    [
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC… (cut)',
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    ],
  ])('hides %j', (text, secret) => {
    expect(defaultRedactor(text)).not.toContain(secret);
  });

  it('masks env entries named like secrets, camelCase keys and kubeconfig key data', () => {
    const out = redactDeep(
      {
        env: [
          { name: 'DB_PASSWORD', value: 's3cr3t-value' },
          { name: 'LOG_LEVEL', value: 'debug' },
        ],
        adminToken: 'tok-12345',
        'client-key-data': 'LS0tLS1CRUdJTi',
        'tls.key': 'LS0tLS1CRUdJTk',
        auth: 'dXNlcjpwYXNz',
      },
      defaultRedactor,
    );
    const text = JSON.stringify(out);
    for (const secret of ['s3cr3t-value', 'tok-12345', 'LS0tLS1CRUdJTi', 'LS0tLS1CRUdJTk', 'dXNlcjpwYXNz']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('"value":"debug"');
  });
});
