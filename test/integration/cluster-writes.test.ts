import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, PolicyV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { maskSecretValues } from '../../tools/cluster/apply.js';
import type { InvokeResult } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { createFakeNodes } from '../env/cluster.js';
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
import { who } from '../support/policy.js';

// Default approvals: every write needs one approval from another person who may run it.
const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  carol: [slack:UCAROL]
  dave: [slack:UDAVE]
bindings:
  - subjects: [alice, carol]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
`;

const alice = who('slack:UALICE');
const carol = who('slack:UCAROL');
const dave = who('slack:UDAVE');

const ns = uniqueName('writes');
const nodeGroup = uniqueName('kmw');
const taint = { key: 'kubemate.test/writes', value: nodeGroup, effect: 'NoSchedule' };
let nodes: string[] = [];
let app: App;

const admin = () => adminClients();
const deploymentOf = (name: string) => admin().apps.readNamespacedDeployment({ namespace: ns, name });

beforeAll(async () => {
  await createNamespace(ns);
  // Fresh nodes, tainted so that only this file's pods land on them.
  nodes = await createFakeNodes(testKubeconfig(), 2, `${nodeGroup}-`);
  for (const name of nodes) {
    await admin().core.patchNode({ name, body: [{ op: 'add', path: '/spec/taints', value: [taint] }] });
  }
  const cfg = kubemateConfig({ KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin' });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
});

afterAll(async () => {
  app?.close();
  await deleteNamespace(ns);
  // Nodes go last: kwok finishes deleting pods only on nodes it still manages.
  await waitFor(
    'the test pods to leave the test nodes',
    async () => {
      const left = await Promise.all(
        nodes.map((n) => admin().core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${n}` })),
      );
      return left.every((l) => l.items.length === 0) ? true : undefined;
    },
    60_000,
  ).catch(() => undefined);
  for (const name of nodes)
    await admin()
      .core.deleteNode({ name })
      .catch(() => undefined);
});

/**
 * The tool's own part of a ticket's plan: the first line is the call itself (written by the
 * pipeline); the preview follows, fenced line by line with "  | ".
 */
function previewOf(plan: string): string {
  return plan
    .split('\n')
    .slice(1)
    .map((line) => line.replace(/^ {2}\| ?/, ''))
    .join('\n');
}

/** Alice asks; the call waits on a ticket. Returns the ticket's preview and a way to have carol approve it. */
async function request(tool: string, args: Record<string, unknown>) {
  const asked = await app.pipeline.invoke(tool, args, alice);
  expect(asked.status, asked.text).toBe('approval_required');
  const ticket = asked.ticket!;
  return { ticket, plan: previewOf(ticket.plan), approve: () => app.pipeline.approve(ticket.id, carol) };
}

async function requestAndApprove(tool: string, args: Record<string, unknown>) {
  const { plan, approve } = await request(tool, args);
  const result = await approve();
  return { plan, result };
}

function expectSuccess(r: InvokeResult) {
  expect(r.status, r.text).toBe('success');
  expect(r.ticket?.status).toBe('executed');
}

describe('deployment_scale', () => {
  it('changes replicas only after approval, as the ticket said', async () => {
    await createDeployment(ns, 'api', 2);
    const { plan, approve } = await request('deployment_scale', { namespace: ns, name: 'api', replicas: 4 });
    expect(plan).toContain(`scale Deployment ${ns}/api in cluster 'admin' from 2 to 4 replicas`);
    expect((await deploymentOf('api')).spec?.replicas).toBe(2);

    const r = await approve();
    expectSuccess(r);
    expect(r.structured).toMatchObject({ from: 2, to: 4, changed: true, kind: 'Deployment' });
    expect(r.text).toContain('from 2 to 4 replicas');
    expect((await deploymentOf('api')).spec?.replicas).toBe(4);
  });

  it('a denied, pending or rejected write changes nothing', async () => {
    await createDeployment(ns, 'idle', 1);
    const denied = await app.pipeline.invoke(
      'deployment_scale',
      { namespace: ns, name: 'idle', replicas: 9 },
      dave,
    );
    expect(denied.status).toBe('denied');

    const { ticket } = await request('deployment_scale', { namespace: ns, name: 'idle', replicas: 7 });
    const selfApproved = await app.pipeline.approve(ticket.id, alice);
    expect(selfApproved.status).toBe('denied');
    const byViewer = await app.pipeline.approve(ticket.id, dave);
    expect(byViewer.status).toBe('denied');
    expect((await deploymentOf('idle')).spec?.replicas).toBe(1);

    const rejected = await app.pipeline.reject(ticket.id, carol, 'not now');
    expect(rejected.status).toBe('success');
    const late = await app.pipeline.approve(ticket.id, carol);
    expect(late.status).toBe('denied');
    expect((await deploymentOf('idle')).spec?.replicas).toBe(1);
  });
});

