// vitest globalSetup: makes a real cluster available to tests as inject('kubeconfig').
// With KUBEMATE_TEST_KUBECONFIG set (e.g. from test/env/up.sh) that running cluster is used as is;
// otherwise a fresh one is started (binaries built or taken from the cache) and stopped afterwards.
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  if (external) {
    provide('kubeconfig', external);
    return undefined;
  }
  const cluster = await startCluster();
  provide('kubeconfig', cluster.kubeconfigPath);
  return () => cluster.stop();
}
