import type { CoreV1Event, V1ContainerStatus, V1Node, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { clipMessage } from '../shared/text.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  countBy,
  formatCounts,
  type LabelSelector,
  nameArg,
  namespaceArg,
  PAGE_SIZE,
  readAnnotations,
  selectorString,
  summarisePod,
  TOOLSET,
} from './common.js';
import { diagnose, type NodeHealth } from './diagnose.js';
import { sortEvents } from './events.js';
import type { KubeObject } from './resources.js';
import { type WorkloadKind, workloadPath, workloadStatus } from './workloads.js';

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet', 'Pod'] as const;
type Kind = (typeof KINDS)[number];

function pathOf(kind: string, namespace: string, name?: string): string | undefined {
  if (kind === 'Pod') return `/api/v1/namespaces/${namespace}/pods${name ? `/${name}` : ''}`;
  if (kind === 'ReplicaSet')
    return `/apis/apps/v1/namespaces/${namespace}/replicasets${name ? `/${name}` : ''}`;
  if ((['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as string[]).includes(kind)) {
    return workloadPath(kind as WorkloadKind, namespace, name);
  }
  return undefined;
}

function controllerOf(obj: KubeObject) {
  const refs = obj.metadata?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

async function getObject(cluster: KubeCluster, kind: string, namespace: string, name: string) {
  const path = pathOf(kind, namespace, name);
  if (!path) return undefined;
  return kubeCall(cluster, `get ${kind} ${namespace}/${name}`, () => cluster.raw.get<KubeObject>(path));
}

/** Objects at `path` matching the selector whose controller is one of `ownerUids` (any owner when undefined). */
async function listOwned(
  cluster: KubeCluster,
  path: string,
  ownerUids: Set<string> | undefined,
  labelSelector: string | undefined,
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  await kubeCall(cluster, `list ${path}`, () =>
    cluster.raw.pages<KubeObject>(path, { labelSelector }, (items) => {
      for (const o of items) if (!ownerUids || ownerUids.has(controllerOf(o)?.uid ?? '')) out.push(o);
    }),
  );
  return out;
}

function lastTermination(c: V1ContainerStatus): { reason: string; exitCode: number } | undefined {
  const t = c.lastState?.terminated ?? c.state?.terminated;
  return t ? { reason: t.reason ?? 'Error', exitCode: t.exitCode } : undefined;
}

interface PodInfo {
  name: string;
  status: string;
  ready: string;
  restarts: number;
  node: string;
  healthy: boolean;
  lastTermination?: string;
}

function podInfo(pod: V1Pod): PodInfo {
  const s = summarisePod(pod);
  const worst = [...(pod.status?.containerStatuses ?? [])].sort((a, b) => b.restartCount - a.restartCount)[0];
  const last = worst ? lastTermination(worst) : undefined;
  return {
    name: s.name,
    status: s.status,
    ready: s.ready,
    restarts: s.restarts,
    node: s.node,
    healthy: s.healthy,
    ...(last && (worst!.restartCount > 0 || !s.healthy)
      ? { lastTermination: `${worst!.name}: ${last.reason} (exit ${last.exitCode})` }
      : {}),
  };
}

const clip = (text: string | undefined, max = 240): string => clipMessage(text, max);

async function eventsAbout(
  cluster: KubeCluster,
  namespace: string,
  objects: Array<{ kind: string; name: string }>,
) {
  const lists = await Promise.all(
    objects.map((o) =>
      kubeCall(cluster, `list events for ${o.kind} ${namespace}/${o.name}`, () =>
        cluster.raw.get<{ items?: CoreV1Event[] }>(`/api/v1/namespaces/${namespace}/events`, {
          fieldSelector: `involvedObject.kind=${o.kind},involvedObject.name=${o.name}`,
          limit: 100,
        }),
      ).then((l) => l.items ?? []),
    ),
  );
  return sortEvents(lists.flat());
}

function replicaSetStatus(rs: KubeObject) {
  const desired = typeof rs.spec?.replicas === 'number' ? rs.spec.replicas : 1;
  const ready = typeof rs.status?.readyReplicas === 'number' ? rs.status.readyReplicas : 0;
  const template = (rs.spec?.template as { spec?: { containers?: Array<{ image?: string }> } } | undefined)
    ?.spec;
  return {
    status: ready >= desired ? 'Complete' : 'Degraded',
    ready: `${ready}/${desired}`,
    images: [...new Set((template?.containers ?? []).map((c) => c.image ?? ''))],
  };
}

const MAX_NODES = 5;

/**
 * The Ready condition of the nodes under running pods that are not ready (at most a few): a pod
 * whose node stopped answering still shows its containers ready. Nodes the caller may not read are
 * left out.
 */
async function nodesOf(cluster: KubeCluster, pods: V1Pod[]): Promise<NodeHealth[]> {
  const names = [
    ...new Set(
      pods
        .filter((p) => p.status?.phase === 'Running' && !summarisePod(p).healthy && p.spec?.nodeName)
        .map((p) => p.spec!.nodeName!),
    ),
  ].slice(0, MAX_NODES);
  const nodes = await Promise.all(
    names.map((name) =>
      cluster.raw
        .get<V1Node>(`/api/v1/nodes/${encodeURIComponent(name)}`)
        .then((n) => {
          const c = n.status?.conditions?.find((x) => x.type === 'Ready');
          return {
            name,
            ready: c?.status ?? 'Unknown',
            ...(c?.reason ? { reason: c.reason } : {}),
            ...(c?.message ? { message: c.message } : {}),
          };
        })
        .catch(() => undefined),
    ),
  );
  return nodes.filter((n): n is NodeHealth => n !== undefined);
}

const MAX_POD_EVENTS = 10;
const POD_ROWS = 10;

const eventOut = z.object({
  type: z.string(),
  reason: z.string(),
  object: z.string(),
  count: z.number(),
  lastSeen: z.string(),
  message: z.string(),
});

const workloadDescribe = defineTool({
  name: 'workload_describe',
  title: 'Workload: Describe',
  description:
    'Answer "what is wrong with X" for one Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet or Pod: its owner chain (Pod → ReplicaSet → Deployment), rollout status and conditions, its pods summarised (status, restarts, last termination reasons), recent events for it and its pods (warnings first), and a short list of likely problems (CrashLoopBackOff with the last exit reason and memory limit, image pull failures, unschedulable pods with the scheduler message, failed probes, stalled rollouts). Call this first when someone reports that an application is broken.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the workload'),
    kind: z.enum(KINDS).describe('Kind of the object'),
    name: nameArg.describe('Name of the object'),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string(),
    kind: z.string(),
    name: z.string(),
    ownerChain: z
      .array(z.string())
      .describe('from the object up to its top owner, e.g. ["Pod/a-1", "ReplicaSet/a-7d", "Deployment/a"]'),
    status: z.string(),
    ready: z.string(),
    age: z.string(),
    images: z.array(z.string()),
    conditions: z.array(
      z.object({ type: z.string(), status: z.string(), reason: z.string(), message: z.string() }),
    ),
    pods: z.object({
      total: z.number(),
      byStatus: z.record(z.string(), z.number()),
      restarts: z.number(),
      items: z.array(
        z.object({
          name: z.string(),
          status: z.string(),
          ready: z.string(),
          restarts: z.number(),
          node: z.string(),
          lastTermination: z.string().optional(),
        }),
      ),
    }),
    events: z.array(eventOut),
    problems: z.array(z.string()),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const { namespace } = args;
    const kind: Kind = args.kind;
    const ref = `${namespace}/${args.name}`;
    const obj = await getObject(cluster, kind, namespace, args.name).catch(async (e) => {
      if (!(e instanceof ToolError) || e.code !== 'not_found') throw e;
      await assertNamespaceExists(cluster, namespace);
      const names = await cluster.raw
        .get<{ items?: KubeObject[] }>(pathOf(kind, namespace)!, { limit: PAGE_SIZE })
        .then((l) => (l.items ?? []).map((o) => o.metadata?.name ?? ''))
        .catch(() => [] as string[]);
      throw new ToolError(
        'not_found',
        `${kind} '${args.name}' not found in namespace '${namespace}' of cluster '${cluster.name}'${suggestion(args.name, names)}`,
      );
    });
    if (!obj) throw new ToolError('invalid_arguments', `cannot describe kind ${kind}`);

    // Owner chain upwards: Pod → ReplicaSet → Deployment, Pod → Job → CronJob.
    const chain: Array<{ kind: string; name: string; obj?: KubeObject }> = [{ kind, name: args.name, obj }];
    for (let owner = controllerOf(obj), hops = 0; owner && hops < 4; hops++) {
      const parent = await getObject(cluster, owner.kind, namespace, owner.name).catch(() => undefined);
      chain.push({ kind: owner.kind, name: owner.name, ...(parent ? { obj: parent } : {}) });
      owner = parent ? controllerOf(parent) : undefined;
    }
    const top = [...chain]
      .reverse()
      .find((c) => c.obj && c.kind !== 'Pod' && c.kind !== 'ReplicaSet' && pathOf(c.kind, namespace));
    const workload = kind === 'Pod' ? top : { kind, name: args.name, obj };

    // Pods of the object, through the ReplicaSets for a Deployment and the Jobs for a CronJob.
    const uid = obj.metadata?.uid ?? '';
    const selector = selectorString((obj.spec as { selector?: LabelSelector } | undefined)?.selector);
    let pods: V1Pod[];
    const intermediates: KubeObject[] = [];
    if (kind === 'Pod') pods = [obj as V1Pod];
    else if (kind === 'Deployment') {
      // ReplicaSets and pods at once; the pods are then kept only when a ReplicaSet of ours owns them.
      const rsUids = new Set<string>();
      const [replicaSets, candidates] = await Promise.all([
        listOwned(cluster, pathOf('ReplicaSet', namespace)!, new Set([uid]), selector),
        listOwned(cluster, pathOf('Pod', namespace)!, undefined, selector),
      ]);
      intermediates.push(...replicaSets);
      for (const r of replicaSets) rsUids.add(r.metadata?.uid ?? '');
      pods = candidates.filter((p) => rsUids.has(controllerOf(p)?.uid ?? '')) as V1Pod[];
    } else if (kind === 'CronJob') {
      const jobs = await listOwned(cluster, pathOf('Job', namespace)!, new Set([uid]), undefined);
      jobs.sort(
        (a, b) =>
          Date.parse(b.metadata?.creationTimestamp ?? '') - Date.parse(a.metadata?.creationTimestamp ?? ''),
      );
      intermediates.push(...jobs.slice(0, 5));
      const jobUids = intermediates.map((j) => j.metadata?.uid ?? '');
      pods =
        jobUids.length === 0
          ? []
          : ((await listOwned(
              cluster,
              pathOf('Pod', namespace)!,
              new Set(jobUids),
              `batch.kubernetes.io/controller-uid in (${jobUids.join(',')})`,
            )) as V1Pod[]);
    } else {
      pods = (await listOwned(
        cluster,
        pathOf('Pod', namespace)!,
        new Set([uid]),
        selector || undefined,
      )) as V1Pod[];
    }

    const infos = pods.map(podInfo);
    const order = infos
      .map((info, i) => ({ info, pod: pods[i]! }))
      .sort(
        (a, b) =>
          Number(a.info.healthy) - Number(b.info.healthy) ||
          b.info.restarts - a.info.restarts ||
          a.info.name.localeCompare(b.info.name),
      );
    // Events: the object, its owners, current ReplicaSets/Jobs, and the least healthy pods.
    const subjects = [
      ...chain.map((c) => ({ kind: c.kind, name: c.name })),
      ...intermediates
        .sort(
          (a, b) =>
            Date.parse(b.metadata?.creationTimestamp ?? '') - Date.parse(a.metadata?.creationTimestamp ?? ''),
        )
        .slice(0, 3)
        .map((o) => ({ kind: kind === 'CronJob' ? 'Job' : 'ReplicaSet', name: o.metadata?.name ?? '' })),
      ...order
        .filter((o) => o.pod !== obj)
        .slice(0, MAX_POD_EVENTS)
        .map((o) => ({ kind: 'Pod', name: o.info.name })),
    ];
    const unique = [...new Map(subjects.map((s) => [`${s.kind}/${s.name}`, s])).values()];
    const events = await eventsAbout(cluster, namespace, unique);

    const summary =
      workload?.obj && workload.kind !== 'Pod'
        ? workloadStatus(workload.kind as WorkloadKind, workload.obj)
        : undefined;
    const podSummary = kind === 'Pod' ? summarisePod(obj as V1Pod) : undefined;
    const problems = diagnose(
      pods,
      workload?.obj ? { kind: workload.kind, obj: workload.obj } : undefined,
      events,
      await nodesOf(cluster, pods),
    );
    const self =
      kind === 'Pod' ? undefined : kind === 'ReplicaSet' ? replicaSetStatus(obj) : workloadStatus(kind, obj);
    const status = podSummary?.status ?? self?.status ?? 'Unknown';
    const ready = podSummary?.ready ?? self?.ready ?? '';
    const conds = (
      Array.isArray((workload?.obj ?? obj).status?.conditions)
        ? (workload?.obj ?? obj).status!.conditions
        : []
    ) as Array<{
      type?: string;
      status?: string;
      reason?: string;
      message?: string;
    }>;
    const now = Date.now();
    const byStatus = countBy(infos, (p) => p.status);
    const restarts = infos.reduce((n, p) => n + p.restarts, 0);
    const structured = {
      cluster: cluster.name,
      namespace,
      kind,
      name: args.name,
      ownerChain: chain.map((c) => `${c.kind}/${c.name}`),
      status,
      ready,
      age: age(obj.metadata?.creationTimestamp, now),
      images: self?.images ?? [...new Set(((obj as V1Pod).spec?.containers ?? []).map((c) => c.image ?? ''))],
      conditions: conds.map((c) => ({
        type: c.type ?? '',
        status: c.status ?? '',
        reason: c.reason ?? '',
        message: clip(c.message, 200),
      })),
      pods: {
        total: infos.length,
        byStatus,
        restarts,
        items: order.slice(0, POD_ROWS).map(({ info: { healthy: _h, ...rest } }) => rest),
      },
      events: events.slice(0, 15).map((e) => ({
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        object: `${e.involvedObject?.kind}/${e.involvedObject?.name}`,
        count: e.count ?? e.series?.count ?? 1,
        lastSeen: age(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, now),
        message: clip(e.message),
      })),
      problems,
    };

    const lines = [
      `${kind} ${ref} in cluster '${cluster.name}': ${status}${ready ? `, ready ${ready}` : ''}, age ${structured.age}.`,
    ];
    if (chain.length > 1) lines.push(`Owner chain: ${structured.ownerChain.join(' → ')}.`);
    if (kind === 'Pod' && summary) {
      lines.push(`Top owner ${summary.kind} ${summary.name}: ${summary.status}, ready ${summary.ready}.`);
    }
    lines.push(
      problems.length > 0 ? 'Likely problems:' : 'No problems found.',
      ...problems.map((p) => `- ${p}`),
    );
    const notTrue = structured.conditions.filter((c) => c.status !== 'True' || c.type === 'ReplicaFailure');
    if (structured.conditions.length > 0) {
      lines.push(
        `Conditions: ${structured.conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ')}`,
      );
      for (const c of notTrue) if (c.message) lines.push(`  ${c.type}: ${c.message}`);
    }
    if (kind !== 'Pod' || infos.length > 0) {
      lines.push(
        infos.length === 0
          ? 'Pods: none.'
          : `Pods: ${infos.length} (${formatCounts(byStatus)}), ${restarts} restarts${infos.length > POD_ROWS ? `; the ${POD_ROWS} least healthy:` : ':'}`,
      );
      for (const p of structured.pods.items) {
        lines.push(
          `- ${p.name}: ${p.status}, ready ${p.ready}, restarts ${p.restarts}, node ${p.node}${p.lastTermination ? `, last terminated ${p.lastTermination}` : ''}`,
        );
      }
    }
    lines.push(structured.events.length > 0 ? 'Recent events (warnings first):' : 'No recent events.');
    for (const e of structured.events) {
      lines.push(
        `- ${e.type} ${e.reason}${e.count > 1 ? ` ×${e.count}` : ''} ${e.object} (${e.lastSeen} ago): ${e.message}`,
      );
    }
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

export const describeTools: ToolDef[] = [workloadDescribe];
