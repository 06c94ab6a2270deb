import type { CoreV1Event, V1ContainerStatus } from '@kubernetes/client-node';
import { z } from 'zod';
import { kubeCall } from '../clients/kube.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  countBy,
  formatCounts,
  nameArg,
  namespaceArg,
  type PodSummary,
  readAnnotations,
  selectorArg,
  summarisePod,
  TOOLSET,
} from './common.js';
import { formatRequests, podRequests } from './diagnose.js';
import { describeEvents, eventsFor } from './events.js';
import { podSummaries } from './pod-table.js';

const podItem = z.object({
  namespace: z.string(),
  name: z.string(),
  ready: z.string(),
  status: z.string(),
  restarts: z.number(),
  age: z.string(),
  node: z.string(),
  notReadyReason: z
    .string()
    .optional()
    .describe('why a Running pod is not ready though its containers said so, e.g. NodeNotReady'),
  lastRestartSeconds: z.number().optional().describe('seconds since a container last restarted'),
});

const podsListOutput = listOutput({
  cluster: z.string(),
  namespace: z.string().describe('namespace listed, or "*" for all'),
  total: z.number().describe('pods matching, exact'),
  byStatus: z.record(z.string(), z.number()),
  notReady: z.number(),
  restarts: z.number(),
  items: z.array(podItem),
});

const podsList = defineTool({
  name: 'pods_list',
  title: 'Pods: List',
  description:
    'List pods in one namespace or across all namespaces, with ready containers, status (CrashLoopBackOff, ImagePullBackOff, Pending…), restarts, age and node. Call this first to see what is running or failing; unhealthy pods come first and totals by status are exact even when the list is cut. Use labelSelector/fieldSelector or unhealthy=true to narrow.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.optional().describe('Namespace to list; omit for all namespaces'),
    labelSelector: selectorArg.optional().describe('Kubernetes label selector, e.g. "app=api,tier!=cache"'),
    fieldSelector: selectorArg
      .optional()
      .describe('Kubernetes field selector, e.g. "spec.nodeName=node-1" or "status.phase=Pending"'),
    unhealthy: z.boolean().optional().describe('Only pods that are not Running-and-ready (or Completed)'),
  }),
  output: podsListOutput,
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const where = args.namespace ? `namespace '${args.namespace}'` : 'all namespaces';
    const all = await kubeCall(cluster, `list pods in ${where}`, () =>
      podSummaries(cluster, {
        ...(args.namespace ? { namespace: args.namespace } : {}),
        ...(args.labelSelector ? { labelSelector: args.labelSelector } : {}),
        ...(args.fieldSelector ? { fieldSelector: args.fieldSelector } : {}),
        signal: ctx.signal,
      }),
    );
    if (all.length === 0 && args.namespace) await assertNamespaceExists(cluster, args.namespace);
    let summaries = all;
    if (args.unhealthy) summaries = summaries.filter((s) => !s.healthy);
    summaries.sort(
      (a, b) =>
        Number(a.healthy) - Number(b.healthy) ||
        b.restarts - a.restarts ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );

    const byStatus = countBy(summaries, (s) => s.status);
    const notReady = summaries.filter((s) => {
      const [r, t] = s.ready.split('/');
      return r !== t;
    }).length;
    const restarts = summaries.reduce((n, s) => n + s.restarts, 0);
    const filters = [
      args.labelSelector && `labels ${args.labelSelector}`,
      args.fieldSelector && `fields ${args.fieldSelector}`,
    ]
      .filter(Boolean)
      .join(', ');
    const noun = args.unhealthy ? 'unhealthy pods' : 'pods';
    const header =
      summaries.length === 0
        ? `No ${noun} in ${where} of cluster '${cluster.name}'${filters ? ` matching ${filters}` : ''}${args.unhealthy ? ` (${all.length} pods, all healthy)` : ''}.`
        : `${summaries.length} ${noun} in ${where} of cluster '${cluster.name}'${filters ? ` matching ${filters}` : ''}: ${formatCounts(byStatus)}. Not ready: ${notReady}. Restarts: ${restarts}.${args.unhealthy ? ` (${all.length - summaries.length} healthy pods not listed.)` : ''}`;

    const allNs = !args.namespace;
    return {
      kind: 'list',
      header,
      columns: allNs
        ? ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'NODE']
        : ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'NODE'],
      items: summaries,
      row: (s: PodSummary) => {
        const cells = [
          s.name,
          s.ready,
          s.status,
          String(s.restarts),
          s.age,
          s.notReadyReason ? `${s.node} (${s.notReadyReason})` : s.node,
        ];
        return allNs ? [s.namespace, ...cells] : cells;
      },
      toStructured: ({ healthy: _healthy, ...rest }: PodSummary) => rest,
      narrow: allNs
        ? 'give a namespace, a labelSelector, a fieldSelector such as status.phase!=Running, or unhealthy=true'
        : 'give a labelSelector, a fieldSelector, or unhealthy=true',
      totals: {
        cluster: cluster.name,
        namespace: args.namespace ?? '*',
        total: summaries.length,
        byStatus,
        notReady,
        restarts,
      },
    };
  },
});

