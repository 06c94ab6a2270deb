import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-config-'));
  const path = join(dir, 'kubemate.yaml');
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('starts on embedded defaults with no file', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(cfg.policy.readOnly).toBe(false);
    expect(cfg.output.maxTokens).toBe(6000);
  });

  it('names the bad key, what was given and the expected form', () => {
    const message = errorOf(() => loadConfig({ file: file('server:\n  port: eighty\n'), env: {} }));
    expect(message).toContain('server.port');
    expect(message).toContain('given "eighty"');
    expect(message).toMatch(/expected number/);
  });

  it('rejects unknown keys and lists the known ones', () => {
    const message = errorOf(() => loadConfig({ file: file('sever:\n  port: 1\n'), env: {} }));
    expect(message).toContain('sever: unknown key');
    expect(message).toContain('known keys here: dataDir, log, server');
  });

  it('checks token hashes', () => {
    const message = errorOf(() =>
      loadConfig({
        file: file('auth:\n  tokens:\n    - name: ci\n      sha256: abc\n      principal: { id: ci }\n'),
        env: {},
      }),
    );
    expect(message).toContain('auth.tokens.0.sha256: must be the 64-hex-digit SHA-256');
  });

  it('applies environment overrides over the file, and names the variable when one is wrong', () => {
    const path = file('server:\n  port: 9000\npolicy:\n  readOnly: false\n');
    const cfg = loadConfig({
      file: path,
      env: { KUBEMATE_SERVER__PORT: '9100', KUBEMATE_POLICY__READ_ONLY: 'true' },
    });
    expect(cfg.server.port).toBe(9100);
    expect(cfg.policy.readOnly).toBe(true);
    const message = errorOf(() => loadConfig({ file: path, env: { KUBEMATE_SERVER__PORT: 'high' } }));
    expect(message).toContain('server.port');
    expect(message).toContain('(from KUBEMATE_SERVER__PORT)');
  });

  it('reports YAML syntax errors and unreadable files clearly', () => {
    expect(errorOf(() => loadConfig({ file: file('server: [\n'), env: {} }))).toContain('is not valid YAML');
    expect(errorOf(() => loadConfig({ file: '/nonexistent/kubemate.yaml', env: {} }))).toContain(
      'cannot read config file',
    );
  });
});

describe('configuration from the environment, hardened', () => {
  it('refuses an empty variable instead of dropping the setting it names', () => {
    const path = file('policy:\n  readOnly: true\n');
    for (const value of ['', '~', 'null']) {
      expect(() => loadConfig({ file: path, env: { KUBEMATE_POLICY__READ_ONLY: value } })).toThrow(
        'KUBEMATE_POLICY__READ_ONLY is set but empty',
      );
    }
    expect(() => loadConfig({ file: path, env: { KUBEMATE_POLICY: '' } })).toThrow(
      'KUBEMATE_POLICY is set but empty',
    );
  });

  it('ignores the variables Kubernetes injects for a Service named kubemate', () => {
    const cfg = loadConfig({
      env: {
        KUBEMATE_PORT: 'tcp://10.0.0.1:8080',
        KUBEMATE_SERVICE_HOST: '10.0.0.1',
        KUBEMATE_PORT_8080_TCP_ADDR: '10.0.0.1',
      },
    });
    expect(cfg.server.port).toBe(8080);
  });

  it("ignores the test environment's variables, so a process started from a test run can start", () => {
    const cfg = loadConfig({
      env: {
        KUBEMATE_TEST_KUBECONFIG: '/tmp/kubeconfig',
        KUBEMATE_TESTENV_CACHE: '/tmp/cache',
        KUBEMATE_SERVER__PORT: '9000',
      },
    });
    expect(cfg.server.port).toBe(9000);
    expect(() => loadConfig({ env: { KUBEMATE_TESTS: 'x' } })).toThrow(/tests: unknown key/);
  });

  it('kubemate.example.yaml is a valid configuration whose values are the defaults', () => {
    const example = loadConfig({ file: 'kubemate.example.yaml', env: {} });
    const defaults = loadConfig({ env: {} });
    expect(example.bots.slack).toEqual(defaults.bots.slack);
    expect(example.alerts).toEqual(defaults.alerts);
    expect(example.server).toEqual(defaults.server);
  });

  it('the sample error in docs/configuration.md is what Kubemate really prints', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const sample = /```\nkubemate: (invalid configuration in kubemate\.yaml:[\s\S]*?)\n```/.exec(doc)?.[1];
    expect(sample).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'kubemate-doc-'));
    writeFileSync(join(dir, 'kubemate.yaml'), 'server:\n  port: eighty\nsever: {}\n');
    let message = '';
    try {
      loadConfig({ file: join(dir, 'kubemate.yaml'), env: {} });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.replace(join(dir, 'kubemate.yaml'), 'kubemate.yaml')).toBe(sample);
  });

  it('chat channels no binding lists allow no changes unless configured to', () => {
    const env = {
      KUBEMATE_BOTS__SLACK__ENABLED: 'true',
      KUBEMATE_BOTS__SLACK__BOT_TOKEN: 'xoxb-test',
      KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'secret',
    };
    expect(loadConfig({ env }).bots.slack.defaultAllowWrites).toBe(false);
    expect(
      loadConfig({ env: { ...env, KUBEMATE_BOTS__SLACK__DEFAULT_ALLOW_WRITES: 'true' } }).bots.slack
        .defaultAllowWrites,
    ).toBe(true);
  });
});
