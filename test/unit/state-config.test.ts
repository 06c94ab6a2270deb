// state.url in the configuration: the forms accepted, a clear error naming them, no password echoed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';
import { buildApp, openApp } from '../../app/wiring.js';
import { parseStateUrl } from '../../state/url.js';

const load = (env: Record<string, string>) =>
  loadConfig({ env: { KUBEMATE_DATA_DIR: '/tmp/km-data', ...env } });

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kubemate-state-config-')), 'kubemate.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe('state.url', () => {
  it('defaults to SQLite files in dataDir', () => {
    const c = loadConfig({ env: {} });
    expect(c.state.url).toEqual({ kind: 'sqlite' });
  });

  it('accepts sqlite:<folder> (the data folder) and postgres URLs', () => {
    const c = loadConfig({ file: configFile('state:\n  url: sqlite:/var/lib/kubemate\n'), env: {} });
    expect(c.state.url).toEqual({ kind: 'sqlite', dir: '/var/lib/kubemate' });
    expect(c.dataDir).toBe(resolve('/var/lib/kubemate'));
    const url = 'postgres://kubemate:s3cret@db.bank.internal:5432/kubemate?sslmode=require';
    expect(loadConfig({ file: configFile(`state:\n  url: ${url}\n`), env: {} }).state.url).toEqual({
      kind: 'postgres',
      url,
    });
    expect(parseStateUrl('postgresql://db/kubemate')).toEqual({
      kind: 'postgres',
      url: 'postgresql://db/kubemate',
    });
  });

  it('refuses other forms with a message naming the accepted ones, never echoing a password', () => {
    const bad = () =>
      loadConfig({ file: configFile('state:\n  url: mysql://root:hunter2@db/km\n'), env: {} });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(
      /state\.url: 'mysql:\/\/root:\*\*\*@db\/km' is not a state URL; use 'sqlite:'.*'postgres:\/\/user:password@host:5432\/database'/,
    );
    let message = '';
    try {
      bad();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toContain('hunter2');
    expect(() => loadConfig({ file: configFile('state:\n  url: postgres://u:pw@db\n'), env: {} })).toThrow(
      /names no database/,
    );
  });

  it('never echoes a password holding / @ or :, one in a query, or a URL put where an object belongs', () => {
    const messageOf = (yaml: string) => {
      try {
        loadConfig({ file: configFile(yaml), env: {} });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    for (const [yaml, secret] of [
      ['state:\n  url: mysql://u:abc/def@h:5432/db\n', 'abc/def'],
      ['state:\n  url: "mysql://u:p@ss:w@h/db"\n', 'ss:w'],
      ['state:\n  url: "postgres://u@h?password=s3cr3t"\n', 's3cr3t'],
      ['state: "postgres://u:hunter2@h/db"\n', 'hunter2'],
      // A libpq keyword string and a mistyped URL are not URLs redactUrl can read: hidden whole.
      ['state:\n  url: "host=db user=u password=S3cretKw dbname=k"\n', 'S3cretKw'],
      ['state:\n  url: "postgres:/u:S3cretTypo@db/k"\n', 'S3cretTypo'],
      // Secrets put where they do not fit (too short, beside their file) are not echoed either.
      ['audit:\n  hmacKey: short-key-hunter3\n', 'hunter3'],
      ['bots:\n  slack:\n    botToken: 42\n', '42'],
    ] as const) {
      const message = messageOf(yaml);
      expect(message, yaml).not.toContain(secret);
      expect(message, yaml).toMatch(/given (.*\*\*\*|\(hidden)/);
    }
  });

  it('refuses sqlite:<folder> naming another folder than dataDir', () => {
    expect(() =>
      loadConfig({ file: configFile('dataDir: /srv/a\nstate:\n  url: sqlite:/srv/b\n'), env: {} }),
    ).toThrow("state.url: 'sqlite:/srv/b' names another folder than dataDir (/srv/a)");
  });

  it('is read from the environment too', () => {
    expect(load({ KUBEMATE_STATE__URL: 'postgres://db:5432/km' }).state.url).toEqual({
      kind: 'postgres',
      url: 'postgres://db:5432/km',
    });
  });

  it('the synchronous builder refuses PostgreSQL: only openApp migrates the database and opens the shared stores', () => {
    const c = load({ KUBEMATE_STATE__URL: 'postgres://db:5432/km' });
    expect(() => buildApp(c, { info() {}, warn() {}, error() {}, child: () => ({}) } as never)).toThrow(
      /must be opened with openApp/,
    );
  });

  it('an unreachable database stops the app from opening, with the URL shown without its password', async () => {
    const c = load({ KUBEMATE_STATE__URL: 'postgres://km:s3cret@127.0.0.1:1/km' });
    const logger = { info() {}, warn() {}, error() {}, child: () => logger } as never;
    const opening = openApp(c, logger);
    await expect(opening).rejects.toThrow(
      /cannot open the state database postgres:\/\/km:\*\*\*@127\.0\.0\.1:1\/km: /,
    );
    await expect(opening).rejects.not.toThrow(/s3cret/);
  });
});

describe('how long a ticket may be executing before it is taken for lost', () => {
  it('outlasts the longest approved call any tool allows (a model pull), not only the pipeline timeout', async () => {
    const { executingLimit } = await import('../../app/wiring.js');
    const { buildRegistry } = await import('../../tools/index.js');
    const registry = buildRegistry();
    const pull = registry.find('model_pull');
    expect(pull?.timeoutMs).toBeGreaterThan(60 * 60_000);
    expect(executingLimit(30_000, registry)).toBe(pull!.timeoutMs! + 60_000);
    expect(executingLimit(30_000, registry)).toBeGreaterThan(30_000 + 60_000);
  });
});