function describeState(c: V1ContainerStatus): string {
  const s = c.state;
  if (s?.running) return `running since ${age(s.running.startedAt)} ago`;
  if (s?.waiting)
    return `waiting: ${s.waiting.reason ?? 'unknown'}${s.waiting.message ? ` (${s.waiting.message})` : ''}`;
  if (s?.terminated) {
    const t = s.terminated;
    return `terminated: ${t.reason ?? 'unknown'} exit ${t.exitCode}${t.message ? ` (${t.message})` : ''}`;
  }
  return 'no state reported';
}

function lastTermination(c: V1ContainerStatus) {
  const t = c.lastState?.terminated;
  if (!t) return undefined;
  return {
    reason: t.reason ?? 'unknown',
    exitCode: t.exitCode,
    finishedAt: t.finishedAt ? new Date(t.finishedAt).toISOString() : undefined,
    ...(t.message ? { message: t.message } : {}),
  };
}

const containerOut = z.object({
  name: z.string(),
  image: z.string(),
  ready: z.boolean(),
  restarts: z.number(),
  state: z.string(),
  lastTermination: z
    .object({
      reason: z.string(),
      exitCode: z.number(),
      finishedAt: z.string().optional(),
      message: z.string().optional(),
    })
    .optional(),
  requests: z.record(z.string(), z.string()).optional(),
  limits: z.record(z.string(), z.string()).optional(),
});

const eventOut = z.object({
  type: z.string(),
  reason: z.string(),
  message: z.string(),
  count: z.number(),
  lastSeen: z.string(),
});

