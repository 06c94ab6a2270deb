// Hostile-input properties of the redactor: (a) its work is linear in the input, whatever the
// input, and (b) a credential planted in any of the shapes it promises to catch, anywhere in
// random surrounding text (log lines, YAML, JSON, command arrays), never comes out.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultRedactor, redactDeep, redactLines } from '../../tools/core/redact.js';

import { ADVERSARIAL, fill, MB } from '../support/redaction-adversarial.js';

/** CPU time of one call, in ms: what the call costs, not how busy the machine is. */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const ATOMS = [
  'a',
  ' ',
  '\n',
  ':',
  '=',
  '"',
  "'",
  '\\',
  '-',
  '.',
  '@',
  '/',
  '{',
  '}',
  '[',
  ']',
  ',',
  'password',
  'token',
  'name',
  'value',
  'Authorization',
  'Cookie',
  '-----BEGIN PRIVATE KEY-----',
  '-----END ',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHC',
  '://',
  'eyJ',
  'sk-',
  'sk_live_',
  'AKIA',
  'mysql',
  '-p',
  '-u',
  '|',
  '→',
];

/** Best of three: the least disturbed measurement. */
const best = (run: () => void) => Math.min(...[1, 2, 3].map(() => cpuMs(run)));

/**
 * How fast this machine is right now: one trivial pass over 1 MB of log lines (words and
 * punctuation). About 5–10 ms on an idle CI core; several times more on an overloaded one.
 */
function referencePass(): number {
  const text = fill('2024-01-01T00:00:00Z INFO GET /api/v1/pods 200 12ms user=bob\n', MB);
  const pass = () => {
    let n = 0;
    for (const m of text.matchAll(/[A-Za-z0-9_]+|[^A-Za-z0-9_\s]/g)) n += m[0].length;
    return n;
  };
  pass();
  return best(pass);
}

describe('the redactor runs in linear time', () => {
  let reference = 0;
  beforeAll(() => {
    reference = referencePass();
  });

  /**
   * About 4 times the cost of 256 KB, where a quadratic cost is 16 times, and 1 MB within a ceiling
   * no linear pass misses and a quadratic one misses by orders of magnitude (the old patterns took
   * 0.9 s for 20 KB). CPU time, the best of three runs after a warm-up: what the redactor costs,
   * not how many other processes share the cores. The 100 ms target itself is measured by
   * `npm run bench -- redact`, not here, so a busy machine cannot fail this test.
   */
  function expectLinear(text1mb: string) {
    const quarter = text1mb.slice(0, MB / 4);
    defaultRedactor(quarter.slice(0, 20_000)); // warm-up: compile the patterns and the scanner
    const small = best(() => defaultRedactor(quarter));
    const large = best(() => defaultRedactor(text1mb));
    expect(large).toBeLessThan(Math.max(1000, 40 * reference));
    expect(large).toBeLessThan(10 * Math.max(small, 2));
  }

  it.each(Object.entries(ADVERSARIAL))(
    '1 MB of %s',
    (_name, unit) => {
      expectLinear(fill(unit, MB));
    },
    60_000,
  );

  it('1 MB of random mixes of the characters and words the patterns look for', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ATOMS), { minLength: 1, maxLength: 40 }), (atoms) => {
        expectLinear(fill(atoms.join(''), MB));
      }),
      { numRuns: 8 },
    );
    // Eight megabytes redacted and timed: the time limit of the test is not the property (linearity
    // is checked by ratio above), so a busy machine gets room.
  }, 120_000);

  it('bounds text beyond its cap: the rest is replaced by a note, never shown unchecked', () => {
    const text = `${fill('password=hunter2 ', 4 * MB)}password=tail-secret`;
    const out = defaultRedactor(text);
    expect(out).not.toContain('tail-secret');
    expect(out).not.toContain('hunter2');
    expect(out).toMatch(/more characters not shown: too long to check for credentials\)$/);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) Planted credentials

