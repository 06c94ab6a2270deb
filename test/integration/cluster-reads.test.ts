import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  BatchV1Api,
  CustomObjectsApi,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { bindBackends } from '../../tools/clients/backends.js';
import { silentLogger } from '../../tools/core/logger.js';
import { estimateTokens, shapeOutput } from '../../tools/core/shaping.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitFor,
  waitForRunningPods,
} from '../support/kube.js';

const ns = uniqueName('reads');
const u = Math.random()
  .toString(36)
  .replace(/[^a-z]/g, '')
  .slice(0, 6)
  .padEnd(6, 'q');
const me = { id: 'local:test', groups: ['local'], source: 'cli' as const };

// Values that must never leave Kubemate. Plain letters and digits, so that only the sanitizer (and
// not the pipeline's pattern redactor) can be what keeps them out.
const seeds = {
  secretData: `Sd${u}9Kq2Lx`,
  secretToken: `Tk${u}4Vb8Nw`,
  env: `Ev${u}7Hj3Pz`,
  annotation: `An${u}5Rt1Cm`,
  annotationToken: `At${u}2Ys6Fd`,
  lastApplied: `La${u}8Gu4Xe`,
};
const b64 = (s: string) => Buffer.from(s).toString('base64');
const leaks = (text: string) =>
  Object.values(seeds)
    .flatMap((s) => [s, b64(s)])
    .filter((s) => text.includes(s));

// CRDs: two groups serving the same plural and short name, to exercise ambiguity.
const plural = `gadget${u}s`;
const kind = `Gadget${u[0]!.toUpperCase()}${u.slice(1)}`;
const short = `gd${u}`;
const alpha = `alpha-${u}.kubemate.test`;
const beta = `beta-${u}.kubemate.test`;

const nodeA = `kmr-${u}-a`;
const nodeB = `kmr-${u}-b`;

let app: App;
let webPod: V1Pod;
let brokenPods: V1Pod[];
let nodeEvent: string | undefined;

function admin() {
  const { kc, core, apps } = adminClients();
  return {
    core,
    apps,
    batch: kc.makeApiClient(BatchV1Api),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

function deployment(name: string, replicas: number, containers: V1Container[], annotations = {}) {
  return {
    metadata: { name, labels: { app: name }, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { containers } },
    },
  };
}

/** kwok starts a pod (podIP set) and never touches it again: then its status is ours to set. */
async function setPodStatus(name: string, mutate: (pod: V1Pod) => void): Promise<void> {
  const { core } = admin();
  await waitFor(`status of ${ns}/${name} set`, async () => {
    const pod = await core.readNamespacedPod({ namespace: ns, name });
    if (!pod.status?.podIP || pod.status.phase !== 'Running') return undefined;
    mutate(pod);
    await core.replaceNamespacedPodStatus({ namespace: ns, name, body: pod });
    return true;
  });
}

function notReady(pod: V1Pod) {
  const now = new Date();
  pod.status!.conditions = (pod.status!.conditions ?? []).map((c) =>
    c.type === 'Ready' || c.type === 'ContainersReady'
      ? { ...c, status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now }
      : c,
  );
}

function crashLoopOOM(restarts: number) {
  return (pod: V1Pod) => {
    const now = Date.now();
    notReady(pod);
    pod.status!.containerStatuses = [
      {
        name: 'main',
        image: pod.spec!.containers[0]!.image!,
        imageID: '',
        ready: false,
        started: false,
        restartCount: restarts,
        state: {
          waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=main' },
        },
        lastState: {
          terminated: {
            exitCode: 137,
            reason: 'OOMKilled',
            startedAt: new Date(now - 60_000),
            finishedAt: new Date(now - 30_000),
          },
        },
      },
    ];
  };
}

function imagePullBackOff(pod: V1Pod) {
  notReady(pod);
  pod.status!.phase = 'Pending';
  pod.status!.containerStatuses = [
    {
      name: 'main',
      image: 'registry.local/nope:404',
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        waiting: {
          reason: 'ImagePullBackOff',
          message: 'Back-off pulling image "registry.local/nope:404": not found',
        },
      },
    },
  ];
}

async function event(
  involved: { kind: string; name: string; namespace?: string },
  type: string,
  reason: string,
  message: string,
  count = 1,
): Promise<string> {
  // Events about cluster-scoped objects (nodes) live in 'default'.
  const namespace = involved.namespace ?? 'default';
  const name = `${involved.name}.${reason.toLowerCase()}.${Math.floor(Math.random() * 1e6)}`;
  await admin().core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name },
      involvedObject: { ...involved },
      type,
      reason,
      message,
      count,
      firstTimestamp: new Date(Date.now() - 120_000),
      lastTimestamp: new Date(),
      source: { component: 'kubemate-test' },
    },
  });
  return name;
}

function crd(group: string) {
  return {
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: `gadget${u}`, kind, shortNames: [short] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          // The typed client knows this field only by its model name.
          schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
        },
      ],
    },
  };
}