const podsGet = defineTool({
  name: 'pods_get',
  title: 'Pods: Get',
  description:
    "Show one pod in detail: phase, node, conditions, each container with its state, restarts, last termination reason (OOMKilled, Error, exit code) and resources, plus the pod's recent events, warnings first. Call this when a pod is failing and you need to know why.",
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the pod'),
    name: nameArg.describe('Pod name'),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string(),
    name: z.string(),
    status: z.string(),
    phase: z.string(),
    node: z.string(),
    ip: z.string().optional(),
    qosClass: z.string().optional(),
    age: z.string(),
    owner: z.string().optional(),
    conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional() })),
    containers: z.array(containerOut),
    initContainers: z.array(containerOut),
    events: z.array(eventOut),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.name}`;
    const [pod, events] = await Promise.all([
      kubeCall(cluster, `get pod ${ref}`, () =>
        cluster.core.readNamespacedPod({ namespace: args.namespace, name: args.name }),
      ).catch(async (e) => {
        if (e.code === 'not_found') await assertNamespaceExists(cluster, args.namespace);
        throw e;
      }),
      eventsFor(cluster, args.namespace, 'Pod', args.name),
    ]);
    const summary = summarisePod(pod);
    const specOf = (name: string, init: boolean) =>
      (init ? pod.spec?.initContainers : pod.spec?.containers)?.find((c) => c.name === name);
    // Every container the spec names, with its status when the kubelet has reported one: a pod
    // that is not scheduled yet has no statuses, and its requests are what the scheduler weighs.
    const containers = (statuses: V1ContainerStatus[] | undefined, init: boolean) => {
      const specs = (init ? pod.spec?.initContainers : pod.spec?.containers) ?? [];
      const byName = new Map((statuses ?? []).map((c) => [c.name, c]));
      const names = [...specs.map((c) => c.name), ...[...byName.keys()].filter((n) => !specOf(n, init))];
      return names.map((name) => {
        const c = byName.get(name);
        const res = specOf(name, init)?.resources;
        const last = c ? lastTermination(c) : undefined;
        return {
          name,
          image: c?.image ?? specOf(name, init)?.image ?? '',
          ready: c?.ready ?? false,
          restarts: c?.restartCount ?? 0,
          state: c
            ? describeState(c)
            : pod.spec?.nodeName
              ? 'not started yet'
              : 'not started (pod not scheduled)',
          ...(last ? { lastTermination: last } : {}),
          ...(res?.requests ? { requests: res.requests as Record<string, string> } : {}),
          ...(res?.limits ? { limits: res.limits as Record<string, string> } : {}),
        };
      });
    };
    const owner = pod.metadata?.ownerReferences?.[0];
    const structured = {
      cluster: cluster.name,
      namespace: args.namespace,
      name: args.name,
      status: summary.status,
      phase: pod.status?.phase ?? 'Unknown',
      node: summary.node,
      ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
      ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
      age: summary.age,
      ...(owner ? { owner: `${owner.kind}/${owner.name}` } : {}),
      conditions: (pod.status?.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        ...(c.reason ? { reason: c.reason } : {}),
      })),
      containers: containers(pod.status?.containerStatuses, false),
      initContainers: containers(pod.status?.initContainerStatuses, true),
      events: events.map(eventSummary),
    };

    const lines = [
      `Pod ${ref} in cluster '${cluster.name}': ${summary.status} (phase ${structured.phase}), ready ${summary.ready}, restarts ${summary.restarts}, age ${summary.age}, node ${summary.node}${structured.owner ? `, owned by ${structured.owner}` : ''}.`,
    ];
    const falseConds = structured.conditions.filter((c) => c.status !== 'True');
    if (falseConds.length > 0) {
      lines.push(
        `Conditions not true: ${falseConds.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ')}`,
      );
    }
    for (const [label, list] of [
      ['Init containers', structured.initContainers],
      ['Containers', structured.containers],
    ] as const) {
      if (list.length === 0) continue;
      lines.push(`${label}:`);
      for (const c of list) {
        lines.push(
          `- ${c.name} (${c.image}): ${c.ready ? 'ready' : 'not ready'}, restarts ${c.restarts}, ${c.state}`,
        );
        if (c.lastTermination) {
          const t = c.lastTermination;
          lines.push(
            `  last terminated: ${t.reason}, exit code ${t.exitCode}${t.finishedAt ? ` at ${t.finishedAt}` : ''}${t.message ? ` (${t.message})` : ''}`,
          );
        }
        const res = [
          c.requests && `requests ${fmtRes(c.requests)}`,
          c.limits && `limits ${fmtRes(c.limits)}`,
        ].filter(Boolean);
        if (res.length > 0) lines.push(`  ${res.join('; ')}`);
      }
    }
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status !== 'True');
    if (sched) {
      const asked = formatRequests(podRequests(pod), [...podRequests(pod).keys()]);
      lines.push(
        `Not scheduled${sched.message ? `: ${sched.message}` : ''}${asked ? ` The pod requests ${asked} in all.` : ' The pod sets no resource requests.'}`,
      );
    }
    if (summary.notReadyReason) {
      lines.push(
        `Not ready although its containers last reported ready: Ready condition False (${summary.notReadyReason}); the node ${summary.node} has likely stopped reporting (check nodes_get ${summary.node}).`,
      );
    }
    lines.push(events.length > 0 ? 'Recent events (warnings first):' : 'No recent events.');
    lines.push(...describeEvents(events));
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

function fmtRes(r: Record<string, string>): string {
  return Object.entries(r)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function eventSummary(e: CoreV1Event) {
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? e.series?.count ?? 1,
    lastSeen: new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).toISOString(),
  };
}

export const podTools: ToolDef[] = [podsList, podsGet];
