// What a newcomer meets on the command line: messages instead of stack traces, a version, a config
// check that looks at the files a config names, and quiet commands unless a log level is asked for.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, runKubemate } from '../support/cli.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'kubemate-cli-'));
/** A user with no kubeconfig at all (an empty home), so nothing here reaches a cluster. */
const env = (extra: Record<string, string> = {}) => ({
  ...baseEnv(),
  HOME: dir(),
  KUBEMATE_DATA_DIR: dir(),
  ...extra,
});

// Each case starts the CLI once or twice; on a busy 2-core machine that takes seconds.
describe('the CLI speaks to people', { timeout: 60_000 }, () => {
  it('prints its version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await runKubemate(['--version'], env());
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it.each(['abc', '99999', '-1', '80.5'])('refuses --port %s with what a port is', async (port) => {
    const r = await runKubemate(['serve', '--port', port], env());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`'${port}' is not a port; give a number from 0 to 65535.`);
    expect(r.stderr).not.toMatch(/RangeError|\n\s+at /);
  });

  it('says which port is taken instead of throwing EADDRINUSE', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await runKubemate(['serve', '--port', String(port)], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `port ${port} on 127.0.0.1 is already in use; stop what holds it or choose another with --port`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  });

  it('config check looks at the files a configuration names', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'kubeconfig'), 'garbage: [\n');
    writeFileSync(path.join(d, 'policy.yaml'), 'version: 1\nbindings: nope\n');
    writeFileSync(
      path.join(d, 'kubemate.yaml'),
      `policy:\n  file: ${d}/policy.yaml\nkubernetes:\n  kubeconfig: ${d}/kubeconfig\nrunbooks:\n  dirs: [${d}/missing-runbooks]\n`,
    );
    const r = await runKubemate(['config', 'check', path.join(d, 'kubemate.yaml')], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the configuration is valid, but files it refers to are not');
    expect(r.stderr).toMatch(/- policy\.file: [^\n]*policy\.yaml[\s\S]*bindings: Invalid input/);
    expect(r.stderr).toMatch(/- kubernetes\.kubeconfig: cannot load kubeconfig/);
    expect(r.stderr).toContain(`- runbooks.dirs[0]: ${d}/missing-runbooks does not exist`);

    writeFileSync(path.join(d, 'ok.yaml'), 'server:\n  port: 9000\n');
    const ok = await runKubemate(['config', 'check', path.join(d, 'ok.yaml')], env());
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid. Serving on 127.0.0.1:9000');
  });

  it('docs tools --write refuses a file without markers, with the markers to add', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'plain.md'), '# nothing here\n');
    const r = await runKubemate(['docs', 'tools', '--write', path.join(d, 'plain.md')], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no tool table markers; add these two lines');
    expect(readFileSync(path.join(d, 'plain.md'), 'utf8')).toBe('# nothing here\n');
    const missing = await runKubemate(['docs', 'tools', '--write', path.join(d, 'absent.md')], env());
    expect(missing.stderr).toContain('ENOENT');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('commands other than serve and mcp print no info logs, even with a config file', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'kubemate.yaml'), 'server:\n  port: 9000\n');
    const quiet = await runKubemate(['--config', path.join(d, 'kubemate.yaml'), 'tools', 'list'], env());
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('pods_list');
    expect(quiet.stderr).not.toContain('"level":30');
    const asked = await runKubemate(
      ['--config', path.join(d, 'kubemate.yaml'), 'tools', 'call', 'namespaces_list'],
      env({ KUBEMATE_LOG__LEVEL: 'info' }),
    );
    expect(asked.stderr).toContain('"level":30');
  });
});
