import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { KubeClusters } from '../../tools/clients/kube.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  testKubeconfig,
  uniqueName,
} from '../support/kube.js';
import { who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
  pat: [slack:UPAT]
groups:
  auditors: [bob]
  night-shift: [bob]
bindings:
  - subjects: [alice, bob, pat]
    roles: [viewer]
impersonation:
  enabled: true
`;

const shared = uniqueName('audited');
let app: App;

beforeAll(async () => {
  await createNamespace(shared);
  // The cluster lets group "auditors" view this namespace; Kubemate's policy lets everyone read everywhere.
  await adminClients()
    .kc.makeApiClient((await import('@kubernetes/client-node')).RbacAuthorizationV1Api)
    .createNamespacedRoleBinding({
      namespace: shared,
      body: {
        metadata: { name: 'auditors-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'auditors' }],
      },
    });
  // pat may list pods in every namespace but may not list namespaces.
  const rbac = adminClients().kc.makeApiClient(
    (await import('@kubernetes/client-node')).RbacAuthorizationV1Api,
  );
  await rbac.createClusterRole({
    body: {
      metadata: { name: `${shared}-pods` },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${shared}-pods` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${shared}-pods` },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'pat' }],
    },
  });
  await adminClients().core.createNamespacedPod({
    namespace: shared,
    body: {
      metadata: { name: 'marker', labels: { marker: shared } },
      spec: { containers: [{ name: 'c', image: 'x:1' }] },
    },
  });
  const cfg = kubemateConfig();
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
});

afterAll(async () => {
  app?.close();
  const rbac = adminClients().kc.makeApiClient(
    (await import('@kubernetes/client-node')).RbacAuthorizationV1Api,
  );
  await rbac.deleteClusterRoleBinding({ name: `${shared}-pods` }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: `${shared}-pods` }).catch(() => undefined);
  await deleteNamespace(shared);
});

describe('Kubernetes impersonation', () => {
  it("the cluster's RBAC is a second wall: allowed by Kubemate, refused by the API server", async () => {
    const r = await app.pipeline.invoke('pods_list', { namespace: 'default' }, who('slack:UALICE'));
    expect(r.decision).toMatchObject({ effect: 'allow' });
    expect(r).toMatchObject({ status: 'error', errorCode: 'forbidden' });
    expect(r.text).toContain(
      "cannot list pods in namespace 'default' in cluster 'kubemate' as alice: forbidden by the cluster's RBAC",
    );
    expect(r.text).toContain('User "alice" cannot list resource "pods"');
  });

  it('the same person reads where the cluster lets them', async () => {
    const r = await app.pipeline.invoke('pods_list', { namespace: 'team-a' }, who('slack:UALICE'));
    expect(r.status === 'success' || r.status === 'no_data').toBe(true);
    expect(r.text).toContain("in namespace 'team-a'");
  });

  it('every group is sent as its own Impersonate-Group header', async () => {
    const ok = await app.pipeline.invoke('events_list', { namespace: shared }, who('slack:UBOB'));
    expect(ok.isError).toBe(false);
    const refused = await app.pipeline.invoke('events_list', { namespace: 'default' }, who('slack:UBOB'));
    expect(refused.errorCode).toBe('forbidden');
    expect(refused.text).toContain('as bob');
  });

  it('lists pods in every namespace for someone who may not list namespaces', async () => {
    const r = await app.pipeline.invoke(
      'pods_list',
      { labelSelector: `marker=${shared}` },
      who('slack:UPAT'),
    );
    expect(r.status, r.text).toBe('success');
    expect((r.structured as { items: Array<{ namespace: string; name: string }> }).items).toEqual([
      expect.objectContaining({ namespace: shared, name: 'marker' }),
    ]);
  });

  it('never asks the API server for a system: group, whatever the identity mapping says', async () => {
    // A mapping that asks for cluster-admin: were system:masters sent, both reads would succeed.
    const clusters = new KubeClusters({ kubeconfig: testKubeconfig(), defaultCluster: 'kubemate' });
    clusters.impersonate(() => ({ user: 'mallory', groups: ['system:masters', 'System:Masters'] }));
    const cluster = clusters.as(who('slack:UMALLORY')).get();
    await expect(cluster.core.listNamespacedPod({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
    await expect(cluster.raw.get('/api/v1/namespaces/default/pods')).rejects.toMatchObject({ code: 403 });
  });

  it('audits the decision and the refused result with the person behind the chat identity', async () => {
    const log = app.audit as unknown as {
      tail(n: number): Array<{ person?: string; kind: string; outcome?: string }>;
    };
    const recent = log.tail(50);
    expect(recent.some((e) => e.person === 'alice' && e.kind === 'result' && e.outcome === 'error')).toBe(
      true,
    );
  });
});
