import { describe, expect, it } from 'vitest';
import { defaultRedactor, redactDeep, redactLines, redactLog } from '../../tools/core/redact.js';
import { reduceStreams } from '../../tools/logs/reduce.js';

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
    ['X-Api-Key: hunter2xyz', 'hunter2xyz'],
    [
      '{"key":"-----BEGIN PRIVATE KEY-----\\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\\n-----END PRIVATE KEY-----\\n"}',
      'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
    ],
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

// A private key body: 64-character base64 lines as OpenSSL writes them.
const KEY_LINES = [
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  'LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo',
];

describe('redaction time', () => {
  it('stays linear on long runs of word characters (quadratic before: 40,000 characters took seconds)', () => {
    const text = `${'a'.repeat(200_000)} ${'x.'.repeat(50_000)}password=hunter2 ${'b:'.repeat(50_000)}@`;
    const started = performance.now();
    const out = defaultRedactor(text);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(out).not.toContain('hunter2');
  });
});

describe('redaction of credentials in manifests, diffs, command lines and headers', () => {
  it.each([
    [
      'YAML env entry',
      'env:\n- name: DB_PASSWORD\n  value: hunter2xyz\n- name: LOG_LEVEL\n  value: debug',
      'hunter2xyz',
    ],
    ['YAML env entry, value first', '- value: hunter2xyz\n  name: DB_PASSWORD', 'hunter2xyz'],
    ['flow-style env entry', 'env: [{name: DB_PASSWORD, value: hunter2xyz}]', 'hunter2xyz'],
    ['JSON env entry', '{"env":[{"name":"DB_PASSWORD","value":"hunter2xyz"}]}', 'hunter2xyz'],
    ['JSON env entry, value first', '[{"value":"hunter2xyz","name":"API_TOKEN"}]', 'hunter2xyz'],
    ['probe header', 'httpHeaders:\n- name: Authorization\n  value: Token hunter2xyz', 'hunter2xyz'],
    [
      'diff line, old value',
      '~ spec.template.spec.containers[api].env[DB_PASSWORD].value: "oldpw111" → "newpw222"',
      'oldpw111',
    ],
    [
      'diff line, new value',
      '~ spec.template.spec.containers[api].env[DB_PASSWORD].value: "oldpw111" → "newpw222"',
      'newpw222',
    ],
    ['flag and separate argument', 'args: --db-password hunter2xyz --verbose', 'hunter2xyz'],
    ['flag in a JSON args array', '"args":["--db-password","hunter2xyz"]', 'hunter2xyz'],
    ['flag in a YAML args list', 'args:\n- --token\n- hunter2xyz\n', 'hunter2xyz'],
    ['mysql -p with the password attached', 'command: mysql -u root -phunter2xyz payments', 'hunter2xyz'],
    ['mysql -p in a JSON command array', '["mysqladmin","-uroot","-phunter2xyz","ping"]', 'hunter2xyz'],
    ['redis-cli -a', 'redis-cli -h cache -a hunter2xyz ping', 'hunter2xyz'],
    ['curl -u user:password', 'curl -fsS -u admin:hunter2xyz https://grafana/api', 'hunter2xyz'],
    [
      'Stripe live key in args',
      'args: ["--stripe", "sk_live_51HxAbCdEfGhIjKlMn"]',
      'sk_live_51HxAbCdEfGhIjKlMn',
    ],
    [
      'bare OpenAI-style key',
      'calling model with sk-proj-AbCdEf123456GhIjKl7890mnop',
      'AbCdEf123456GhIjKl7890mnop',
    ],
    [
      'Google API key',
      'maps key AIzaSyA-1234567890abcdefghijklmnopqrstu',
      'AIzaSyA-1234567890abcdefghijklmnopqrstu',
    ],
    [
      'Authorization: Token',
      'GET /api Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b',
      '9944b09199c62bcf',
    ],
    ['Cookie header', 'request headers: Cookie: session=7f3k2j9d8s7a6; theme=dark', '7f3k2j9d8s7a6'],
    ['Set-Cookie header', 'Set-Cookie: session=7f3k2j9d8s7a6; Path=/; HttpOnly', '7f3k2j9d8s7a6'],
    ['space-separated client_secret', 'oauth config client_secret hunter2xyz loaded', 'hunter2xyz'],
    ['Go http.Header dump', 'headers=map[Accept:[*/*] Authorization:[Token 9944b09199c6]]', '9944b09199c6'],
    ['XML element', '<server><username>u</username><password>hunter2xyz</password></server>', 'hunter2xyz'],
    ['escaped JSON inside a log line', '{"msg":"{\\"password\\":\\"hunter2xyz\\"}"}', 'hunter2xyz'],
  ])('hides the %s', (_name, text, secret) => {
    const out = defaultRedactor(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  it('masks only the value: the words around it, the names that say what was masked and prose stay', () => {
    expect(defaultRedactor('Authorization: Token 9944b09199c62bcf')).toBe('Authorization: Token [REDACTED]');
    expect(
      defaultRedactor('- name: DB_PASSWORD\n  value: hunter2xyz\n- name: LOG_LEVEL\n  value: debug'),
    ).toBe('- name: DB_PASSWORD\n  value: [REDACTED]\n- name: LOG_LEVEL\n  value: debug');
    expect(defaultRedactor('mysql -u root -phunter2xyz payments')).toBe(
      'mysql -u root -p[REDACTED] payments',
    );
    for (const text of [
      'passwordless login is enabled; the password reset mail was sent',
      'token_count: 5, max_tokens: 512, secretName: db-creds, passwordFile: /run/secrets/db',
      'the client_secret is missing from the request',
      'docker run -p 8080:80 nginx; ssh -p 2222 host',
      'Data keys (values are never shown): api-token (14 bytes), password (14 bytes)',
    ]) {
      expect(defaultRedactor(text)).toBe(text);
    }
  });

  it('is idempotent: redacting redacted text changes nothing', () => {
    for (const [text, secret] of [
      ['password=hunter2xyz user=bob', 'hunter2xyz'],
      ['mysql -uroot -phunter2xyz', 'hunter2xyz'],
      [
        `-----BEGIN RSA PRIVATE KEY-----\n${KEY_LINES.join('\n')}\n-----END RSA PRIVATE KEY-----`,
        KEY_LINES[0]!,
      ],
      ['~ env[DB_PASSWORD].value: "a1b2c3d4" → "e5f6g7h8"', 'e5f6g7h8'],
    ] as const) {
      const once = defaultRedactor(text);
      expect(once).not.toContain(secret);
      expect(defaultRedactor(once)).toBe(once);
    }
  });
});

describe('private key blocks', () => {
  it('masks a key with no END line up to the end of the key material, not the rest of the log', () => {
    const log = [
      '2024-05-01T10:00:00Z INFO loading signing key',
      '-----BEGIN RSA PRIVATE KEY-----',
      ...KEY_LINES,
      '2024-05-01T10:00:01Z ERROR payment processor down: connection refused',
      '2024-05-01T10:00:02Z INFO retrying in 5s',
    ].join('\n');
    const out = defaultRedactor(log);
    for (const line of KEY_LINES) expect(out).not.toContain(line);
    expect(out).toContain('ERROR payment processor down: connection refused');
    expect(out).toContain('INFO retrying in 5s');
    expect(out).toContain('-----BEGIN RSA PRIVATE KEY-----');
  });

  it('masks key lines that carry a log prefix, with or without the END line', () => {
    const prefixed = KEY_LINES.map((l) => `2024-05-01T10:00:00Z ${l}`);
    for (const end of [['2024-05-01T10:00:00Z -----END PRIVATE KEY-----'], []]) {
      const log = [
        '2024-05-01T10:00:00Z -----BEGIN PRIVATE KEY-----',
        ...prefixed,
        ...end,
        '2024-05-01T10:00:01Z ERROR payment processor down',
      ].join('\n');
      const out = defaultRedactor(log);
      for (const line of KEY_LINES) expect(out).not.toContain(line);
      expect(out).toContain('2024-05-01T10:00:01Z ERROR payment processor down');
    }
  });

  it('masks a key split over log lines that arrive newest first (Loki, backward)', () => {
    const lines = [
      '-----BEGIN EC PRIVATE KEY-----',
      ...KEY_LINES,
      '-----END EC PRIVATE KEY-----',
      'ERROR payment processor down',
    ];
    const values = lines.map(
      (line, i) => [String(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n), line] as [string, string],
    );
    const out = reduceStreams([{ stream: { app: 'api' }, values: values.reverse() }], {
      startMs: 1_699_999_999_000,
      endMs: 1_700_000_001_000,
      limit: 100,
      direction: 'backward',
      textBudget: 20_000,
    });
    const text = JSON.stringify(out);
    for (const line of KEY_LINES) expect(text).not.toContain(line);
    expect(text).toContain('payment processor down');
  });

  it.each([10, 62, 64, 100, 400])(
    'keeps YAML whole when a secret-named key holds a nested map, indented %i columns',
    (indent) => {
      const pad = ' '.repeat(indent);
      // A Pod's projected service account token inside a deeply nested object (a List, a template).
      const yaml = `${pad}- serviceAccountToken:\n${pad}    expirationSeconds: 3607\n${pad}    path: token\n${pad}- password:\n${pad}    hunter2secret\n`;
      const out = defaultRedactor(yaml);
      expect(out).toContain(`${pad}    expirationSeconds: 3607\n`);
      expect(out).toContain(`${pad}    path: token\n`);
      expect(out).not.toContain('hunter2secret');
      expect(out).toContain(`${pad}    [REDACTED]\n`);
    },
  );

  it('redacts a log line for line, so a key block is masked on each of its lines', () => {
    const lines = [
      'start',
      '-----BEGIN PRIVATE KEY-----',
      ...KEY_LINES,
      '-----END PRIVATE KEY-----',
      'ERROR after',
    ];
    const out = redactLines(lines);
    expect(out).toHaveLength(lines.length);
    expect(out.slice(2, 5)).toEqual(['[REDACTED]', '[REDACTED]', '[REDACTED]']);
    expect(out.at(-1)).toBe('ERROR after');
    expect(redactLog(lines.join('\n')).split('\n')).toEqual(out);
  });
});

describe('redaction of structured values', () => {
  it('masks the argument after a secret flag, mysql -pX and user:password in command arrays', () => {
    const out = redactDeep(
      {
        containers: [
          {
            name: 'db',
            command: ['mysql'],
            args: ['-uroot', '-phunter2xyz', '--db-password', 'other9secret'],
          },
          { name: 'cache', command: ['redis-cli', '-a', 'redis5secret', 'ping'] },
          { name: 'ok', args: ['--port', '8080', '-v'] },
        ],
      },
      defaultRedactor,
    );
    const text = JSON.stringify(out);
    for (const secret of ['hunter2xyz', 'other9secret', 'redis5secret']) expect(text).not.toContain(secret);
    expect(out.containers[2]).toEqual({ name: 'ok', args: ['--port', '8080', '-v'] });
  });

  it('masks numbers under secret keys and header values named like credentials', () => {
    const out = redactDeep(
      {
        pin: 1234,
        password: 99887766,
        httpHeaders: [{ name: 'X-Api-Key', value: 'k3y-v4lue' }],
        replicas: 3,
      },
      defaultRedactor,
    );
    expect(out).toEqual({
      pin: '[REDACTED]',
      password: '[REDACTED]',
      httpHeaders: [{ name: 'X-Api-Key', value: '[REDACTED]' }],
      replicas: 3,
    });
  });

  it("keeps a __proto__ key as a key, never as the copy's prototype", () => {
    const input = JSON.parse('{"__proto__":{"polluted":"password=hunter2x"},"data":{"__proto__":"a"}}');
    const out = redactDeep(input, defaultRedactor) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'data']);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe(
      '{"__proto__":{"polluted":"password=[REDACTED]"},"data":{"__proto__":"a"}}',
    );
  });
});