describe('a ticket that names no cluster', () => {
  it('is bound to the default cluster it was requested on: a restart with another default cannot retarget it', async () => {
    await createDeployment(ns, 'pinned', 1);
    const cfg = kubemateConfig({ KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin' });
    const policyFile = join(cfg.dataDir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    const withPolicy = (c: typeof cfg) =>
      buildApp({ ...c, policy: { ...c.policy, file: policyFile } }, silentLogger);
    const before = withPolicy(cfg);
    const asked = await before.pipeline.invoke(
      'deployment_scale',
      { namespace: ns, name: 'pinned', replicas: 3 },
      alice,
    );
    before.close();
    expect(asked.status).toBe('approval_required');
    expect(asked.ticket!.plan.split('\n')[0]).toBe(
      `deployment_scale namespace="${ns}" name="pinned" replicas=3 on the default cluster "admin"`,
    );
    // The same data directory, restarted with another default cluster.
    const after = withPolicy({ ...cfg, kubernetes: { ...cfg.kubernetes, defaultCluster: 'kubemate' } });
    try {
      const r = await after.pipeline.approve(asked.ticket!.id, carol);
      expect(r.status).toBe('denied');
      expect(r.text).toContain(
        "it was requested for the default cluster ('admin'), and the default cluster is now 'kubemate'",
      );
      expect((await after.approvals!.get(asked.ticket!.id)).status).toBe('rejected');
      expect((await deploymentOf('pinned')).spec?.replicas).toBe(1);
    } finally {
      after.close();
    }
  });
});

describe('impersonation', () => {
  it("writes run as the requester, so the cluster's RBAC refuses what the person may not do", async () => {
    await createDeployment(ns, 'rbac', 1);
    const cfg = kubemateConfig();
    const policyFile = join(cfg.dataDir, 'policy.yaml');
    writeFileSync(policyFile, `${POLICY}\nimpersonation:\n  enabled: true\n`);
    const impersonating = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger);
    try {
      const args = { namespace: ns, name: 'rbac', replicas: 3 };
      const asked = await impersonating.pipeline.invoke('deployment_scale', args, alice);
      expect(asked.status).toBe('approval_required');
      expect(asked.ticket!.plan).toContain('preview unavailable');
      const r = await impersonating.pipeline.approve(asked.ticket!.id, carol);
      expect(r).toMatchObject({ status: 'error', errorCode: 'forbidden' });
      expect(r.text).toContain(`in cluster 'kubemate' as alice: forbidden by the cluster's RBAC`);
      expect((await deploymentOf('rbac')).spec?.replicas).toBe(1);
    } finally {
      impersonating.close();
    }
  });
});

describe('workload rollouts', () => {
  it('rollout restart stamps the pod template with restartedAt', async () => {
    await createDeployment(ns, 'web', 1);
    const { plan, result } = await requestAndApprove('workload_rollout_restart', {
      namespace: ns,
      kind: 'Deployment',
      name: 'web',
    });
    expect(plan).toContain(`restart Deployment ${ns}/web`);
    expect(plan).toContain('rolling update');
    expectSuccess(result);
    const { restartedAt } = result.structured as { restartedAt: string };
    expect(Date.now() - Date.parse(restartedAt)).toBeLessThan(60_000);
    const d = await deploymentOf('web');
    expect(d.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(restartedAt);
  });

  it('rollout undo returns the Deployment to the previous image; an unknown revision lists the real ones', async () => {
    await createDeployment(ns, 'shop', 1);
    const image = (tag: string) => `registry.local/shop:${tag}`;
    await admin().apps.patchNamespacedDeployment({
      namespace: ns,
      name: 'shop',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image('2.0') }],
    });
    await waitFor('the second ReplicaSet of shop', async () => {
      const sets = await admin().apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=shop' });
      const revisions = sets.items.map(
        (rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
      );
      const current = (await deploymentOf('shop')).metadata?.annotations?.[
        'deployment.kubernetes.io/revision'
      ];
      return current === '2' && revisions.includes('2') && revisions.includes('1') ? true : undefined;
    });

    const wrong = await request('workload_rollout_undo', { namespace: ns, name: 'shop', revision: 9 });
    expect(wrong.plan, wrong.plan).toContain('has no revision 9; available revisions: 1, 2 (current 2)');
    const failed = await wrong.approve();
    expect(failed).toMatchObject({ status: 'error', errorCode: 'invalid_arguments' });
    expect(failed.text).toContain('available revisions: 1, 2 (current 2). Nothing was changed.');

    const { plan, result } = await requestAndApprove('workload_rollout_undo', {
      namespace: ns,
      name: 'shop',
    });
    expect(plan).toContain(`roll back Deployment ${ns}/shop from revision 2 to revision 1`);
    expect(plan).toContain(`containers[main].image: "${image('2.0')}" → "${image('1.0')}"`);
    expectSuccess(result);
    expect(result.structured).toMatchObject({ fromRevision: 2, toRevision: 1, changed: true });
    const d = await deploymentOf('shop');
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image('1.0'));
    expect(d.spec?.template.metadata?.labels?.['pod-template-hash']).toBeUndefined();
  });
});

describe('pods_delete', () => {
  it('deletes the pod, and the ticket says nothing will recreate a bare pod', async () => {
    await admin().core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'lonely', labels: { app: 'lonely' } },
        spec: { containers: [{ name: 'main', image: 'registry.local/lonely:1' }] },
      },
    });
    await waitForRunningPods(ns, 'app=lonely', 1);
    const { plan, result } = await requestAndApprove('pods_delete', {
      namespace: ns,
      name: 'lonely',
      gracePeriodSeconds: 0,
    });
    expect(plan).toContain(`delete pod ${ns}/lonely`);
    expect(plan).toContain('no controller manages it: it will not be recreated');
    expectSuccess(result);
    expect(result.structured).toMatchObject({ name: 'lonely', gracePeriodSeconds: 0 });
    await waitFor('pod lonely to be gone', async () => {
      try {
        await admin().core.readNamespacedPod({ namespace: ns, name: 'lonely' });
        return undefined;
      } catch (e) {
        return e instanceof ApiException && e.code === 404 ? true : undefined;
      }
    });
  });
});

