import type { CoreV1Event, V1Node, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { formatBytes, formatCpu, parseQuantity } from '../shared/quantity.js';
import {
  age,
  clusterArg,
  countBy,
  formatCounts,
  nameArg,
  readAnnotations,
  selectorArg,
  summarisePod,
  TOOLSET,
} from './common.js';
import { describeEvents, sortEvents } from './events.js';

/** Cluster totals in cores: "2.5", "3264". */
function cores(n: number): string {
  return `${Math.round(n * 10) / 10}`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '-';
}

/**
 * What the scheduler counts for a pod: the larger of its app containers (with sidecars) and its
 * largest ordinary init container, plus overhead.
 */
export function podRequests(pod: V1Pod): { cpu: number; memory: number } {
  const sum = { cpu: 0, memory: 0 };
  const init = { cpu: 0, memory: 0 };
  const req = (r: { requests?: Record<string, string> } | undefined) => ({
    cpu: parseQuantity(r?.requests?.cpu),
    memory: parseQuantity(r?.requests?.memory),
  });
  for (const c of pod.spec?.containers ?? []) {
    const r = req(c.resources as never);
    sum.cpu += r.cpu;
    sum.memory += r.memory;
  }
  let sidecars = { cpu: 0, memory: 0 };
  for (const c of pod.spec?.initContainers ?? []) {
    const r = req(c.resources as never);
    if (c.restartPolicy === 'Always') {
      sidecars = { cpu: sidecars.cpu + r.cpu, memory: sidecars.memory + r.memory };
    } else {
      init.cpu = Math.max(init.cpu, sidecars.cpu + r.cpu);
      init.memory = Math.max(init.memory, sidecars.memory + r.memory);
    }
  }
  const overhead = pod.spec?.overhead as Record<string, string> | undefined;
  return {
    cpu: Math.max(sum.cpu + sidecars.cpu, init.cpu) + parseQuantity(overhead?.cpu),
    memory: Math.max(sum.memory + sidecars.memory, init.memory) + parseQuantity(overhead?.memory),
  };
}

const PRESSURE = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

function nodeReady(node: V1Node): 'Ready' | 'NotReady' | 'Unknown' {
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c || c.status === 'Unknown') return 'Unknown';
  return c.status === 'True' ? 'Ready' : 'NotReady';
}

function rolesOf(node: V1Node): string[] {
  const labels = node.metadata?.labels ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length) || '<none>');
  if (labels['kubernetes.io/role']) roles.push(labels['kubernetes.io/role']);
  return [...new Set(roles)].sort();
}

interface Usage {
  cpu: number;
  memory: number;
  pods: number;
}

/**
 * Requests of every non-terminated pod, summed per node, from one paged list across all
 * namespaces (never one call per node). Pages of 1,000 keep round trips few and memory flat.
 */
async function requestedByNode(cluster: KubeCluster, fieldSelector?: string): Promise<Map<string, Usage>> {
  const byNode = new Map<string, Usage>();
  const selector = ['status.phase!=Succeeded', 'status.phase!=Failed', fieldSelector]
    .filter(Boolean)
    .join(',');
  await kubeCall(cluster, 'list pods to sum requests per node', () =>
    cluster.raw.pages<V1Pod>(
      '/api/v1/pods',
      { fieldSelector: selector },
      (pods) => {
        for (const pod of pods) {
          const node = pod.spec?.nodeName;
          if (!node) continue;
          const r = podRequests(pod);
          const u = byNode.get(node) ?? { cpu: 0, memory: 0, pods: 0 };
          u.cpu += r.cpu;
          u.memory += r.memory;
          u.pods += 1;
          byNode.set(node, u);
        }
      },
      1000,
    ),
  );
  return byNode;
}

/** Above this many pods, nodes_list does not read every pod to sum requests per node. */
export const REQUESTS_POD_LIMIT = 10_000;

/** The number of pods, from one tiny page and the server's remaining-item count. */
async function approximatePodCount(cluster: KubeCluster): Promise<number> {
  const page = await cluster.raw.get<{ items?: unknown[]; metadata?: { remainingItemCount?: number } }>(
    '/api/v1/pods',
    { limit: 1 },
  );
  return (page.items?.length ?? 0) + (page.metadata?.remainingItemCount ?? 0);
}

