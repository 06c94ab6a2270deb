// Helpers for tests and benchmarks that need a real Kubernetes API server (see test/env/cluster.sh).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';

// The scripts live beside the source; compiled benchmarks run this module from dist/test/env.
const here = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist([\\/]test[\\/]env)$/, '$1');

export interface TestCluster {
  /** kubeconfig with contexts admin (current), kubemate and alice. */
  kubeconfigPath: string;
  stateDir: string;
  /** API server URL, https://127.0.0.1:PORT */
  server: string;
  /** Stops every process of the cluster and removes stateDir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Runs a script under test/env; its stderr (progress, timings) goes to ours; resolves to its stdout. */
function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(here, script), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`test/env/${script} ${args.join(' ')} exited with ${code}`));
    });
  });
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

/** Builds (or finds in the cache) the cluster binaries; returns their directory. */
export async function buildBinaries(): Promise<string> {
  return lastLine(await runScript('build.sh', []));
}

/** Parses the KEY=VALUE lines of $STATE/env. */
async function readEnv(file: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** Builds the binaries if needed and starts a cluster with `nodes` fake nodes (default 3) in a temp dir. */
export async function startCluster(opts: { nodes?: number } = {}): Promise<TestCluster> {
  const binDir = await buildBinaries();
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kubemate-testenv-'));
  const down = () => runScript('cluster.sh', ['down', stateDir]);
  // Last resort if the test runner exits without calling stop().
  const onExit = () => {
    spawnSync('bash', [path.join(here, 'cluster.sh'), 'down', stateDir], { stdio: 'ignore' });
  };
  process.once('exit', onExit);
  try {
    await runScript('cluster.sh', ['up'], {
      KUBEMATE_TESTENV_DIR: stateDir,
      KUBEMATE_TESTENV_BINDIR: binDir,
      KUBEMATE_TESTENV_NODES: String(opts.nodes ?? 3),
    });
  } catch (err) {
    process.off('exit', onExit);
    await down().catch(() => {});
    throw err;
  }
  const env = await readEnv(path.join(stateDir, 'env'));
  let stopped: Promise<void> | undefined;
  return {
    kubeconfigPath: env.KUBECONFIG ?? path.join(stateDir, 'kubeconfig'),
    stateDir,
    server: env.KUBEMATE_TESTENV_SERVER ?? '',
    stop() {
      process.off('exit', onExit);
      stopped ??= down().then(() => {});
      return stopped;
    },
  };
}

function fakeNode(name: string): V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

const isReady = (node: V1Node): boolean =>
  node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * Creates `count` kwok-managed fake nodes named `${prefix}0..count-1` (32 cpu, 256Gi, 110 pods each;
 * no taints), `concurrency` requests at a time, and waits until all are Ready. Existing nodes are kept.
 * Uses the kubeconfig's current context (admin for clusters started here). Returns the node names.
 */
export async function createFakeNodes(
  kubeconfigPath: string,
  count: number,
  prefix = 'kwok-node-',
  opts: { concurrency?: number; timeoutMs?: number } = {},
): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const concurrency = opts.concurrency ?? 32;

  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        await api.createNode({ body: fakeNode(name) });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));

  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const wanted = new Set(names);
  for (;;) {
    const list = await api.listNode({ labelSelector: 'type=kwok' });
    const ready = list.items.filter((n) => wanted.has(n.metadata?.name ?? '') && isReady(n)).length;
    if (ready === names.length) return names;
    if (Date.now() > deadline) throw new Error(`only ${ready}/${names.length} fake nodes Ready`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