async function setupSecretsAndWeb() {
  const { core, apps } = admin();
  const lastApplied = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    stringData: { password: seeds.lastApplied },
  });
  const annotations = {
    'db-password': seeds.annotation,
    'example.com/api-token': seeds.annotationToken,
    'example.com/owner': 'team-payments',
    'kubectl.kubernetes.io/last-applied-configuration': lastApplied,
  };
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: 'db-creds', annotations },
      data: {
        password: b64(seeds.secretData),
        'api-token': b64(seeds.secretToken),
        username: b64('payments'),
      },
    },
  });
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(
      'web',
      2,
      [
        {
          name: 'main',
          image: 'registry.local/web:1.0',
          env: [
            { name: 'DB_PASSWORD', value: seeds.env },
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } },
          ],
        },
        { name: 'proxy', image: 'registry.local/proxy:2' },
      ],
      annotations,
    ),
  });
  webPod = (await waitForRunningPods(ns, 'app=web', 2))[0]!;
}

async function setupBroken() {
  const { apps } = admin();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment('broken', 2, [
      { name: 'main', image: 'registry.local/broken:3.1', resources: { limits: { memory: '128Mi' } } },
    ]),
  });
  brokenPods = await waitForRunningPods(ns, 'app=broken', 2);
  for (const p of brokenPods) await setPodStatus(p.metadata!.name!, crashLoopOOM(5));
  await waitFor('broken to lose availability', async () => {
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'broken' });
    return (d.status?.availableReplicas ?? 0) === 0 && (d.status?.updatedReplicas ?? 0) === 2
      ? true
      : undefined;
  });
  await event(
    { kind: 'Pod', name: brokenPods[0]!.metadata!.name!, namespace: ns },
    'Warning',
    'BackOff',
    'Back-off restarting failed container main',
    12,
  );
}

async function setupPendingAndPull() {
  const { core, apps } = admin();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment('hungry', 1, [
      { name: 'main', image: 'registry.local/hungry:1', resources: { requests: { cpu: '5000' } } },
    ]),
  });
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'pull', labels: { app: 'pull' } },
      spec: { containers: [{ name: 'main', image: 'registry.local/nope:404' }] },
    },
  });
  await setPodStatus('pull', imagePullBackOff);
  await waitFor('hungry to be unschedulable', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=hungry' });
    return pods.items[0]?.status?.conditions?.some((c) => c.reason === 'Unschedulable') ? true : undefined;
  });
}

async function setupOtherWorkloads() {
  const { apps, batch } = admin();
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'main', image: 'registry.local/db:15' }] },
        },
      },
    },
  });
  await apps.createNamespacedDaemonSet({
    namespace: ns,
    body: {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            nodeSelector: { 'kmr-none': u },
            containers: [{ name: 'main', image: 'registry.local/agent:1' }],
          },
        },
      },
    },
  });
  const jobTemplate = {
    spec: {
      backoffLimit: 0,
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.local/migrate:1' }] },
      },
    },
  };
  await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'migrate' }, ...jobTemplate } });
  await batch.createNamespacedCronJob({
    namespace: ns,
    body: { metadata: { name: 'nightly' }, spec: { schedule: '0 3 * * *', suspend: true, jobTemplate } },
  });
  await waitForRunningPods(ns, 'app=db', 1);
  await waitFor('job migrate to complete', async () => {
    const job = await batch.readNamespacedJob({ namespace: ns, name: 'migrate' });
    return job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')
      ? true
      : undefined;
  });
}

async function setupCrds() {
  const { ext, custom } = admin();
  for (const group of [alpha, beta]) await ext.createCustomResourceDefinition({ body: crd(group) });
  for (const group of [alpha, beta]) {
    await waitFor(`CRD ${plural}.${group} established`, async () => {
      const c = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')
        ? true
        : undefined;
    });
  }
  const create = (name: string, ready: boolean, size: number) =>
    custom.createNamespacedCustomObject({
      group: alpha,
      version: 'v1',
      namespace: ns,
      plural,
      body: {
        apiVersion: `${alpha}/v1`,
        kind,
        metadata: { name },
        spec: { size, color: 'teal' },
        status: {
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Ok' : 'Broken' }],
        },
      },
    });
  await waitFor('custom objects created', async () => {
    await create('one', true, 1);
    return true;
  });
  await create('two', false, 3);
}

async function setupNodes() {
  const { core } = admin();
  const resources = { cpu: '4', memory: '8Gi', pods: '110' };
  await core.createNode({
    body: {
      metadata: {
        name: nodeA,
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'kmr-test': u, 'kubernetes.io/hostname': nodeA, 'node-role.kubernetes.io/payments': '' },
      },
      spec: { unschedulable: true, taints: [{ key: 'dedicated', value: 'payments', effect: 'NoSchedule' }] },
      status: { allocatable: resources, capacity: resources },
    },
  });
  // Not managed by kwok: nothing ever reports it Ready.
  await core.createNode({
    body: {
      metadata: { name: nodeB, labels: { 'kmr-test': u, 'kubernetes.io/hostname': nodeB } },
      status: {
        allocatable: resources,
        capacity: resources,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'container runtime is down',
            lastHeartbeatTime: new Date(),
            lastTransitionTime: new Date(),
          },
        ],
      },
    },
  });
  await waitFor(`${nodeA} Ready`, async () => {
    const n = await core.readNode({ name: nodeA });
    return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  });
  await waitFor(`MemoryPressure on ${nodeA}`, async () => {
    const n = await core.readNode({ name: nodeA });
    n.status!.conditions = n.status!.conditions!.map((c) =>
      c.type === 'MemoryPressure'
        ? {
            ...c,
            status: 'True',
            reason: 'KubeletHasInsufficientMemory',
            message: 'kubelet has insufficient memory available',
          }
        : c,
    );
    await core.replaceNodeStatus({ name: nodeA, body: n });
    return true;
  });
  const pod = (name: string, node: string, cpu: string, memory: string) =>
    core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          nodeName: node,
          containers: [
            { name: 'main', image: 'registry.local/placed:1', resources: { requests: { cpu, memory } } },
          ],
        },
      },
    });
  await pod('placed', nodeA, '1500m', '1Gi');
  await pod('stuck', nodeB, '1', '512Mi');
  await waitForRunningPods(ns, 'app=placed', 1);
  nodeEvent = await event(
    { kind: 'Node', name: nodeA },
    'Warning',
    'EvictionThresholdMet',
    'Attempting to reclaim memory',
  );
}

