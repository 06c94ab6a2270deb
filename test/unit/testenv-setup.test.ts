// The test environment's own guarantees: build modules agree with versions.env, and a backend that
// cannot be set up stops the run with one message naming it, the step and the log file.
import { spawnSync } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareBackend } from '../env/prepare.js';

const envDir = path.resolve('test/env');
const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'kubemate-testenv-unit-'));
  temps.push(d);
  return d;
}
async function withCache<T>(cache: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.KUBEMATE_TESTENV_CACHE;
  process.env.KUBEMATE_TESTENV_CACHE = cache;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.KUBEMATE_TESTENV_CACHE;
    else process.env.KUBEMATE_TESTENV_CACHE = saved;
  }
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('committed Go build modules', () => {
  it('each requires exactly the version versions.env pins', () => {
    const r = spawnSync('bash', [path.join(envDir, 'gomod.sh'), 'check'], { encoding: 'utf8' });
    expect(r.stderr).toContain('every build module matches versions.env');
    expect(r.status).toBe(0);
  });

  it('a version bump without re-pinning is caught, naming the module and the fix', async () => {
    const copy = await tempDir();
    for (const f of ['gomod.sh', 'lib.sh', 'gomod'])
      await cp(path.join(envDir, f), path.join(copy, f), { recursive: true });
    const versions = await readFile(path.join(envDir, 'versions.env'), 'utf8');
    await writeFile(
      path.join(copy, 'versions.env'),
      versions.replace(/^KWOK_VERSION=.*$/m, 'KWOK_VERSION=v0.99.0'),
    );
    const r = spawnSync('bash', [path.join(copy, 'gomod.sh'), 'check'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /kwok: gomod\/kwok\/go\.mod requires sigs\.k8s\.io\/kwok v\S+ but versions\.env pins v0\.99\.0/,
    );
    expect(r.stderr).toContain('run: bash test/env/gomod.sh pin kwok');
    expect(r.stderr).not.toContain('kubernetes:');
  });

  it('no build script resolves a module version or lets go.mod change', async () => {
    for (const script of ['build.sh', 'jaeger.sh', 'helm.sh']) {
      const text = await readFile(path.join(envDir, script), 'utf8');
      expect(text, script).not.toMatch(/go (get|install|mod tidy)|@latest|-mod=mod/);
      expect(text, script).toContain('go_pinned_env');
    }
    expect(await readFile(path.join(envDir, 'lib.sh'), 'utf8')).toContain("GOFLAGS='-mod=readonly");
  });
});

describe('backend set-up failures', () => {
  it('stop with the backend, the step, the log file and its last lines', async () => {
    const dir = await tempDir();
    const cache = await tempDir();
    await writeFile(
      path.join(dir, 'broken.sh'),
      [
        'echo "[testenv-build] widget v1: building" >&2',
        'for i in $(seq 1 40); do echo "compiler noise $i" >&2; done',
        'echo "[testenv-build] failed (1): go build widget" >&2',
        'exit 3',
      ].join('\n'),
    );
    await chmod(path.join(dir, 'broken.sh'), 0o755);
    const err = await withCache(cache, () =>
      prepareBackend({ backend: 'widget', step: 'build', script: 'broken.sh', args: ['go'], dir }).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    const logFile = path.join(cache, 'logs', 'broken.log');
    expect(err?.message.split('\n')[0]).toBe(
      `test backend 'widget' failed at step 'build (bash test/env/broken.sh go, exit 3)'; full log: ${logFile}`,
    );
    expect(err?.message).toContain('last step: [testenv-build] failed (1): go build widget');
    expect(err?.message).toContain('compiler noise 40');
    expect(err?.message).not.toContain('compiler noise 10\n');
    expect(await readFile(logFile, 'utf8')).toContain('compiler noise 1\n');
  });

  it('succeed quietly when the script does', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'fine.sh'), 'echo done');
    const cache = await tempDir();
    await withCache(cache, () =>
      expect(
        prepareBackend({ backend: 'fine', step: 'install', script: 'fine.sh', args: [], dir }),
      ).resolves.toBeUndefined(),
    );
    expect(await readFile(path.join(cache, 'logs', 'fine.log'), 'utf8')).toBe('done\n');
  });
});