describe('nodes', () => {
  it('cordon and uncordon toggle spec.unschedulable', async () => {
    const node = nodes[0]!;
    const unschedulable = async () => (await admin().core.readNode({ name: node })).spec?.unschedulable;
    const cordon = await requestAndApprove('nodes_cordon', { name: node });
    expect(cordon.plan).toContain(`cordon node ${node}`);
    expectSuccess(cordon.result);
    expect(cordon.result.structured).toMatchObject({ unschedulable: true, changed: true });
    expect(await unschedulable()).toBe(true);

    const uncordon = await requestAndApprove('nodes_uncordon', { name: node });
    expectSuccess(uncordon.result);
    expect(uncordon.result.structured).toMatchObject({ unschedulable: false, changed: true });
    expect(await unschedulable()).toBeFalsy();
  });

  it('drain evicts pods, leaves DaemonSet pods, and reports evictions a PodDisruptionBudget blocks', async () => {
    const node = nodes[1]!;
    const placement = {
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [{ key: taint.key, operator: 'Equal', value: taint.value, effect: 'NoSchedule' }],
    };
    const template = (app: string) => ({
      metadata: { labels: { app } },
      spec: { ...placement, containers: [{ name: 'main', image: `registry.local/${app}:1` }] },
    });
    for (const name of ['movable', 'guarded']) {
      await admin().apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name },
          spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template(name) },
        },
      });
    }
    await admin().apps.createNamespacedDaemonSet({
      namespace: ns,
      body: {
        metadata: { name: 'agent' },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') },
      },
    });
    await admin()
      .kc.makeApiClient(PolicyV1Api)
      .createNamespacedPodDisruptionBudget({
        namespace: ns,
        body: {
          metadata: { name: 'guarded' },
          spec: { minAvailable: 2, selector: { matchLabels: { app: 'guarded' } } },
        },
      });
    const movable = await waitForRunningPods(ns, 'app=movable', 2);
    const guarded = await waitForRunningPods(ns, 'app=guarded', 2);
    const [agent] = await waitForRunningPods(ns, 'app=agent', 1);
    await waitFor('the disruption controller to count guarded pods', async () => {
      const pdb = await admin()
        .kc.makeApiClient(PolicyV1Api)
        .readNamespacedPodDisruptionBudget({ namespace: ns, name: 'guarded' });
      return pdb.status?.currentHealthy === 2 && pdb.status.observedGeneration === pdb.metadata?.generation
        ? true
        : undefined;
    });
    const names = (pods: V1Pod[]) => pods.map((p) => p.metadata!.name!).sort();

    const { plan, approve } = await request('nodes_drain', { name: node, timeoutSeconds: 4 });
    for (const p of names(movable)) expect(plan).toContain(`- ${ns}/${p}\n`);
    for (const p of names(guarded))
      expect(plan).toContain(`x ${ns}/${p}: blocked by PodDisruptionBudget guarded (minAvailable 2`);
    expect(plan).toContain(`= ${ns}/${agent!.metadata!.name} stays: managed by DaemonSet agent`);
    expect((await admin().core.readNode({ name: node })).spec?.unschedulable).toBeFalsy();

    const r = await approve();
    expectSuccess(r);
    const s = r.structured as {
      cordoned: boolean;
      complete: boolean;
      evicted: Array<{ name: string }>;
      blocked: Array<{ name: string; reason: string }>;
      skipped: Array<{ name: string }>;
    };
    expect(s.cordoned).toBe(true);
    expect(s.complete).toBe(false);
    expect(s.evicted.map((p) => p.name).sort()).toEqual(names(movable));
    expect(s.blocked.map((p) => p.name).sort()).toEqual(names(guarded));
    for (const b of s.blocked) expect(b.reason).toMatch(/disruption budget/i);
    expect(s.skipped.map((p) => p.name)).toEqual([agent!.metadata!.name]);
    expect(r.text).toContain('Drain incomplete');

    expect((await admin().core.readNode({ name: node })).spec?.unschedulable).toBe(true);
    const left = await admin().core.listNamespacedPod({
      namespace: ns,
      fieldSelector: `spec.nodeName=${node}`,
    });
    const leftNames = left.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
    for (const p of names(guarded)) expect(leftNames).toContain(p);
    for (const p of names(movable)) expect(leftNames).not.toContain(p);
  });
});