/** A secret value: long enough to be unique in the text, no separators, mixed case and digits. */
const secretValue = fc.stringMatching(/^[A-Z][a-z][0-9][A-Za-z0-9]{9,20}$/);
const passwordValue = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#%^*+~._]{8,20}[A-Za-z0-9]$/);
const b64Line = fc.stringMatching(/^[A-Za-z0-9+/]{64}$/);

interface Planted {
  /** The credential as a line of log or config text. */
  text: string;
  /** Every part that must never appear in the output. */
  secrets: string[];
  /** A name/value env entry, for the structured contexts. */
  env?: { name: string; value: string };
  /** A command line, for the command-array contexts. */
  argv?: string[];
}

const forms: Array<fc.Arbitrary<Planted>> = [
  // key=value and key: value, in the spellings logs and configs use
  fc
    .tuple(
      fc.constantFrom(
        ['password=', ''],
        ['DB_PASSWORD=', ''],
        ['PGPASSWORD=', ' psql'],
        ['api_key=', '&page=2'],
        ['aws_secret_access_key = ', ''],
        ['dbPassword: ', ''],
        ['client_secret: ', ''],
        ['"password": "', '"'],
        ['"apiKey":"', '"'],
        ["token='", "'"],
        ['SECRET_KEY := ', ''],
        ['--db-password=', ' --port=5432'],
        ['--token=', ''],
        ['X-Api-Key: ', ''],
        ['X-Auth-Token: ', ''],
        ['PRIVATE-TOKEN: ', ''],
        ['connection_string=', ';Timeout=30'],
        ['spring.datasource.password=', ''],
        ['GET /callback?access_token=', '&state=1 HTTP/1.1'],
        ['<password>', '</password>'],
        ['headers=map[Accept:[*/*] Authorization:[Token ', ']]'],
        ['-Djavax.net.ssl.keyStorePassword=', ' -jar app.jar'],
      ),
      passwordValue,
    )
    .map(([[key, tail], v]) => ({ text: `${key}${v}${tail}`, secrets: [v] })),
  // headers
  fc
    .tuple(
      fc.constantFrom(
        'Authorization: Bearer ',
        'Authorization: Token ',
        'Authorization: Basic ',
        'authorization: token ',
        'Proxy-Authorization: Basic ',
        'Cookie: session=',
        'Cookie: theme=dark; session=',
        'Set-Cookie: sessionid=',
      ),
      secretValue,
    )
    .map(([head, v]) => ({ text: `${head}${v}; Path=/`, secrets: [v] })),
  // space-separated and flag-separated values
  fc
    .tuple(
      fc.constantFrom(
        'client_secret ',
        'clientSecret ',
        'DB_PASSWORD ',
        '--db-password ',
        '--token ',
        '--password  ',
      ),
      passwordValue,
    )
    .map(([key, v]) => ({
      text: `${key}${v} --verbose`,
      secrets: [v],
      ...(key.startsWith('-') ? { argv: ['app', key.trim(), v, '--verbose'] } : {}),
    })),
  // command lines of well-known clients
  fc
    .tuple(
      fc.constantFrom(
        (v: string) => ['mysql', '-u', 'root', `-p${v}`, 'payments'],
        (v: string) => ['mysqldump', '-uapp', `-p${v}`, 'db'],
        (v: string) => ['redis-cli', '-h', 'cache', '-a', v, 'ping'],
        (v: string) => ['sshpass', '-p', v, 'ssh', 'host'],
        (v: string) => ['curl', '-u', `admin:${v}`, 'https://grafana/api'],
        (v: string) => ['docker', 'login', '-u', 'bot', '-p', v, 'registry'],
      ),
      passwordValue,
    )
    .map(([argv, v]) => ({ text: argv(v).join(' '), secrets: [v], argv: argv(v) })),
  // URLs with credentials
  fc
    .tuple(
      fc.constantFrom('postgres://app:', 'redis://:', 'mongodb+srv://user:', 'https://bot:'),
      passwordValue,
    )
    .map(([start, v]) => ({ text: `url ${start}${v}@db.internal:5432/x`, secrets: [v] })),
  // credentials recognised by their shape
  fc
    .tuple(
      fc.constantFrom(
        (v: string) => `sk_live_${v}`,
        (v: string) => `rk_test_${v}`,
        (v: string) => `sk-proj-${v}${v}`,
        (v: string) => `sk-${v}${v}`,
        (v: string) => `AIza${v}${v}${v}`.slice(0, 39),
        (v: string) => `ghp_${v}${v}${v}`.slice(0, 40),
        (v: string) => `github_pat_${v}_${v}`,
        (v: string) => `glpat-${v}${v}`,
        (v: string) => `xoxb-1234-${v}`,
        (v: string) => `hf_${v}${v}${v}`,
        (v: string) => `npm_${v}${v}${v}`,
        (v: string) => `eyJhbGciOiJIUzI1NiJ9.eyJ${v}.${v}`,
        (v: string) => `AKIA${v.toUpperCase().replace(/[^A-Z0-9]/g, 'X')}ABCDEFGHIJKLMNOP`.slice(0, 20),
        (v: string) => `SG.${v}${v}.${v}${v}`,
      ),
      secretValue,
    )
    .map(([shape, v]) => ({ text: `using key ${shape(v)} for upstream`, secrets: [shape(v)] })),
  // env entries (the structured contexts also render these as YAML and JSON)
  fc
    .tuple(
      fc.constantFrom('DB_PASSWORD', 'API_TOKEN', 'STRIPE_SECRET_KEY', 'REDIS_PASS', 'Authorization'),
      passwordValue,
    )
    .map(([name, v]) => ({
      text: `{"name":"${name}","value":"${v}"}`,
      secrets: [v],
      env: { name, value: v },
    })),
  fc
    .tuple(fc.constantFrom('DB_PASSWORD', 'API_TOKEN', 'SIGNING_KEY'), passwordValue, fc.boolean())
    .map(([name, v, valueFirst]) => ({
      text: valueFirst ? `- value: ${v}\n  name: ${name}` : `- name: ${name}\n  value: ${v}`,
      secrets: [v],
    })),
  fc
    .tuple(fc.constantFrom('DB_PASSWORD', 'API_TOKEN'), passwordValue)
    .map(([name, v]) => ({ text: `env: [{name: ${name}, value: ${v}}]`, secrets: [v] })),
  // diff lines of plans and write results
  fc
    .tuple(fc.constantFrom('DB_PASSWORD', 'API_TOKEN', 'Authorization'), passwordValue, passwordValue)
    .filter(([, a, b]) => !a.includes(b) && !b.includes(a))
    .map(([name, a, b]) => ({
      text: `  ~ spec.template.spec.containers[api].env[${name}].value: "${a}" → "${b}"`,
      secrets: [a, b],
    })),
  // private key blocks: with or without the END line, with or without a log prefix on each line
  fc
    .tuple(
      fc.array(b64Line, { minLength: 2, maxLength: 6 }),
      fc.constantFrom('RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY'),
      fc.boolean(),
      fc.constantFrom('', '2024-05-01T10:00:00.123Z ', 'api-7d9f8 | '),
    )
    .map(([lines, label, withEnd, prefix]) => ({
      text: [
        `${prefix}-----BEGIN ${label}-----`,
        ...lines.map((l) => `${prefix}${l}`),
        ...(withEnd ? [`${prefix}-----END ${label}-----`] : []),
      ].join('\n'),
      secrets: lines,
    })),
];

