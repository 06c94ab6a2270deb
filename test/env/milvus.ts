// A real Milvus for tests and benchmarks: milvus-lite's gRPC server on loopback, one per call, with
// its data in a fresh temp dir (see test/env/milvus.sh for the cached install).
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';

// The scripts live beside the source; compiled benchmarks run this module from dist/test/env.
const here = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist([\\/]test[\\/]env)$/, '$1');

export interface TestMilvus {
  /** `127.0.0.1:PORT`, as MilvusStore and the SDK take it. */
  address: string;
  /** Stops the server (gracefully, then SIGKILL after 10 s) and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

/** Installs milvus-lite (or finds it in the cache); resolves to the venv directory. */
export function installMilvus(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(here, 'milvus.sh'), 'install'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim().split('\n').at(-1) ?? '');
      else reject(new Error(`test/env/milvus.sh install exited with ${code}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Keeps the last lines a process printed, for error messages. */
function tail(child: ChildProcess, lines = 40): () => string {
  const kept: string[] = [];
  const add = (s: string) => {
    kept.push(...s.split('\n').filter(Boolean));
    kept.splice(0, Math.max(0, kept.length - lines));
  };
  child.stdout?.setEncoding('utf8').on('data', add);
  child.stderr?.setEncoding('utf8').on('data', add);
  return () => kept.join('\n');
}

type Started = { child: ChildProcess; output: () => string } | 'port-taken';

/** Starts the server on `port`; resolves once it says it listens, or 'port-taken' if another process has it. */
function launch(venv: string, dataDir: string, port: number, timeoutMs: number): Promise<Started> {
  const child = spawn(
    path.join(venv, 'bin', 'python'),
    [
      // -B: no __pycache__ left beside serve.py in the repo.
      '-B',
      '-u',
      path.join(here, 'milvus', 'serve.py'),
      'server',
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  );
  const output = tail(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`milvus-lite did not listen within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const onData = (s: string) => {
      if (!s.includes('listening on')) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve({ child, output });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      if (/Address already in use|Failed to bind/.test(output())) resolve('port-taken');
      else reject(new Error(`milvus-lite exited with ${code} before listening:\n${output()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Polls the server's CheckHealth RPC through the SDK the store uses, until it reports healthy. */
async function waitHealthy(address: string, timeoutMs: number): Promise<void> {
  const client = new MilvusClient({ address, timeout: 2_000, logLevel: 'error' });
  client.connectPromise.catch(() => {});
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const health = await client.checkHealth().catch(() => undefined);
      if (health?.isHealthy) return;
      if (Date.now() > deadline)
        throw new Error(`milvus-lite at ${address} did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await client.closeConnection();
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Starts milvus-lite on a free loopback port with an empty data dir, and waits until it answers. */
export async function startMilvus(opts: { startTimeoutMs?: number } = {}): Promise<TestMilvus> {
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const venv = await installMilvus();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kubemate-milvus-'));
  let started: Started = 'port-taken';
  let port = 0;
  try {
    // serve.py turns SO_REUSEPORT off, so a port taken since freePort() fails and we pick another.
    for (let attempt = 0; attempt < 5 && started === 'port-taken'; attempt++) {
      port = await freePort();
      started = await launch(venv, dataDir, port, timeoutMs);
    }
    if (started === 'port-taken') throw new Error('milvus-lite: no free port after 5 attempts');
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { child, output } = started;
  // Last resort if the test runner exits without calling stop().
  const onExit = () => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', onExit);
      await terminate(child);
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const address = `127.0.0.1:${port}`;
  try {
    await waitHealthy(address, timeoutMs);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output()}`);
  }
  return { address, stop };
}