describe('resources_apply', () => {
  const configMap = (data: Record<string, string>) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: settings',
      'data:',
      ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`),
    ].join('\n');

  it("the ticket's dry-run diff is what the apply then does", async () => {
    const created = await requestAndApprove('resources_apply', {
      namespace: ns,
      yaml: configMap({ LOG_LEVEL: 'info', REGION: 'eu' }),
    });
    expect(created.plan).toContain(`ConfigMap ${ns}/settings: would be created`);
    expectSuccess(created.result);
    expect(created.result.structured).toMatchObject({ created: 1, changed: 0, unchanged: 0 });

    const { plan, approve } = await request('resources_apply', {
      namespace: ns,
      yaml: configMap({ LOG_LEVEL: 'debug', REGION: 'eu', FEATURE_X: 'on' }),
    });
    expect(plan).toContain(`ConfigMap ${ns}/settings: would change`);
    // The plan's lines, as { path: new value }.
    const planned: Record<string, string> = {};
    for (const m of plan.matchAll(/^ {2}[~+] (data\.\w+): (?:"[^"]*" → )?"([^"]*)"$/gm))
      planned[m[1]!] = m[2]!;
    expect(planned).toEqual({ 'data.LOG_LEVEL': 'debug', 'data.FEATURE_X': 'on' });
    expect(plan).not.toContain('REGION');
    const before = await admin().core.readNamespacedConfigMap({ namespace: ns, name: 'settings' });
    expect(before.data?.LOG_LEVEL).toBe('info');

    const r = await approve();
    expectSuccess(r);
    const applied = (r.structured as { objects: Array<{ result: string; changes: Array<{ path: string }> }> })
      .objects;
    expect(applied).toHaveLength(1);
    expect(applied[0]!.result).toBe('changed');
    expect(applied[0]!.changes.map((c) => c.path).sort()).toEqual(Object.keys(planned).sort());
    const live = await admin().core.readNamespacedConfigMap({ namespace: ns, name: 'settings' });
    for (const [path, value] of Object.entries(planned))
      expect(live.data?.[path.slice('data.'.length)]).toBe(value);
    expect(live.data?.REGION).toBe('eu');

    const again = await requestAndApprove('resources_apply', {
      namespace: ns,
      yaml: configMap({ LOG_LEVEL: 'debug', REGION: 'eu', FEATURE_X: 'on' }),
    });
    expect(again.plan).toContain(`ConfigMap ${ns}/settings: unchanged`);
    expect(again.result.structured).toMatchObject({ created: 0, changed: 0, unchanged: 1 });
  });

  it('a call for one namespace cannot write another or a cluster-scoped object', async () => {
    const other = `${configMap({ A: '1' }).replace('name: settings', `name: escape\n  namespace: default`)}`;
    const { plan, approve } = await request('resources_apply', { namespace: ns, yaml: other });
    expect(plan).toContain("names namespace 'default' but the call is for namespace");
    const r = await approve();
    expect(r).toMatchObject({ status: 'error', errorCode: 'invalid_arguments' });
    await expect(
      admin().core.readNamespacedConfigMap({ namespace: 'default', name: 'escape' }),
    ).rejects.toThrow();

    const clusterScoped = await request('resources_apply', {
      namespace: ns,
      yaml: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}-escape\n`,
    });
    expect(clusterScoped.plan).toContain('is cluster-scoped');
  });

  it('secret values never appear in the ticket preview or any tool output', async () => {
    const pin = 'Zq81-unguessable-4471';
    const pin2 = 'Vw22-also-unguessable-9012';
    const encoded = Buffer.from('Mx-base64-secret-5050').toString('base64');
    const secret = (value: string) =>
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        '  name: db',
        'stringData:',
        `  db-pin: "${value}"`,
        'data:',
        `  blob: ${encoded}`,
      ].join('\n');
    const secrets = [pin, pin2, encoded, 'Mx-base64-secret-5050', Buffer.from(pin).toString('base64')];
    const leaks = (text: string) => secrets.filter((s) => text.includes(s));
    const created = await request('resources_apply', { namespace: ns, yaml: secret(pin) });
    expect(created.plan).toContain(`Secret ${ns}/db: would be created`);
    expect(created.plan).toContain('+ data.db-pin: (value hidden)');
    expect(created.plan).toContain('+ data.blob: (value hidden)');
    const createdResult = await created.approve();
    expectSuccess(createdResult);

    const updated = await request('resources_apply', { namespace: ns, yaml: secret(pin2) });
    expect(updated.plan).toContain('~ data.db-pin: (value hidden)');
    const updatedResult = await updated.approve();
    expectSuccess(updatedResult);
    expect(updatedResult.structured).toMatchObject({
      objects: [
        { result: 'changed', changes: [{ path: 'data.db-pin', before: '(hidden)', after: '(hidden)' }] },
      ],
    });

    const live = await admin().core.readNamespacedSecret({ namespace: ns, name: 'db' });
    expect(Buffer.from(live.data!['db-pin']!, 'base64').toString()).toBe(pin2);
    expect(maskSecretValues(secret(pin))).toMatch(/db-pin: .*REDACTED[\s\S]*blob: .*REDACTED/);
    // The whole ticket (the call line is the pipeline's, masked by the tool's redactArgs), the
    // outputs, and every audit record of the run.
    const audit = (app.audit as unknown as { tail(n: number): unknown[] }).tail(200);
    for (const text of [
      created.ticket.plan,
      updated.ticket.plan,
      JSON.stringify(audit),
      maskSecretValues(secret(pin)),
      createdResult.text,
      updatedResult.text,
      JSON.stringify(createdResult.structured),
      JSON.stringify(updatedResult.structured),
    ]) {
      expect(leaks(text)).toEqual([]);
    }
  });

  it('credentials in any kind (env values, secret arguments) never appear in the plan, the result or the audit', async () => {
    const deployment = (password: string, argPassword: string) =>
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: creds',
        'spec:',
        '  replicas: 0',
        '  selector: {matchLabels: {app: creds}}',
        '  template:',
        '    metadata: {labels: {app: creds}}',
        '    spec:',
        '      containers:',
        '      - name: db',
        '        image: registry.example/mysql-client:8',
        '        command: [mysql]',
        `        args: ["-uroot", "-p${argPassword}", "--db-password", "${argPassword}-flag"]`,
        '        env:',
        '        - name: DB_PASSWORD',
        `          value: ${password}`,
        '        - name: LOG_LEVEL',
        '          value: debug',
      ].join('\n');
    const secrets = [
      'Kp41-env-secret-7730',
      'Rt93-env-secret-1188',
      'Hx55-arg-secret-2290',
      'Jm07-arg-secret-6614',
    ];
    const leaks = (text: string) => secrets.filter((s) => text.includes(s));

    const created = await request('resources_apply', {
      namespace: ns,
      yaml: deployment('Kp41-env-secret-7730', 'Hx55-arg-secret-2290'),
    });
    expect(created.plan).toContain(`Deployment ${ns}/creds: would be created`);
    expect(created.plan).toContain(
      '+ spec.template.spec.containers[db].env[DB_PASSWORD].value: (value hidden)',
    );
    expect(created.plan).toContain('+ spec.template.spec.containers[db].env[LOG_LEVEL].value: "debug"');
    const createdResult = await created.approve();
    expectSuccess(createdResult);

    const updated = await request('resources_apply', {
      namespace: ns,
      yaml: deployment('Rt93-env-secret-1188', 'Jm07-arg-secret-6614'),
    });
    expect(updated.plan).toContain(
      '~ spec.template.spec.containers[db].env[DB_PASSWORD].value: (value hidden)',
    );
    expect(updated.plan).toContain('~ spec.template.spec.containers[db].args[1]: (value hidden)');
    expect(updated.plan).toContain('~ spec.template.spec.containers[db].args[3]: (value hidden)');
    const updatedResult = await updated.approve();
    expectSuccess(updatedResult);

    const live = await deploymentOf('creds');
    expect(live.spec?.template.spec?.containers[0]?.env?.[0]?.value).toBe('Rt93-env-secret-1188');
    const audit = (app.audit as unknown as { tail(n: number): unknown[] }).tail(200);
    for (const text of [
      created.ticket.plan,
      updated.ticket.plan,
      JSON.stringify(audit),
      maskSecretValues(deployment('Kp41-env-secret-7730', 'Hx55-arg-secret-2290')),
      createdResult.text,
      updatedResult.text,
      JSON.stringify(createdResult.structured),
      JSON.stringify(updatedResult.structured),
    ]) {
      expect(leaks(text)).toEqual([]);
    }
  });
});