const planted = fc.oneof(...forms);

/** Log-like filler: words, numbers, punctuation, and lines that look like config. */
const fillerLine = fc.oneof(
  fc.lorem({ maxCount: 12 }),
  fc.stringMatching(/^[ -~]{0,80}$/),
  fc.constantFrom(
    '2024-05-01T10:00:00Z INFO request served in 12ms',
    'level=info msg="connected" user=bob retries=3',
    'replicas: 3',
    'image: registry.example/api:1.4.2',
    '{"level":"warn","msg":"slow query","ms":812}',
    '  - containerPort: 8080',
    'the password reset mail was sent; passwordless login is on',
  ),
);
const SENTINEL = 'ERROR payment processor down (sentinel)';

describe('a planted credential never comes out', () => {
  it('in a log, at a random line, between random lines', () => {
    fc.assert(
      fc.property(
        planted,
        fc.array(fillerLine, { maxLength: 8 }),
        fc.array(fillerLine, { maxLength: 8 }),
        (p, before, after) => {
          const log = [...before, p.text, SENTINEL, ...after].join('\n');
          const out = defaultRedactor(log);
          for (const s of p.secrets) expect(out).not.toContain(s);
          expect(out).toContain(SENTINEL);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('in a log line quoted inside JSON (escaped quotes and \\n)', () => {
    fc.assert(
      fc.property(planted, fc.array(fillerLine, { maxLength: 4 }), (p, around) => {
        const json = JSON.stringify({
          ts: '2024-05-01T10:00:00Z',
          log: [...around, p.text, SENTINEL].join('\n'),
        });
        const out = defaultRedactor(json);
        for (const s of p.secrets) expect(out).not.toContain(s);
        expect(out).toContain(SENTINEL);
      }),
      { numRuns: 300 },
    );
  });

  it('in a log read line by line (a pod log or a Loki stream)', () => {
    fc.assert(
      fc.property(planted, fc.array(fillerLine, { maxLength: 6 }), (p, before) => {
        const out = redactLines([...before, ...p.text.split('\n'), SENTINEL]);
        for (const s of p.secrets) expect(out.join('\n')).not.toContain(s);
        expect(out.at(-1)).toBe(SENTINEL);
      }),
      { numRuns: 200 },
    );
  });

  it('in a manifest, as YAML and as JSON text, and as the structured object', () => {
    fc.assert(
      fc.property(
        planted,
        fc.array(fc.tuple(fc.stringMatching(/^[A-Z][A-Z_]{2,12}$/), fc.lorem({ maxCount: 3 })), {
          maxLength: 4,
        }),
        (p, others) => {
          const env = [
            ...others
              .filter(([n]) => !/PASS|TOKEN|KEY|SECRET|AUTH|CRED|PWD|PIN|DSN/.test(n))
              .map(([name, value]) => ({ name, value })),
            ...(p.env ? [p.env] : []),
            { name: 'LOG_LEVEL', value: SENTINEL },
          ];
          const pod = {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'api', annotations: { note: p.text } },
            spec: {
              containers: [
                {
                  name: 'api',
                  image: 'api:1',
                  env,
                  ...(p.argv ? { command: p.argv.slice(0, 1), args: p.argv.slice(1) } : {}),
                },
              ],
            },
          };
          for (const text of [stringify(pod), JSON.stringify(pod), JSON.stringify(pod, null, 2)]) {
            const out = defaultRedactor(text);
            for (const s of p.secrets) expect(out).not.toContain(s);
            expect(out).toContain(SENTINEL);
          }
          const structured = JSON.stringify(redactDeep(pod, defaultRedactor));
          for (const s of p.secrets) expect(structured).not.toContain(s);
          expect(structured).toContain(SENTINEL);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('in a command array, as JSON, as a YAML list and as the structured array', () => {
    const withArgv = planted.filter((p) => p.argv !== undefined);
    fc.assert(
      fc.property(withArgv, (p) => {
        const argv = p.argv!;
        for (const text of [JSON.stringify(argv), stringify({ command: argv }), argv.join(' ')]) {
          const out = defaultRedactor(text);
          for (const s of p.secrets) expect(out).not.toContain(s);
        }
        const structured = JSON.stringify(redactDeep({ args: argv }, defaultRedactor));
        for (const s of p.secrets) expect(structured).not.toContain(s);
      }),
      { numRuns: 150 },
    );
  });
});
