// Kubemate as a package: `npm pack`, then `npm install -g` of the tarball into an empty prefix gives
// a `kubemate` on PATH that works away from the checkout, with its prompts and shipped runbooks.
// Slow (npm installs the runtime dependencies and builds better-sqlite3), so it is one test file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const work = mkdtempSync(path.join(tmpdir(), 'kubemate-package-'));
const prefix = path.join(work, 'prefix');
const home = path.join(work, 'home');
const bin = path.join(prefix, 'bin', 'kubemate');
/** A user's shell away from the checkout: no kubeconfig, no config file, nothing of the test run. */
const userEnv = { PATH: `${path.dirname(bin)}:${process.env.PATH ?? ''}`, HOME: home };

beforeAll(async () => {
  // dist/ is built by `npm test`; --ignore-scripts skips prepack's second build.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { timeout: 120_000 });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      path.join(work, tarball),
    ],
    { timeout: 900_000, env: { ...process.env, npm_config_loglevel: 'error' } },
  );
}, 1_000_000);

describe('the installed package', () => {
  it('prints its version from anywhere', async () => {
    const { stdout } = await run(bin, ['--version'], { cwd: work, env: userEnv });
    expect(stdout.trim()).toBe(version);
  });

  it('lists its tools; without a policy file only the ones that change nothing', async () => {
    const { stdout } = await run(bin, ['tools', 'list'], { cwd: work, env: userEnv });
    expect(stdout).toMatch(/^pods_list\s+read\s+Pods: List$/m);
    expect(stdout).toContain('runbooks_search');
    expect(stdout).not.toContain('deployment_scale');
  });

  it('searches the runbooks it ships', async () => {
    const { stdout } = await run(bin, ['runbooks', 'search', 'x509 certificate has expired'], {
      cwd: work,
      env: userEnv,
      timeout: 120_000,
    });
    expect(stdout).toMatch(/certificate/i);
    expect(stdout).toMatch(/\.md/);
  });

  it('serves its prompt files over MCP stdio', async () => {
    const client = new Client({ name: 'package-test', version: '1' });
    await client.connect(new StdioClientTransport({ command: bin, args: ['mcp'], cwd: work, env: userEnv }));
    try {
      const got = await client.getPrompt({
        name: 'incident_triage',
        arguments: { symptom: 'pods restarting' },
      });
      const text = JSON.stringify(got.messages);
      expect(text).toContain('pods restarting');
      expect(text.length).toBeGreaterThan(200);
    } finally {
      await client.close();
    }
  });
});
