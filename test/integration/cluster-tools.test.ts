import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  testKubeconfig,
  uniqueName,
  waitFor,
  waitForRunningPods,
} from '../support/kube.js';

const namespace = uniqueName('tools');
// Cross-namespace listings select by this label too, so pods of other test files never match.
const suite = { 'kubemate-test': namespace };
const me = { id: 'local:test', groups: ['local'], source: 'cli' as const };
let app: App;
let runningPod: string;

beforeAll(async () => {
  await createNamespace(namespace);
  await createDeployment(namespace, 'api', 2, suite);
  const pods = await waitForRunningPods(namespace, 'app=api', 2);
  runningPod = pods[0]!.metadata!.name!;
  // A pod no node can hold: it stays Pending with a scheduler warning.
  await adminClients().core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'too-big', labels: { ...suite, app: 'too-big' } },
      spec: {
        containers: [
          { name: 'main', image: 'registry.local/big:1', resources: { requests: { cpu: '5000' } } },
        ],
      },
    },
  });
  await adminClients().core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: `${runningPod}.custom` },
      involvedObject: { kind: 'Pod', name: runningPod, namespace },
      type: 'Warning',
      reason: 'ProbeFailed',
      message: 'Readiness probe failed: HTTP 503 password=hunter2hunter2',
      lastTimestamp: new Date(Date.now() - 60_000),
      count: 4,
      source: { component: 'test' },
    },
  });
  app = buildApp(kubemateConfig(), silentLogger);
});

afterAll(async () => {
  await deleteNamespace(namespace);
});