beforeAll(async () => {
  await createNamespace(ns);
  await Promise.all([
    setupSecretsAndWeb(),
    setupBroken(),
    setupPendingAndPull(),
    setupOtherWorkloads(),
    setupCrds(),
    setupNodes(),
  ]);
  app = buildApp(kubemateConfig(), silentLogger);
});

afterAll(async () => {
  const { core, ext } = admin();
  await core
    .deleteNamespacedPod({ namespace: ns, name: 'stuck', gracePeriodSeconds: 0 })
    .catch(() => undefined);
  if (nodeEvent) {
    await core.deleteNamespacedEvent({ namespace: 'default', name: nodeEvent }).catch(() => undefined);
  }
  await Promise.all([
    ...[nodeA, nodeB].map((name) => core.deleteNode({ name }).catch(() => undefined)),
    ...[alpha, beta].map((g) =>
      ext.deleteCustomResourceDefinition({ name: `${plural}.${g}` }).catch(() => undefined),
    ),
  ]);
  await deleteNamespace(ns);
});

// biome-ignore lint/suspicious/noExplicitAny: tests read structured results loosely and assert their shape
type Structured = Record<string, any>;

/** Calls a tool through the pipeline and checks that its structured result matches its output schema exactly. */
async function call(tool: string, args: Record<string, unknown>) {
  const r = await app.pipeline.invoke(tool, args, me);
  if (!r.isError && r.structured) {
    const schema = app.pipeline.registry.get(tool).output!;
    const plain = JSON.parse(JSON.stringify(r.structured));
    expect(JSON.parse(JSON.stringify(schema.parse(plain)))).toEqual(plain);
  }
  return { ...r, s: (r.structured ?? {}) as Structured };
}

/** Calls a handler directly, without the pipeline's redactor: what the tool itself would show. */
async function unredacted(tool: string, args: Record<string, unknown>) {
  const def = app.pipeline.registry.get(tool);
  const ctx = {
    principal: me,
    backends: bindBackends({ kube: app.clusters }, me),
    signal: AbortSignal.timeout(30_000),
  };
  try {
    const shaped = shapeOutput(await def.handler(def.input.parse(args), ctx), 6000);
    return { ok: true, text: `${shaped.text}\n${JSON.stringify(shaped.structured)}` };
  } catch (e) {
    return { ok: false, text: String((e as Error).message) };
  }
}

