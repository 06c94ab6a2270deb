// The causes the read tools must name, planted on the real test cluster: a pull error whose cause
// sits at the end of a long message, a Pending pod whose request fits no node, pods on a node that
// stopped answering, a container OOMKilled minutes ago that runs again, and a Pod's YAML intact
// through redaction. Names and numbers are drawn per run, so nothing matches a fixed fixture.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitFor,
  waitForRunningPods,
} from '../support/kube.js';

const ns = uniqueName('diag');
const u = Math.random()
  .toString(36)
  .replace(/[^a-z]/g, '')
  .slice(0, 5)
  .padEnd(5, 'q');
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const me = { id: 'local:test', groups: ['local'], source: 'cli' as const };

const deadNode = `kmd-${u}-dead`;
const names = {
  pull: `${pick(['ledger', 'fx', 'quotes'])}-${u}-pull`,
  hungry: `${pick(['train', 'etl', 'render'])}-${u}-big`,
  onDead: `${pick(['db', 'cache', 'queue'])}-${u}-stranded`,
  oom: `${pick(['pricing', 'risk', 'search'])}-${u}-mem`,
};
const cpuAsk = pick([48, 64, 96, 200]) * 1000; // no kwok node has this many cores
const memLimit = `${pick([192, 320, 640])}Mi`;
const image = `registry.${u}.example.net/team-${u}/${names.pull}-service-image:${pick(['9.9.9', '0.0.0-missing', '4.4.4'])}`;
const pullMessage = `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found: manifest unknown`;

let app: App;

function deployment(name: string, replicas: number, containers: V1Container[], podSpec = {}) {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers, ...podSpec } },
    },
  };
}

/** Writes a pod's status once `ready(pod)` says the pod is where the test wants it. */
async function setStatus(name: string, ready: (p: V1Pod) => boolean, mutate: (p: V1Pod) => void) {
  const { core } = adminClients();
  await waitFor(`status of ${ns}/${name} set`, async () => {
    const pod = await core.readNamespacedPod({ namespace: ns, name });
    if (!ready(pod)) return undefined;
    mutate(pod);
    await core.replaceNamespacedPodStatus({ namespace: ns, name, body: pod });
    return true;
  });
}

const started = (p: V1Pod) => !!p.status?.podIP && p.status.phase === 'Running';

async function podsOf(app: string): Promise<V1Pod[]> {
  const { core } = adminClients();
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
}

async function setupPull() {
  const { apps, core } = adminClients();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(names.pull, 1, [{ name: 'main', image }]),
  });
  const [pod] = await waitFor('pull pod', async () => {
    const pods = await podsOf(names.pull);
    return pods.length === 1 && started(pods[0]!) ? pods : undefined;
  });
  const podName = pod!.metadata!.name!;
  await setStatus(podName, started, (p) => {
    p.status!.phase = 'Pending';
    p.status!.conditions = (p.status!.conditions ?? []).map((c) =>
      c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False' } : c,
    );
    p.status!.containerStatuses = [
      {
        name: 'main',
        image,
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ImagePullBackOff', message: pullMessage } },
      },
    ];
  });
  await core.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { name: `${podName}.pull.${u}` },
      involvedObject: { kind: 'Pod', name: podName, namespace: ns },
      type: 'Warning',
      reason: 'Failed',
      message: `Failed to pull image "${image}": ${pullMessage.slice(pullMessage.indexOf('failed to pull'))}`,
      count: 4,
      firstTimestamp: new Date(Date.now() - 300_000),
      lastTimestamp: new Date(),
      source: { component: 'kubelet' },
    },
  });
}

async function setupHungry() {
  const { apps } = adminClients();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(names.hungry, 1, [
      {
        name: 'worker',
        image: 'registry.local/worker:1',
        resources: { requests: { cpu: `${cpuAsk}m`, memory: '1Gi' } },
      },
    ]),
  });
  await waitFor('hungry pod unschedulable', async () => {
    const pods = await podsOf(names.hungry);
    return pods[0]?.status?.conditions?.some((c) => c.reason === 'Unschedulable') ? true : undefined;
  });
}

