// vitest globalSetup: makes a real cluster available to tests as inject('kubeconfig').
// With KUBEMATE_TEST_KUBECONFIG set (e.g. from test/env/up.sh) that running cluster is used as is;
// otherwise a fresh one is started (binaries built or taken from the cache) and stopped afterwards.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.js';
import { startOllama } from './ollama.js';
import { BackendSetupError, prepareBackend } from './prepare.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Every real backend, so that `npm test` alone sets up a fresh machine: the cluster's binaries and
 * Jaeger and helm (built once from the committed Go modules), Prometheus, Alertmanager and node_exporter
 * (Debian packages), milvus-lite (a cached venv) and Ollama with two small models (built and fetched
 * once, pinned). Each step is idempotent and takes well under a
 * second once done. The first that fails stops the run with one message naming it and its log.
 */
const BACKENDS = [
  { backend: 'kubernetes (etcd, kube-apiserver, kwok)', script: 'build.sh', args: [], step: 'build' },
  { backend: 'prometheus and alertmanager', script: 'observability.sh', args: ['install'], step: 'install' },
  { backend: 'jaeger', script: 'jaeger.sh', args: ['build'], step: 'build' },
  { backend: 'milvus-lite', script: 'milvus.sh', args: ['install'], step: 'install' },
  { backend: 'ollama (and its two test models)', script: 'ollama.sh', args: ['install'], step: 'build' },
  { backend: 'helm', script: 'helm.sh', args: ['build'], step: 'build' },
] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** A real Ollama on loopback with TEST_CHAT_MODEL and TEST_EMBED_MODEL (test/env/ollama.ts). */
    ollamaUrl: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  for (const b of BACKENDS) await prepareBackend({ ...b, args: [...b.args], dir: here });
  const ollama = await startOllama().catch((err: unknown) => {
    throw new BackendSetupError(
      'ollama',
      'start and create the test models (test/env/ollama.ts)',
      undefined,
      err instanceof Error ? err.message : String(err),
    );
  });
  provide('ollamaUrl', ollama.url);
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  if (external) {
    provide('kubeconfig', external);
    return () => ollama.stop();
  }
  const cluster = await startCluster().catch(async (err: unknown) => {
    await ollama.stop();
    throw new BackendSetupError(
      'kubernetes cluster',
      'start (test/env/cluster.sh up)',
      undefined,
      err instanceof Error ? err.message : String(err),
    );
  });
  provide('kubeconfig', cluster.kubeconfigPath);
  return async () => {
    await ollama.stop();
    await cluster.stop();
  };
}
