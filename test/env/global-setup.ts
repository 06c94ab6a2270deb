// vitest globalSetup: makes a real cluster available to tests as inject('kubeconfig').
// With KUBEMATE_TEST_KUBECONFIG set (e.g. from test/env/up.sh) that running cluster is used as is;
// otherwise a fresh one is started (binaries built or taken from the cache) and stopped afterwards.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The other real backends, so that `npm test` alone sets up a fresh machine: Prometheus, Alertmanager
 * and node_exporter (Debian packages), Jaeger (built once from the Go module proxy) and milvus-lite
 * (a cached venv). Each step is idempotent and takes well under a second once done.
 */
function prepareBackends(): void {
  for (const [script, verb] of [
    ['observability.sh', 'install'],
    ['jaeger.sh', 'build'],
    ['milvus.sh', 'install'],
  ] as const) {
    const run = spawnSync('bash', [path.join(here, script), verb], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (run.status !== 0)
      throw new Error(`test/env/${script} ${verb} failed (exit ${run.status}); see its output above`);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<(() => Promise<void>) | undefined> {
  prepareBackends();
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  if (external) {
    provide('kubeconfig', external);
    return undefined;
  }
  const cluster = await startCluster();
  provide('kubeconfig', cluster.kubeconfigPath);
  return () => cluster.stop();
}