describe('cluster tools against the real API server', () => {
  it('namespaces_list finds the test namespace', async () => {
    const r = await app.pipeline.invoke('namespaces_list', {}, me);
    expect(r.status).toBe('success');
    const items = (r.structured as { items: Array<{ name: string; status: string }> }).items;
    expect(items).toContainEqual(expect.objectContaining({ name: namespace, status: 'Active' }));
    expect(items.map((i) => i.name)).toEqual(expect.arrayContaining(['default', 'kube-system']));
  });

  it('pods_list puts the unhealthy pod first with exact totals by status', async () => {
    await waitFor('the scheduler to mark too-big unschedulable', async () => {
      const pod = await adminClients().core.readNamespacedPod({ namespace, name: 'too-big' });
      return pod.status?.conditions?.some((c) => c.reason === 'Unschedulable') ? true : undefined;
    });
    const r = await app.pipeline.invoke('pods_list', { namespace }, me);
    const s = r.structured as {
      total: number;
      byStatus: Record<string, number>;
      items: Array<{ name: string }>;
    };
    expect(s.total).toBe(3);
    expect(s.byStatus).toEqual({ Running: 2, Pending: 1 });
    expect(s.items[0]!.name).toBe('too-big');
    expect(r.text).toContain('3 pods in namespace');
    expect(r.text).toContain('2 Running, 1 Pending. Not ready: 1.');

    const unhealthy = await app.pipeline.invoke(
      'pods_list',
      { unhealthy: true, labelSelector: `app in (api,too-big),kubemate-test=${namespace}` },
      me,
    );
    expect((unhealthy.structured as { items: Array<{ name: string; namespace: string }> }).items).toEqual([
      expect.objectContaining({ name: 'too-big', namespace }),
    ]);
    expect(unhealthy.text).toContain('(2 healthy pods not listed.)');
  });

  it('pods_get explains a running pod and an unschedulable one', async () => {
    const ok = await app.pipeline.invoke('pods_get', { namespace, name: runningPod }, me);
    expect(ok.status).toBe('success');
    const s = ok.structured as {
      node: string;
      containers: Array<{ name: string; ready: boolean; state: string }>;
      events: Array<{ reason: string }>;
    };
    expect(s.node).toMatch(/^kwok-node-/);
    expect(s.containers).toEqual([expect.objectContaining({ name: 'main', ready: true })]);
    expect(s.containers[0]!.state).toMatch(/^running since/);
    expect(s.events[0]!.reason).toBe('ProbeFailed');
    expect(ok.text).toContain('Recent events (warnings first):');
    expect(ok.text).toContain('Warning ProbeFailed ×4');
    expect(ok.text).not.toContain('hunter2hunter2');

    const pending = await app.pipeline.invoke('pods_get', { namespace, name: 'too-big' }, me);
    expect(pending.text).toContain('Pending');
    expect(pending.text).toMatch(/Not scheduled: .*Insufficient cpu/);
  });

  it('events_list shows warnings first and filters by involved object', async () => {
    const all = await app.pipeline.invoke('events_list', { namespace }, me);
    const items = (all.structured as { items: Array<{ type: string; reason: string; object: string }> })
      .items;
    const firstNormal = items.findIndex((i) => i.type === 'Normal');
    const lastWarning = items.map((i) => i.type).lastIndexOf('Warning');
    expect(lastWarning).toBeGreaterThanOrEqual(0);
    expect(firstNormal === -1 || lastWarning < firstNormal).toBe(true);
    expect(items.map((i) => i.reason)).toEqual(expect.arrayContaining(['ProbeFailed', 'FailedScheduling']));

    const one = await app.pipeline.invoke('events_list', { namespace, kind: 'Pod', name: 'too-big' }, me);
    const oneItems = (one.structured as { items: Array<{ object: string }> }).items;
    expect(oneItems.length).toBeGreaterThan(0);
    expect(oneItems.every((i) => i.object === 'Pod/too-big')).toBe(true);

    const warnings = await app.pipeline.invoke('events_list', { namespace, warningsOnly: true }, me);
    expect(
      (warnings.structured as { items: Array<{ type: string }> }).items.every((i) => i.type === 'Warning'),
    ).toBe(true);
  });

  it('reads long lists page by page, fetching ahead, and loses nothing', async () => {
    const cluster = app.clusters.get('kubemate');
    const pages: number[] = [];
    const names: string[] = [];
    await cluster.raw.pages<{ metadata: { name: string } }>(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (items) => {
        pages.push(items.length);
        for (const i of items) names.push(i.metadata.name);
      },
      1,
    );
    expect(pages).toEqual([1, 1, 1]);
    const direct = await adminClients().core.listNamespacedPod({ namespace });
    expect(names.sort()).toEqual(direct.items.map((p) => p.metadata!.name!).sort());
  });

  it('bad arguments give a clear error and make no backend call', async () => {
    const spy = vi.spyOn(app.clusters, 'get');
    const r = await app.pipeline.invoke('pods_list', { namespace: 'Not_A_Namespace', unhealthy: 'yes' }, me);
    expect(r.status).toBe('invalid');
    expect(r.text).toContain('namespace: must be a Kubernetes namespace name');
    expect(r.text).toContain('unhealthy: Invalid input: expected boolean');
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('an unknown cluster gives a clear error listing the known ones', async () => {
    const r = await app.pipeline.invoke('pods_list', { cluster: 'prod-east' }, me);
    expect(r).toMatchObject({ status: 'error', errorCode: 'unknown_cluster' });
    expect(r.text).toBe(`unknown cluster 'prod-east'; known clusters: ${app.clusters.names().join(', ')}`);
    expect(app.clusters.names()).toEqual(expect.arrayContaining(['admin', 'kubemate']));
  });

  it('a mistyped namespace is not found, with a suggestion', async () => {
    const typo = namespace.slice(0, -1);
    const r = await app.pipeline.invoke('pods_list', { namespace: typo }, me);
    expect(r.errorCode).toBe('not_found');
    expect(r.text).toContain(
      `namespace '${typo}' not found in cluster 'kubemate'; did you mean '${namespace}'?`,
    );
  });

  it("surfaces the cluster's own RBAC refusal as a clear tool error", async () => {
    const r = await app.pipeline.invoke('pods_list', { cluster: 'alice', namespace }, me);
    expect(r).toMatchObject({ status: 'error', errorCode: 'forbidden' });
    expect(r.text).toContain(
      `cannot list pods in namespace '${namespace}' in cluster 'alice': forbidden by the cluster's RBAC`,
    );
  });

  it('a cluster that is down gives a clear error naming it, quickly', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(testKubeconfig());
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: 'https://127.0.0.1:1' }));
    const path = join(tmpdir(), `${uniqueName('dead')}.kubeconfig`);
    writeFileSync(path, kc.exportConfig());
    const down = buildApp(kubemateConfig({}, path), silentLogger);
    const started = Date.now();
    const r = await down.pipeline.invoke('namespaces_list', {}, me);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r).toMatchObject({ status: 'error', errorCode: 'backend_unavailable' });
    expect(r.text).toContain("cluster 'kubemate' at https://127.0.0.1:1 is unreachable");
  });
});