async function setupDeadNode() {
  const { core, apps } = adminClients();
  const resources = { cpu: '16', memory: '64Gi', pods: '110' };
  // Not managed by kwok: its "kubelet" stopped answering.
  await core.createNode({
    body: {
      metadata: { name: deadNode, labels: { 'kubernetes.io/hostname': deadNode, [`kmd-${u}`]: 'x' } },
      status: {
        allocatable: resources,
        capacity: resources,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'PLEG is not healthy: pleg was last seen active 3m40s ago',
            lastHeartbeatTime: new Date(),
            lastTransitionTime: new Date(),
          },
        ],
      },
    },
  });
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(names.onDead, 3, [{ name: 'main', image: 'registry.local/db:16' }], {
      nodeName: deadNode,
      tolerations: [{ operator: 'Exists' }],
    }),
  });
  const pods = await waitFor('3 pods bound to the dead node', async () => {
    const list = await podsOf(names.onDead);
    return list.length === 3 ? list : undefined;
  });
  // What the pods said before the node went quiet (containers ready), and what the node
  // controller wrote since (the pod's Ready condition False, NodeNotReady).
  for (const p of pods) {
    await setStatus(
      p.metadata!.name!,
      () => true,
      (pod) => {
        const now = new Date();
        pod.status = {
          phase: 'Running',
          podIP: '10.9.8.7',
          startTime: new Date(now.getTime() - 3_600_000),
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            { type: 'Ready', status: 'False', reason: 'NodeNotReady', lastTransitionTime: now },
          ],
          containerStatuses: [
            {
              name: 'main',
              image: 'registry.local/db:16',
              imageID: '',
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: new Date(now.getTime() - 3_600_000) } },
            },
          ],
        };
      },
    );
  }
}

async function setupRecentOom() {
  const { apps } = adminClients();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(names.oom, 2, [
      { name: 'app', image: 'registry.local/app:2', resources: { limits: { memory: memLimit } } },
    ]),
  });
  const pods = await waitForRunningPods(ns, `app=${names.oom}`, 2);
  const victim = pods[0]!.metadata!.name!;
  await setStatus(victim, started, (p) => {
    const now = Date.now();
    const c = p.status!.containerStatuses![0]!;
    c.restartCount = 3;
    c.lastState = {
      terminated: {
        exitCode: 137,
        reason: 'OOMKilled',
        startedAt: new Date(now - 600_000),
        finishedAt: new Date(now - 217_000), // "3m37s" in the pod table
      },
    };
    c.state = { running: { startedAt: new Date(now - 216_000) } };
  });
}

beforeAll(async () => {
  await createNamespace(ns);
  await Promise.all([setupPull(), setupHungry(), setupDeadNode(), setupRecentOom()]);
  app = buildApp(kubemateConfig(), silentLogger);
});

afterAll(async () => {
  await adminClients()
    .core.deleteNode({ name: deadNode })
    .catch(() => undefined);
  await deleteNamespace(ns);
});

// biome-ignore lint/suspicious/noExplicitAny: tests read structured results loosely and assert their shape
type Structured = Record<string, any>;

async function call(tool: string, args: Record<string, unknown>) {
  const r = await app.pipeline.invoke(tool, args, me);
  expect(r.status, r.text).toBe('success');
  const schema = app.pipeline.registry.get(tool).output!;
  const plain = JSON.parse(JSON.stringify(r.structured));
  expect(JSON.parse(JSON.stringify(schema.parse(plain)))).toEqual(plain);
  return { ...r, s: (r.structured ?? {}) as Structured };
}

describe('messages keep their cause', () => {
  it('workload_describe and namespace_summary show "manifest unknown" at the end of a long pull error', async () => {
    const d = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: names.pull });
    const problem = d.s.problems.find((p: string) => p.startsWith('image pull failing'));
    expect(problem).toContain(image);
    expect(problem).toContain('manifest unknown');
    const failed = d.s.events.find((e: Structured) => e.reason === 'Failed');
    expect(failed.message).toContain('manifest unknown');
    const summary = await call('namespace_summary', { namespace: ns });
    const example = summary.s.warningEvents.examples.find((e: Structured) => e.reason === 'Failed');
    expect(example.message).toContain('manifest unknown');
  });
});

