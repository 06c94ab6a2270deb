import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Environment for a `kubemate` child process under benchmark: the test cluster, a fresh data dir, quiet logs. */
export function kubemateEnv(kubeconfig: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
    KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig,
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'kubemate',
    KUBEMATE_LOG__LEVEL: 'warn',
    ...extra,
  };
}