describe('resources_list and resources_get: any kind through discovery', () => {
  it('resolves kinds by kind, plural, singular and short name, any case, group-qualified or not', async () => {
    for (const k of [
      'deploy',
      'Deployment',
      'deployments',
      'DEPLOYMENT',
      'deployment',
      'deployments.apps',
      'deployments.v1.apps',
    ]) {
      const r = await call('resources_list', { kind: k, namespace: ns });
      expect(r.status, k).toBe('success');
      expect(r.s).toMatchObject({
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        resource: 'deployments.apps',
        total: 3,
      });
      expect(r.s.items.map((i: Structured) => i.name).sort()).toEqual(['broken', 'hungry', 'web']);
    }
    const sts = await call('resources_list', { kind: 'sts', namespace: ns });
    expect(sts.s.items).toEqual([expect.objectContaining({ name: 'db', status: 'Ready' })]);
    const po = await call('resources_list', { kind: 'po', namespace: ns, labelSelector: 'app=broken' });
    expect(po.s).toMatchObject({ kind: 'Pod', total: 2, byStatus: { CrashLoopBackOff: 2 }, unhealthy: 2 });
    const one = await call('resources_list', {
      kind: 'pods',
      namespace: ns,
      fieldSelector: 'metadata.name=pull',
    });
    expect(one.s.items).toEqual([expect.objectContaining({ name: 'pull', status: 'ImagePullBackOff' })]);
  });

  it('puts unhealthy objects first, with exact totals by status', async () => {
    const r = await call('resources_list', { kind: 'deploy', namespace: ns });
    expect(r.s.items.map((i: Structured) => i.name)).toEqual(['broken', 'hungry', 'web']);
    expect(r.s.unhealthy).toBe(2);
    expect(r.text).toMatch(
      /^3 deployments\.apps \(kind Deployment, apps\/v1\) in namespace '.*': 2 NotAvailable \(MinimumReplicasUnavailable\), 1 Available\. Unhealthy: 2\./,
    );
  });

  it('prefers the core group when another group serves the same name, and says so', async () => {
    const r = await call('resources_list', { kind: 'events', namespace: ns });
    expect(r.s).toMatchObject({ kind: 'Event', apiVersion: 'v1', resource: 'events' });
    expect(r.text).toContain('also served as events.events.k8s.io');
    expect(r.s.items[0].status).toBe('Warning');
  });

  it('reports an ambiguous name with its candidates and asks for the group-qualified form', async () => {
    for (const k of [short, plural, kind]) {
      const r = await call('resources_list', { kind: k, namespace: ns });
      expect(r, k).toMatchObject({ status: 'error', errorCode: 'invalid_arguments' });
      expect(r.text).toContain(`'${k}' is ambiguous`);
      expect(r.text).toContain(`${plural}.${alpha} (kind ${kind}, ${alpha}/v1)`);
      expect(r.text).toContain(`${plural}.${beta} (kind ${kind}, ${beta}/v1)`);
      expect(r.text).toContain('group-qualified name');
    }
  });

  it('lists and gets custom resources by their group-qualified name', async () => {
    const list = await call('resources_list', { kind: `${short}.${alpha}`, namespace: ns });
    expect(list.s).toMatchObject({
      kind,
      apiVersion: `${alpha}/v1`,
      total: 2,
      byStatus: { 'NotReady (Broken)': 1, Ready: 1 },
    });
    expect(list.s.items.map((i: Structured) => i.name)).toEqual(['two', 'one']);
    const none = await call('resources_list', { kind: `${plural}.${beta}`, namespace: ns });
    expect(none.status).toBe('no_data');

    const get = await call('resources_get', { kind: `${kind}.${alpha}`, namespace: ns, name: 'two' });
    expect(get.status).toBe('success');
    expect(get.s.object).toMatchObject({ kind, spec: { size: 3, color: 'teal' } });
    expect(get.text).toContain(`${kind} ${ns}/two (${alpha}/v1)`);
    expect(get.text).toContain('size: 3');
    expect(get.text).not.toContain('managedFields');
  });

  it('gives clear errors: unknown kind, missing or superfluous namespace, unknown name', async () => {
    const typo = await call('resources_list', { kind: 'deploymnts', namespace: ns });
    expect(typo).toMatchObject({ status: 'error', errorCode: 'not_found' });
    expect(typo.text).toContain("serves no resource named 'deploymnts' (did you mean 'deployments'?)");

    const scoped = await call('resources_list', { kind: 'nodes', namespace: ns });
    expect(scoped.text).toBe('nodes (kind Node) is cluster-scoped: omit the namespace');

    const noNs = await call('resources_get', { kind: 'deploy', name: 'web' });
    expect(noNs.text).toContain('Deployment is namespaced: give a namespace');

    const missing = await call('resources_get', { kind: 'deploy', namespace: ns, name: 'webb' });
    expect(missing.errorCode).toBe('not_found');
    expect(missing.text).toContain(`Deployment 'webb' not found in namespace '${ns}'`);
    expect(missing.text).toContain("did you mean 'web'?");

    const node = await call('resources_get', { kind: 'no', name: nodeA });
    expect(node.s.object).toMatchObject({ metadata: { name: nodeA }, spec: { unschedulable: true } });
  });

  it('keeps one huge object within the token budget', async () => {
    const data = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key-${i}`, 'x'.repeat(1000)]));
    await admin().core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'big' }, data },
    });
    const r = await call('resources_get', { kind: 'cm', namespace: ns, name: 'big' });
    expect(r.status).toBe('success');
    expect(r.s.trimmed).toBe(true);
    expect(estimateTokens(r.text) + estimateTokens(JSON.stringify(r.s))).toBeLessThan(8000);
    const list = await call('resources_list', {
      kind: 'configmaps',
      namespace: ns,
      fieldSelector: 'metadata.name=big',
    });
    expect(list.s.items).toEqual([expect.objectContaining({ name: 'big', info: '300 keys' })]);
  });
});

describe('workloads_list', () => {
  it('summarises every workload kind with rollout status, unhealthy first', async () => {
    const r = await call('workloads_list', { namespace: ns });
    expect(r.s.byKind).toEqual({ Deployment: 3, StatefulSet: 1, DaemonSet: 1, Job: 1, CronJob: 1 });
    const byName = Object.fromEntries(r.s.items.map((i: Structured) => [i.name, i]));
    expect(byName.broken).toMatchObject({
      kind: 'Deployment',
      ready: '0/2',
      upToDate: 2,
      available: 0,
      status: 'Degraded',
    });
    expect(byName.hungry).toMatchObject({ ready: '0/1', status: 'Degraded' });
    expect(byName.web).toMatchObject({
      ready: '2/2',
      status: 'Complete',
      images: ['registry.local/web:1.0', 'registry.local/proxy:2'],
    });
    expect(byName.db).toMatchObject({ kind: 'StatefulSet', ready: '1/1', status: 'Complete' });
    expect(byName.agent).toMatchObject({ kind: 'DaemonSet', ready: '0/0', status: 'Complete' });
    expect(byName.migrate).toMatchObject({ kind: 'Job', ready: '1/1', status: 'Complete' });
    expect(byName.nightly).toMatchObject({ kind: 'CronJob', status: 'Suspended' });
    expect(r.s.items.slice(0, 2).map((i: Structured) => i.name)).toEqual(['broken', 'hungry']);
    expect(r.s.unhealthy).toBe(2);
    expect(r.text).toContain('Not fully available or rolling out: 2.');

    const jobs = await call('workloads_list', { namespace: ns, kind: 'Job' });
    expect(jobs.s.items.map((i: Structured) => i.name)).toEqual(['migrate']);
    const bad = await call('workloads_list', { namespace: ns, unhealthy: true });
    expect(bad.s.items.map((i: Structured) => i.name)).toEqual(['broken', 'hungry']);
    expect(bad.text).toContain('(5 healthy not listed.)');
  });
});

describe('nodes_list and nodes_get', () => {
  it('shows readiness, cordon, pressure, taints and requests summed from the pods on each node', async () => {
    const r = await call('nodes_list', { labelSelector: `kmr-test=${u}` });
    expect(r.s.total).toBe(2);
    const [first, second] = r.s.items as Structured[];
    expect(first!.name).toBe(nodeB);
    expect(first!.status).toMatch(/^(NotReady|Unknown)/);
    expect(first!.cpu).toEqual({ allocatable: '4', requested: '1', percent: '25%' });
    expect(second).toMatchObject({
      name: nodeA,
      status: 'Ready,SchedulingDisabled',
      roles: ['payments'],
      pressure: ['MemoryPressure'],
      cpu: { allocatable: '4', requested: '1500m', percent: '38%' },
      memory: { allocatable: '8Gi', requested: '1Gi', percent: '13%' },
      pods: '1/110',
    });
    expect(second!.taints).toContain('dedicated=payments:NoSchedule');
    expect(r.s.pressure).toEqual({ MemoryPressure: 1 });
    expect(r.s.cpu).toEqual({ allocatable: '8', requested: '2.5', percent: '31%' });
    expect(r.text).toMatch(
      /Cordoned: 1\. Under pressure: 1 MemoryPressure\. Requested CPU 2\.5 of 8 cores \(31%\)/,
    );

    const bad = await call('nodes_list', { labelSelector: `kmr-test=${u}`, unhealthy: true });
    expect(bad.s.total).toBe(2);
  });

  it('nodes_get explains one node: conditions with messages, taints, requests, its pods and events', async () => {
    const r = await call('nodes_get', { name: nodeA });
    expect(r.status).toBe('success');
    expect(r.s.conditions).toContainEqual(
      expect.objectContaining({
        type: 'MemoryPressure',
        status: 'True',
        message: 'kubelet has insufficient memory available',
      }),
    );
    expect(r.s.requested).toEqual({
      cpu: { allocatable: '4', requested: '1500m', percent: '38%' },
      memory: { allocatable: '8Gi', requested: '1Gi', percent: '13%' },
      pods: '1/110',
    });
    expect(r.s.pods).toEqual([
      {
        namespace: ns,
        name: 'placed',
        status: 'Running',
        ready: '1/1',
        restarts: 0,
        cpu: '1500m',
        memory: '1Gi',
      },
    ]);
    expect(r.s.events[0]).toMatchObject({ type: 'Warning', reason: 'EvictionThresholdMet' });
    expect(r.text).toContain('- MemoryPressure=True (KubeletHasInsufficientMemory)');
    expect(r.text).toContain('dedicated=payments:NoSchedule');

    const typo = await call('nodes_get', { name: `${nodeA}x` });
    expect(typo.errorCode).toBe('not_found');
    expect(typo.text).toContain(`did you mean '${nodeA}'?`);
  });
});

describe('workload_describe', () => {
  it('explains a crash-looping deployment: OOMKilled with its memory limit, warnings first', async () => {
    const r = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: 'broken' });
    expect(r.s.problems[0]).toBe(
      '2 pods CrashLoopBackOff (container main), last exit OOMKilled (exit code 137) (memory limit 128Mi); read pods_logs with previous=true',
    );
    expect(r.s).toMatchObject({ status: 'Degraded', ready: '0/2', ownerChain: ['Deployment/broken'] });
    expect(r.s.pods).toMatchObject({ total: 2, byStatus: { CrashLoopBackOff: 2 }, restarts: 10 });
    expect(r.s.pods.items[0].lastTermination).toBe('main: OOMKilled (exit 137)');
    expect(r.s.events[0]).toMatchObject({ type: 'Warning', reason: 'BackOff', count: 12 });
    expect(r.text).toContain('Likely problems:\n- 2 pods CrashLoopBackOff');
  });

  it('follows a pod up its owner chain to the deployment', async () => {
    const pod = brokenPods[0]!.metadata!.name!;
    const r = await call('workload_describe', { namespace: ns, kind: 'Pod', name: pod });
    expect(r.s.ownerChain).toHaveLength(3);
    expect(r.s.ownerChain[0]).toBe(`Pod/${pod}`);
    expect(r.s.ownerChain[1]).toMatch(/^ReplicaSet\/broken-/);
    expect(r.s.ownerChain[2]).toBe('Deployment/broken');
    expect(r.text).toContain('Top owner Deployment broken: Degraded, ready 0/2.');
    expect(r.s.problems[0]).toMatch(/^1 pod CrashLoopBackOff .* OOMKilled .*128Mi/);
  });

  it('names unschedulable pods with the scheduler message, and failing image pulls', async () => {
    const hungry = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: 'hungry' });
    expect(hungry.s.problems).toContainEqual(
      expect.stringMatching(
        /^1 pod Pending, not schedulable: 0\/\d+ nodes are available: .*Insufficient cpu/,
      ),
    );
    const pull = await call('workload_describe', { namespace: ns, kind: 'Pod', name: 'pull' });
    expect(pull.s.problems[0]).toBe(
      'image pull failing for registry.local/nope:404 (1 pod, ImagePullBackOff): Back-off pulling image "registry.local/nope:404": not found',
    );
    expect(pull.s.ownerChain).toEqual(['Pod/pull']);
  });

  it('finds nothing wrong with healthy workloads, and suggests a name when one is mistyped', async () => {
    for (const [k, name] of [
      ['Job', 'migrate'],
      ['StatefulSet', 'db'],
      ['Deployment', 'web'],
    ] as const) {
      const r = await call('workload_describe', { namespace: ns, kind: k, name });
      expect(r.s.problems, name).toEqual([]);
      expect(r.s.status).toBe('Complete');
      expect(r.text).toContain('No problems found.');
    }
    const rsName = webPod.metadata!.ownerReferences![0]!.name;
    const rs = await call('workload_describe', { namespace: ns, kind: 'ReplicaSet', name: rsName });
    expect(rs.s).toMatchObject({
      status: 'Complete',
      ready: '2/2',
      ownerChain: [`ReplicaSet/${rsName}`, 'Deployment/web'],
    });
    expect(rs.s.pods.total).toBe(2);
    const cron = await call('workload_describe', { namespace: ns, kind: 'CronJob', name: 'nightly' });
    expect(cron.s).toMatchObject({
      status: 'Suspended',
      problems: ['CronJob is suspended (spec.suspend=true)'],
    });

    const typo = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: 'brokn' });
    expect(typo.errorCode).toBe('not_found');
    expect(typo.text).toContain("did you mean 'broken'?");
  });
});

describe('namespace_summary', () => {
  it('summarises one namespace: statuses, restarters, warnings, unavailable workloads', async () => {
    const r = await call('namespace_summary', { namespace: ns });
    const pods = await admin().core.listNamespacedPod({ namespace: ns });
    expect(r.s.pods.total).toBe(pods.items.length);
    expect(r.s.pods.byStatus).toMatchObject({ CrashLoopBackOff: 2, ImagePullBackOff: 1 });
    expect(r.s.pods.byStatus.Pending).toBe(2);
    expect(r.s.pods.restarts).toBe(10);
    expect(r.s.pods.topRestarters.map((p: Structured) => p.restarts)).toEqual([5, 5]);
    expect(r.s.warningEvents.byReason).toMatchObject({ BackOff: 1, FailedScheduling: expect.any(Number) });
    expect(r.s.workloads).toMatchObject({ total: 6, notAvailable: 2 });
    expect(r.s.workloads.items.map((w: Structured) => w.name)).toEqual(['broken', 'hungry']);
    expect(r.text).toContain('Workloads: 6, 2 not fully available or failing:');
  });

  it('summarises the whole cluster and stays small', async () => {
    const r = await call('namespace_summary', {});
    expect(r.s.namespace).toBe('*');
    const mine = await admin().core.listNamespacedPod({ namespace: ns });
    expect(r.s.pods.total).toBeGreaterThanOrEqual(mine.items.length);
    expect(r.s.namespaces.length).toBeLessThanOrEqual(5);
    expect(r.s.pods.topRestarters.length).toBeLessThanOrEqual(5);
    expect(estimateTokens(r.text) + estimateTokens(JSON.stringify(r.s))).toBeLessThan(2500);
  });
});

describe('pods_logs', () => {
  it('names the containers when the one asked for does not exist', async () => {
    const r = await call('pods_logs', { namespace: ns, pod: webPod.metadata!.name!, container: 'nope' });
    expect(r).toMatchObject({ status: 'error', errorCode: 'not_found' });
    expect(r.text).toBe(
      `pod ${ns}/${webPod.metadata!.name!} has no container 'nope'; its containers: main, proxy`,
    );
  });

  it('says clearly when a pod has no logs to give', async () => {
    // 'stuck' is bound to a node no kwok runs: no kubelet serves its logs.
    const r = await call('pods_logs', { namespace: ns, pod: 'stuck' });
    expect(r.status).toBe('error');
    expect(r.text).toMatch(new RegExp(`container 'main' (of|in) pod ${ns}/stuck`));
    expect(r.text).toMatch(/has no logs yet|are not available/);
    expect(r.text).toMatch(/pods_get/);
  });

  it('a pod that does not exist is not found, with a suggestion', async () => {
    const r = await call('pods_logs', { namespace: ns, pod: 'pul' });
    expect(r.errorCode).toBe('not_found');
    expect(r.text).toContain("did you mean 'pull'?");
  });

  // kwok serves every pod on its nodes the logs in test/env/kwok/logs/ (see test/env/cluster.sh):
  // container 'proxy' an envoy access log, any other container checkout-api's, whose previous
  // instance panicked. The log files are in CRI format; the kubelet API hands out the messages.
  describe('on a pod whose logs kwok serves', () => {
    const fixture = (file: string) =>
      readFileSync(new URL(`../env/kwok/logs/${file}`, import.meta.url), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/^\S+ (?:stdout|stderr) [FP] /, ''));
    const current = fixture('checkout-api.log');
    const previous = fixture('checkout-api-previous.log');
    const proxy = fixture('proxy.log');
    const isError = (m: string) => /^\S+\tERROR\t/.test(m);
    let pod: string;

    beforeAll(async () => {
      pod = webPod.metadata!.name!;
      const node = await admin().core.readNode({ name: webPod.spec!.nodeName! });
      expect(
        node.status?.daemonEndpoints?.kubeletEndpoint?.Port,
        `node ${node.metadata!.name} advertises no kubelet port: the cluster was started by a test/env/cluster.sh without kwok's log serving; restart it`,
      ).toBeGreaterThan(0);
    });

    it('collapses repeated lines into one with a count, and summarises the distinct errors first', async () => {
      const r = await call('pods_logs', { namespace: ns, pod });
      expect(r.status).toBe('success');
      const tail = current.slice(-200);
      expect(current.length).toBeGreaterThan(200);
      expect(r.s).toMatchObject({
        container: 'main',
        containers: ['main', 'proxy'],
        previous: false,
        lines: 200,
        cutByServer: false,
        errorLines: tail.filter(isError).length,
        entriesOmitted: 0,
      });
      expect(r.s.distinct).toBeLessThan(30);

      // GET /api/v1/orders/<id> answered 200: one entry, counted, showing the newest verbatim.
      const orders = tail.filter((m) => /"path": "\/api\/v1\/orders\/\d+", "status": 200,/.test(m));
      expect(orders.length).toBeGreaterThan(50);
      expect(r.s.entries).toContainEqual({ count: orders.length, text: orders.at(-1) });
      // A 404 differs from a 200 only in numbers, and is still a separate entry.
      expect(r.s.entries.filter((e: Structured) => e.text.includes('"path": "/api/v1/orders/')).length).toBe(
        2,
      );
      // Stack frames repeat with their error.
      const payment = tail.filter((m) => m.includes('payment authorization failed'));
      expect(r.s.entries).toContainEqual({
        count: payment.length,
        text: 'github.com/example/checkout-api/internal/payment.(*Client).Authorize',
      });

      // Errors: distinct, most recent first, with their counts.
      const errs = tail.filter(isError);
      expect(r.s.errors).toEqual([
        { count: payment.length, text: errs.at(-1) },
        { count: payment.length, text: payment.at(-1) },
        { count: 1, text: tail.filter((m) => m.includes('failed to publish order event')).at(-1) },
      ]);
      expect(errs.at(-1)).toContain('"status": 502');
      expect(r.text).toContain(
        `Logs of container 'main' in pod ${ns}/${pod} (last 200 lines) in cluster 'kubemate': 200 lines, ${r.s.distinct} distinct after collapsing, ${errs.length} error and ${r.s.warningLines} warning lines. Other containers: proxy (pass container=NAME).`,
      );
      expect(r.text).toContain(
        `\n\nErrors: ${errs.length} lines, 3 distinct, most recent first:\n  [×${payment.length}] ${errs.at(-1)}\n`,
      );
      expect(r.text.indexOf('Errors:')).toBeLessThan(r.text.indexOf('Log (similar lines'));
      expect(r.text).toContain(`[×${orders.length}] ${orders.at(-1)}`);
    });

    it('previous: true reads the instance that crashed, panic first among its errors', async () => {
      const r = await call('pods_logs', { namespace: ns, pod, previous: true });
      expect(r.status).toBe('success');
      expect(r.s).toMatchObject({
        previous: true,
        lines: previous.length,
        errorLines: previous.filter(isError).length + 1,
      });
      expect(r.s.errors[0]).toEqual({
        count: 1,
        text: 'panic: runtime error: invalid memory address or nil pointer dereference',
      });
      expect(r.s.errors[1].text).toContain('failed to publish order event');
      expect(r.s.entries.at(-1)).toEqual({ count: 1, text: previous.at(-1) });
      expect(r.text).toContain(`(previous instance, last 200 lines)`);
      expect(r.text).toContain('[signal SIGSEGV: segmentation violation');
      expect(r.text).not.toContain(current.at(-1));
    });

    it('honours tailLines and sinceSeconds', async () => {
      const three = await call('pods_logs', { namespace: ns, pod, tailLines: 3 });
      expect(three.s).toMatchObject({ lines: 3, distinct: 3, errorLines: 0, errors: [] });
      expect(three.s.entries).toEqual(current.slice(-3).map((text) => ({ count: 1, text })));
      expect(three.text).toContain('(last 3 lines)');

      const all = await call('pods_logs', { namespace: ns, pod, tailLines: 5000 });
      expect(all.s).toMatchObject({ lines: current.length, errorLines: current.filter(isError).length });
      expect(all.s.errors.at(-1).text).toContain('failed to publish order event');
      expect(all.s.errors.at(-1).count).toBe(current.filter((m) => m.includes('order event')).length);

      // The fixture's lines are from 2024: nothing in the last hour.
      const recent = await call('pods_logs', { namespace: ns, pod, sinceSeconds: 3600 });
      expect(recent.status).toBe('no_data');
      expect(recent.s.lines).toBe(0);
      expect(recent.text).toContain('The log is empty for this window; try previous=true');
    });

    it('reads the container asked for', async () => {
      const r = await call('pods_logs', { namespace: ns, pod, container: 'proxy' });
      expect(r.status).toBe('success');
      expect(r.s).toMatchObject({ container: 'proxy', lines: proxy.length, errorLines: 0 });
      const ok = proxy.filter((m) => /"GET \/api\/v1\/orders\/\d+ HTTP\/1\.1" 200 /.test(m));
      expect(r.s.entries).toContainEqual({ count: ok.length, text: ok.at(-1) });
      expect(r.text).toContain('Other containers: main (pass container=NAME).');
    });
  });
});