describe('Pending pods carry the request that cannot fit', () => {
  it('workload_describe names the request beside the scheduler message', async () => {
    const d = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: names.hungry });
    const problem = d.s.problems.find((p: string) => p.includes('not schedulable'));
    expect(problem).toMatch(/Insufficient cpu/);
    expect(problem).toContain(`the pod requests cpu ${cpuAsk / 1000}, memory 1Gi`);
  });

  it('pods_get lists the containers of a pod that never started, with their requests', async () => {
    const [pod] = await podsOf(names.hungry);
    const r = await call('pods_get', { namespace: ns, name: pod!.metadata!.name! });
    expect(r.s.containers).toEqual([
      expect.objectContaining({
        name: 'worker',
        state: 'not started (pod not scheduled)',
        requests: { cpu: String(cpuAsk / 1000), memory: '1Gi' },
      }),
    ]);
    expect(r.text).toContain(`The pod requests cpu ${cpuAsk / 1000}, memory 1Gi in all.`);
  });
});

describe('pods on a NotReady node are not healthy', () => {
  it('pods_list counts them not ready and lists them among the unhealthy', async () => {
    const all = await call('pods_list', { namespace: ns, labelSelector: `app=${names.onDead}` });
    expect(all.s.total).toBe(3);
    expect(all.s.notReady).toBe(3);
    for (const item of all.s.items) {
      expect(item).toMatchObject({ ready: '0/1', status: 'Running', notReadyReason: 'NodeNotReady' });
    }
    expect(all.text).toContain(`${deadNode} (NodeNotReady)`);
    const unhealthy = await call('pods_list', { namespace: ns, unhealthy: true });
    const stranded = unhealthy.s.items.filter((i: Structured) => i.name.startsWith(names.onDead));
    expect(stranded).toHaveLength(3);
  });

  it('workload_describe names the node and its condition instead of "No problems found"', async () => {
    const d = await call('workload_describe', { namespace: ns, kind: 'Deployment', name: names.onDead });
    expect(d.text).not.toContain('No problems found');
    expect(d.s.problems[0]).toContain(`3 pods not ready because node ${deadNode} is NotReady`);
    expect(d.s.problems[0]).toMatch(/KubeletNotReady: PLEG is not healthy/);
  });

  it('pods_get says why a pod with ready containers is not ready', async () => {
    const [pod] = await podsOf(names.onDead);
    const r = await call('pods_get', { namespace: ns, name: pod!.metadata!.name! });
    expect(r.text).toContain('Not ready although its containers last reported ready');
    expect(r.text).toContain(`nodes_get ${deadNode}`);
  });
});

describe('namespace_summary remembers recent trouble', () => {
  it('lists the container OOMKilled minutes ago, with its limit and Deployment, though all runs again', async () => {
    const s = await call('namespace_summary', { namespace: ns });
    const recent = s.s.recentRestarts.find((r: Structured) => r.workload === `Deployment/${names.oom}`);
    expect(recent).toMatchObject({
      restarts: 3,
      container: 'app',
      reason: 'OOMKilled',
      exitCode: 137,
      memoryLimit: memLimit,
    });
    expect(recent.lastRestart).toMatch(/^(2\d\d|3\d\d)s$|^[3-6]m$/);
    expect(s.text).toContain(`app OOMKilled (exit code 137, memory limit ${memLimit})`);
    expect(s.text).not.toMatch(/all fully available\.$/m);
  });
});

describe('redaction keeps YAML whole', () => {
  it("resources_get of a Pod prints its projected token's expirationSeconds as YAML that parses", async () => {
    const [pod] = await podsOf(names.oom);
    const r = await call('resources_get', { kind: 'Pod', namespace: ns, name: pod!.metadata!.name! });
    const yaml = r.text.slice(r.text.indexOf('\n') + 1);
    const doc = parse(yaml.replace(/^```(?:yaml)?\n|```\s*$/gm, ''));
    const sources = JSON.stringify(doc);
    expect(sources).toMatch(/"serviceAccountToken":\{"expirationSeconds":\d+,"path":"token"\}/);
    expect(r.text).not.toMatch(/\[REDACTED\] \d+/);
  });
});