export interface NodeSummary {
  name: string;
  status: string;
  ready: 'Ready' | 'NotReady' | 'Unknown';
  unschedulable: boolean;
  roles: string[];
  pressure: string[];
  taints: string[];
  cpu: { allocatable: number; requested: number };
  memory: { allocatable: number; requested: number };
  pods: { count: number; allocatable: number };
  age: string;
  version: string;
  healthy: boolean;
}

function summariseNode(node: V1Node, usage: Usage | undefined, now: number): NodeSummary {
  const ready = nodeReady(node);
  const unschedulable = node.spec?.unschedulable === true;
  const pressure = (node.status?.conditions ?? [])
    .filter((c) => PRESSURE.includes(c.type) && c.status === 'True')
    .map((c) => c.type);
  const alloc = (node.status?.allocatable ?? {}) as Record<string, string>;
  const status = [ready, ...(unschedulable ? ['SchedulingDisabled'] : [])].join(',');
  return {
    name: node.metadata?.name ?? '',
    status,
    ready,
    unschedulable,
    roles: rolesOf(node),
    pressure,
    taints: (node.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    cpu: { allocatable: parseQuantity(alloc.cpu), requested: usage?.cpu ?? 0 },
    memory: { allocatable: parseQuantity(alloc.memory), requested: usage?.memory ?? 0 },
    pods: { count: usage?.pods ?? 0, allocatable: parseQuantity(alloc.pods) },
    age: age(node.metadata?.creationTimestamp, now),
    version: node.status?.nodeInfo?.kubeletVersion ?? '',
    healthy: ready === 'Ready' && !unschedulable && pressure.length === 0,
  };
}

const resourceOut = z.object({
  allocatable: z.string(),
  requested: z.string(),
  percent: z.string(),
});

function res(kind: 'cpu' | 'memory', r: { allocatable: number; requested: number }) {
  const f = kind === 'cpu' ? formatCpu : formatBytes;
  return {
    allocatable: f(r.allocatable),
    requested: f(r.requested),
    percent: pct(r.requested, r.allocatable),
  };
}

const nodeItem = z.object({
  name: z.string(),
  status: z.string(),
  roles: z.array(z.string()),
  pressure: z.array(z.string()),
  taints: z.array(z.string()),
  cpu: resourceOut,
  memory: resourceOut,
  pods: z.string().describe('pods scheduled / pods allocatable'),
  age: z.string(),
  version: z.string(),
});

const nodesList = defineTool({
  name: 'nodes_list',
  title: 'Nodes: List',
  description:
    "List the cluster's nodes: Ready/NotReady/Unknown, roles, Memory/Disk/PID pressure, cordoned (SchedulingDisabled), taints, CPU and memory requested by the pods scheduled there against allocatable, pod count, age and kubelet version; unhealthy and fullest nodes first, exact totals. Call this when pods are Pending for lack of resources, a node is suspected down, or to see capacity.",
  input: z.object({
    cluster: clusterArg,
    labelSelector: selectorArg
      .optional()
      .describe('Kubernetes label selector, e.g. "node-role.kubernetes.io/worker"'),
    unhealthy: z.boolean().optional().describe('Only nodes that are not Ready, cordoned or under pressure'),
  }),
  output: listOutput({
    cluster: z.string(),
    total: z.number(),
    byStatus: z.record(z.string(), z.number()),
    unschedulable: z.number(),
    pressure: z.record(z.string(), z.number()),
    cpu: resourceOut,
    memory: resourceOut,
    pods: z.number(),
    items: z.array(nodeItem),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const nodes: V1Node[] = [];
    // Summing requests means reading every pod whole. On very large clusters that alone takes
    // longer than an answer should, so the sum is left out there and nodes_get gives it per node.
    const podCount = await kubeCall(cluster, 'count pods', () => approximatePodCount(cluster));
    const sumRequests = podCount <= REQUESTS_POD_LIMIT;
    const [, usage] = await Promise.all([
      kubeCall(cluster, 'list nodes', () =>
        cluster.raw.pages<V1Node>('/api/v1/nodes', { labelSelector: args.labelSelector }, (items) => {
          nodes.push(...items);
        }),
      ),
      sumRequests ? requestedByNode(cluster) : Promise.resolve(new Map<string, Usage>()),
    ]);
    const now = Date.now();
    const all = nodes.map((n) => summariseNode(n, usage.get(n.metadata?.name ?? ''), now));
    nodes.length = 0;
    const rows = args.unhealthy ? all.filter((r) => !r.healthy) : all;
    const fullness = (r: NodeSummary) =>
      Math.max(
        r.cpu.allocatable ? r.cpu.requested / r.cpu.allocatable : 0,
        r.memory.allocatable ? r.memory.requested / r.memory.allocatable : 0,
      );
    rows.sort(
      (a, b) =>
        Number(a.ready === 'Ready') - Number(b.ready === 'Ready') ||
        Number(a.healthy) - Number(b.healthy) ||
        fullness(b) - fullness(a) ||
        a.name.localeCompare(b.name),
    );
    const byStatus = countBy(rows, (r) => r.ready);
    const pressure: Record<string, number> = {};
    for (const r of rows) for (const p of r.pressure) pressure[p] = (pressure[p] ?? 0) + 1;
    const unschedulable = rows.filter((r) => r.unschedulable).length;
    const sum = (f: (r: NodeSummary) => number) => rows.reduce((acc, r) => acc + f(r), 0);
    const cpuTotal = { allocatable: sum((r) => r.cpu.allocatable), requested: sum((r) => r.cpu.requested) };
    const cpu = {
      allocatable: cores(cpuTotal.allocatable),
      requested: cores(cpuTotal.requested),
      percent: pct(cpuTotal.requested, cpuTotal.allocatable),
    };
    const memory = res('memory', {
      allocatable: sum((r) => r.memory.allocatable),
      requested: sum((r) => r.memory.requested),
    });
    const pods = sum((r) => r.pods.count);
    const filter = args.labelSelector ? ` matching labels ${args.labelSelector}` : '';
    const noun = args.unhealthy ? 'unhealthy nodes' : 'nodes';
    const header =
      rows.length === 0
        ? `No ${noun} in cluster '${cluster.name}'${filter}${args.unhealthy ? ` (${all.length} nodes, all Ready, schedulable and without pressure)` : ''}.`
        : [
            `${rows.length} ${noun} in cluster '${cluster.name}'${filter}: ${formatCounts(byStatus)}.`,
            unschedulable ? ` Cordoned: ${unschedulable}.` : '',
            Object.keys(pressure).length ? ` Under pressure: ${formatCounts(pressure)}.` : '',
            sumRequests
              ? ` Requested CPU ${cpu.requested} of ${cpu.allocatable} cores (${cpu.percent}), memory ${memory.requested} of ${memory.allocatable} (${memory.percent}); ${pods} pods.`
              : ` Allocatable CPU ${cpu.allocatable} cores, memory ${memory.allocatable}. Requests are not summed on a cluster of about ${podCount} pods (over ${REQUESTS_POD_LIMIT}); nodes_get NODE shows one node's requests and pods.`,
            args.unhealthy ? ` (${all.length - rows.length} healthy nodes not listed.)` : '',
          ].join('');
    return {
      kind: 'list',
      header,
      columns: [
        'NAME',
        'STATUS',
        'ROLES',
        'CPU REQ',
        'MEM REQ',
        'PODS',
        'PRESSURE',
        'TAINTS',
        'AGE',
        'VERSION',
      ],
      items: rows,
      row: (r: NodeSummary) => [
        r.name,
        r.status,
        r.roles.join(',') || '<none>',
        sumRequests
          ? `${formatCpu(r.cpu.requested)}/${formatCpu(r.cpu.allocatable)} (${pct(r.cpu.requested, r.cpu.allocatable)})`
          : `?/${formatCpu(r.cpu.allocatable)}`,
        sumRequests
          ? `${formatBytes(r.memory.requested)}/${formatBytes(r.memory.allocatable)} (${pct(r.memory.requested, r.memory.allocatable)})`
          : `?/${formatBytes(r.memory.allocatable)}`,
        sumRequests ? `${r.pods.count}/${r.pods.allocatable}` : `?/${r.pods.allocatable}`,
        r.pressure.join(',') || '-',
        r.taints.length ? String(r.taints.length) : '-',
        r.age,
        r.version,
      ],
      toStructured: (r: NodeSummary) => ({
        name: r.name,
        status: r.status,
        roles: r.roles,
        pressure: r.pressure,
        taints: r.taints,
        cpu: res('cpu', r.cpu),
        memory: res('memory', r.memory),
        pods: `${r.pods.count}/${r.pods.allocatable}`,
        age: r.age,
        version: r.version,
      }),
      narrow: 'give a labelSelector, or unhealthy=true',
      totals: {
        cluster: cluster.name,
        total: rows.length,
        byStatus,
        unschedulable,
        pressure,
        cpu,
        memory,
        pods,
      },
    };
  },
});

interface NodePodRow {
  namespace: string;
  name: string;
  status: string;
  ready: string;
  restarts: number;
  cpu: number;
  memory: number;
  healthy: boolean;
  terminated: boolean;
}

const POD_ROWS = 40;

const nodesGet = defineTool({
  name: 'nodes_get',
  title: 'Nodes: Get',
  description:
    'Show one node in depth: Ready and pressure conditions with their messages, taints, cordon, capacity, allocatable and what its pods request (CPU, memory, pods), the pods on it with their requests (unhealthy and largest first), and its recent events. Call this after nodes_list when a node is NotReady, under pressure, or full.',
  input: z.object({
    cluster: clusterArg,
    name: nameArg.describe('Node name'),
  }),
  output: z.object({
    cluster: z.string(),
    name: z.string(),
    status: z.string(),
    roles: z.array(z.string()),
    age: z.string(),
    version: z.string(),
    internalIP: z.string().optional(),
    conditions: z.array(
      z.object({
        type: z.string(),
        status: z.string(),
        reason: z.string(),
        message: z.string(),
        since: z.string(),
      }),
    ),
    taints: z.array(z.string()),
    capacity: z.record(z.string(), z.string()),
    allocatable: z.record(z.string(), z.string()),
    requested: z.object({ cpu: resourceOut, memory: resourceOut, pods: z.string() }),
    pods: z.array(
      z.object({
        namespace: z.string(),
        name: z.string(),
        status: z.string(),
        ready: z.string(),
        restarts: z.number(),
        cpu: z.string(),
        memory: z.string(),
      }),
    ),
    podsOmitted: z.number(),
    events: z.array(
      z.object({ type: z.string(), reason: z.string(), message: z.string(), count: z.number() }),
    ),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const node = await kubeCall(cluster, `get node ${args.name}`, () =>
      cluster.raw.get<V1Node>(`/api/v1/nodes/${args.name}`),
    ).catch(async (e) => {
      if (!(e instanceof ToolError) || e.code !== 'not_found') throw e;
      const names: string[] = [];
      await cluster.raw
        .pages<V1Node>('/api/v1/nodes', {}, (items) => {
          for (const n of items) names.push(n.metadata?.name ?? '');
        })
        .catch(() => undefined);
      throw new ToolError(
        'not_found',
        `node '${args.name}' not found in cluster '${cluster.name}'${suggestion(args.name, names)}`,
      );
    });
    const podRows: NodePodRow[] = [];
    const events: CoreV1Event[] = [];
    await Promise.all([
      kubeCall(cluster, `list pods on node ${args.name}`, () =>
        cluster.raw.pages<V1Pod>('/api/v1/pods', { fieldSelector: `spec.nodeName=${args.name}` }, (pods) => {
          for (const pod of pods) {
            const s = summarisePod(pod);
            const terminated = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
            const r = terminated ? { cpu: 0, memory: 0 } : podRequests(pod);
            podRows.push({ ...s, cpu: r.cpu, memory: r.memory, terminated });
          }
        }),
      ),
      kubeCall(cluster, `list events for node ${args.name}`, () =>
        cluster.raw.pages<CoreV1Event>(
          '/api/v1/events',
          { fieldSelector: `involvedObject.kind=Node,involvedObject.name=${args.name}` },
          (items) => {
            events.push(...items);
          },
        ),
      ),
    ]);
    const now = Date.now();
    const usage = podRows.reduce(
      (u, p) => ({
        cpu: u.cpu + p.cpu,
        memory: u.memory + p.memory,
        pods: u.pods + (p.terminated ? 0 : 1),
      }),
      { cpu: 0, memory: 0, pods: 0 },
    );
    const s = summariseNode(node, usage, now);
    podRows.sort(
      (a, b) =>
        Number(a.healthy) - Number(b.healthy) ||
        b.cpu - a.cpu ||
        b.memory - a.memory ||
        a.name.localeCompare(b.name),
    );
    const sorted = sortEvents(events);
    const conditions = (node.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? '',
      message: c.message ?? '',
      since: c.lastTransitionTime ? age(c.lastTransitionTime, now) : '',
    }));
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const structured = {
      cluster: cluster.name,
      name: s.name,
      status: s.status,
      roles: s.roles,
      age: s.age,
      version: s.version,
      ...(internalIP ? { internalIP } : {}),
      conditions,
      taints: s.taints,
      capacity: (node.status?.capacity ?? {}) as Record<string, string>,
      allocatable: (node.status?.allocatable ?? {}) as Record<string, string>,
      requested: {
        cpu: res('cpu', s.cpu),
        memory: res('memory', s.memory),
        pods: `${s.pods.count}/${s.pods.allocatable}`,
      },
      pods: podRows.slice(0, POD_ROWS).map((p) => ({
        namespace: p.namespace,
        name: p.name,
        status: p.status,
        ready: p.ready,
        restarts: p.restarts,
        cpu: formatCpu(p.cpu),
        memory: formatBytes(p.memory),
      })),
      podsOmitted: Math.max(0, podRows.length - POD_ROWS),
      events: sorted.slice(0, 15).map((e) => ({
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        message: (e.message ?? '').slice(0, 240),
        count: e.count ?? e.series?.count ?? 1,
      })),
    };
    const r = structured.requested;
    const lines = [
      `Node ${s.name} in cluster '${cluster.name}': ${s.status}, roles ${s.roles.join(',') || '<none>'}, kubelet ${s.version || 'unknown'}, age ${s.age}${internalIP ? `, IP ${internalIP}` : ''}.`,
      `Requested: CPU ${r.cpu.requested} of ${r.cpu.allocatable} allocatable (${r.cpu.percent}), memory ${r.memory.requested} of ${r.memory.allocatable} (${r.memory.percent}), pods ${r.pods}.`,
      `Capacity: ${fmtMap(structured.capacity)}; allocatable: ${fmtMap(structured.allocatable)}.`,
      `Taints: ${s.taints.length ? s.taints.join(', ') : 'none'}.`,
      'Conditions:',
      ...conditions.map(
        (c) =>
          `- ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.since ? ` for ${c.since}` : ''}${c.message ? `: ${c.message}` : ''}`,
      ),
      `Pods (${podRows.length}${structured.podsOmitted ? `, the first ${POD_ROWS} shown, unhealthy and largest first` : ''}):`,
      ...structured.pods.map(
        (p) =>
          `- ${p.namespace}/${p.name}: ${p.status}, ready ${p.ready}, restarts ${p.restarts}, requests cpu ${p.cpu} memory ${p.memory}`,
      ),
      sorted.length > 0 ? 'Recent events (warnings first):' : 'No recent events.',
      ...describeEvents(sorted),
    ];
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

function fmtMap(m: Record<string, string>): string {
  const keys = ['cpu', 'memory', 'pods', 'ephemeral-storage'];
  return Object.entries(m)
    .filter(([k]) => keys.includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export const nodeTools: ToolDef[] = [nodesList, nodesGet];