describe('secrets never leave', () => {
  it('Secret data, credential env values and credential annotations are absent from every read tool', async () => {
    const web = webPod.metadata!.name!;
    const rs = webPod.metadata!.ownerReferences![0]!.name;
    const calls: Array<[string, Record<string, unknown>]> = [
      ['resources_get', { kind: 'secret', namespace: ns, name: 'db-creds' }],
      ['resources_get', { kind: 'Secret', namespace: ns, name: 'db-creds' }],
      ['resources_list', { kind: 'secrets', namespace: ns }],
      ['resources_get', { kind: 'deploy', namespace: ns, name: 'web' }],
      ['resources_get', { kind: 'rs', namespace: ns, name: rs }],
      ['resources_get', { kind: 'po', namespace: ns, name: web }],
      ['resources_list', { kind: 'deploy', namespace: ns }],
      ['resources_list', { kind: 'pods', namespace: ns }],
      ['workload_describe', { namespace: ns, kind: 'Deployment', name: 'web' }],
      ['workload_describe', { namespace: ns, kind: 'Pod', name: web }],
      ['workloads_list', { namespace: ns }],
      ['namespace_summary', { namespace: ns }],
      ['nodes_get', { name: webPod.spec!.nodeName! }],
      ['pods_logs', { namespace: ns, pod: web }],
      ['pods_get', { namespace: ns, name: web }],
      ['pods_list', { namespace: ns }],
      ['events_list', { namespace: ns }],
    ];
    // The seeds are really there for a tool to leak.
    const raw = JSON.stringify([
      await admin().core.readNamespacedSecret({ namespace: ns, name: 'db-creds' }),
      await admin().apps.readNamespacedDeployment({ namespace: ns, name: 'web' }),
      await admin().core.readNamespacedPod({ namespace: ns, name: web }),
    ]);
    expect(leaks(raw).length).toBeGreaterThanOrEqual(Object.keys(seeds).length);

    for (const [tool, args] of calls) {
      const where = `${tool} ${JSON.stringify(args)}`;
      const r = await app.pipeline.invoke(tool, args, me);
      if (tool !== 'pods_logs') expect(r.status, where).toBe('success');
      expect(leaks(`${r.text}\n${JSON.stringify(r.structured ?? {})}`), where).toEqual([]);
      // Without the pipeline's redactor, too: the tools themselves never show them.
      const direct = await unredacted(tool, args);
      if (tool !== 'pods_logs') expect(direct.ok, where).toBe(true);
      expect(leaks(direct.text), `${where} (handler alone)`).toEqual([]);
    }
  });

  it('what is shown instead: key names and sizes, masked values, no last-applied-configuration', async () => {
    const secret = await call('resources_get', { kind: 'secret', namespace: ns, name: 'db-creds' });
    expect(secret.s.secretKeys).toEqual([
      { key: 'api-token', bytes: seeds.secretToken.length },
      { key: 'password', bytes: seeds.secretData.length },
      { key: 'username', bytes: 'payments'.length },
    ]);
    expect(secret.s.object.data.username).toBe('(8 bytes, hidden)');
    expect(secret.text).toContain(
      `Data keys (values are never shown): api-token (${seeds.secretToken.length} bytes), password (${seeds.secretData.length} bytes), username (8 bytes)`,
    );
    expect(secret.text).not.toContain(b64('payments'));
    expect(secret.s.object.metadata.annotations).toEqual({
      'db-password': '[REDACTED]',
      'example.com/api-token': '[REDACTED]',
      'example.com/owner': 'team-payments',
    });

    const deploy = await call('resources_get', { kind: 'deploy', namespace: ns, name: 'web' });
    const env = deploy.s.object.spec.template.spec.containers[0].env;
    expect(env).toEqual([
      { name: 'DB_PASSWORD', value: '[REDACTED]' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } },
    ]);
    expect(deploy.text).not.toContain('last-applied-configuration');
    expect(deploy.text).toContain('example.com/owner: team-payments');
    const list = await call('resources_list', {
      kind: 'secrets',
      namespace: ns,
      fieldSelector: 'metadata.name=db-creds',
    });
    expect(list.s.items).toEqual([expect.objectContaining({ name: 'db-creds', info: 'Opaque, 3 keys' })]);
  });
});
