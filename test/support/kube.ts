import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../app/config.js';

export function testKubeconfig(): string {
  return inject('kubeconfig');
}

/** Test setup acts as the cluster admin; Kubemate itself runs as the `kubemate` user. */
export function adminClients(kubeconfig = testKubeconfig()) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('admin');
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

export function kubemateConfig(
  overrides: Record<string, unknown> = {},
  kubeconfig = testKubeconfig(),
): Config {
  return loadConfig({
    env: {
      KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
      KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig,
      KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'kubemate',
      KUBEMATE_LOG__LEVEL: 'silent',
      ...Object.fromEntries(
        Object.entries(overrides).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      ),
    },
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}

export async function createNamespace(name: string): Promise<void> {
  await adminClients().core.createNamespace({ body: { metadata: { name } } });
}

export async function deleteNamespace(name: string): Promise<void> {
  await adminClients()
    .core.deleteNamespace({ name })
    .catch(() => undefined);
}

/** A Deployment whose pods are labelled app=<name>, plus `labels` (e.g. one unique to the test file). */
export async function createDeployment(
  namespace: string,
  name: string,
  replicas: number,
  labels: Record<string, string> = {},
): Promise<void> {
  await adminClients().apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels: { ...labels, app: name } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { ...labels, app: name } },
          spec: { containers: [{ name: 'main', image: `registry.local/${name}:1.0` }] },
        },
      },
    },
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * Until the Deployment's own status counts `replicas` ready: its controller updates the status a
 * little after the pods are ready, and plans ("2 ready now") read the status.
 */
export async function waitForDeploymentReady(
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  await waitFor(`deployment ${namespace}/${name} to report ${replicas} ready`, async () => {
    const d = await adminClients().apps.readNamespacedDeployment({ namespace, name });
    return (d.status?.readyReplicas ?? 0) === replicas ? true : undefined;
  });
}

export async function waitForRunningPods(
  namespace: string,
  labelSelector: string,
  count: number,
): Promise<V1Pod[]> {
  return waitFor(`${count} running pods (${labelSelector}) in ${namespace}`, async () => {
    const pods = await adminClients().core.listNamespacedPod({ namespace, labelSelector });
    const running = pods.items.filter(
      (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready),
    );
    return running.length === count && pods.items.length === count ? running : undefined;
  });
}
