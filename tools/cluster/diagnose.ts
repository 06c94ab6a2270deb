// What is likely wrong with a workload, from its pods, its own status conditions and its events:
// a pure analysis (no API calls), used by workload_describe.
import type { CoreV1Event, V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { formatBytes, formatCpu, parseQuantity } from '../shared/quantity.js';
import { clipMessage, plural } from '../shared/text.js';
import { countBy, formatCounts, staleReadiness, summarisePod } from './common.js';
import type { KubeObject } from './resources.js';

const clip = (text: string | undefined, max = 240): string => clipMessage(text, max);

function specContainer(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}

/** What a node's Ready condition says, for the nodes the pods run on (when they could be read). */
export interface NodeHealth {
  name: string;
  /** The Ready condition's status: True, False or Unknown. */
  ready: string;
  reason?: string;
  message?: string;
}

/**
 * What a pod asks the scheduler for: per resource, the larger of its containers' sum and its largest
 * init container (init containers run one at a time), plus its overhead, as the scheduler counts.
 */
export function podRequests(pod: V1Pod): Map<string, number> {
  const sum = new Map<string, number>();
  for (const c of pod.spec?.containers ?? []) {
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) {
      sum.set(r, (sum.get(r) ?? 0) + parseQuantity(q as string));
    }
  }
  for (const c of pod.spec?.initContainers ?? []) {
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) {
      sum.set(r, Math.max(sum.get(r) ?? 0, parseQuantity(q as string)));
    }
  }
  for (const [r, q] of Object.entries(pod.spec?.overhead ?? {})) {
    sum.set(r, (sum.get(r) ?? 0) + parseQuantity(q as string));
  }
  return sum;
}

/** `cpu 64, memory 2Gi, nvidia.com/gpu 4` in the order given. */
export function formatRequests(requests: Map<string, number>, names: string[]): string {
  return names
    .filter((r) => requests.has(r))
    .map((r) => {
      const v = requests.get(r)!;
      return `${r} ${r === 'cpu' ? formatCpu(v) : /memory|storage|hugepages/.test(r) ? formatBytes(v) : String(v)}`;
    })
    .join(', ');
}

/**
 * The requests behind "Insufficient X": the resources the scheduler found short, then cpu and
 * memory, so the number that cannot fit is beside the message that says it does not.
 */
function requestsNote(pod: V1Pod, message: string | undefined): string {
  const short = [...(message ?? '').matchAll(/Insufficient ([\w./-]*\w)/g)].map((m) => m[1]!);
  const names = [...new Set([...short, 'cpu', 'memory'])];
  const text = formatRequests(podRequests(pod), names);
  return text ? `; the pod requests ${text}` : '; the pod sets no resource requests';
}

/** The short list of likely causes, most telling first, from pod states, conditions and events. */
export function diagnose(
  pods: V1Pod[],
  workload: { kind: string; obj: KubeObject; status?: string } | undefined,
  events: CoreV1Event[],
  nodes: NodeHealth[] = [],
): string[] {
  const problems: string[] = [];
  const covered = new Set<string>();
  const statuses = (p: V1Pod) => [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ];

  // Containers waiting with a reason (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError…)
  const waiting = new Map<string, Array<{ pod: V1Pod; c: V1ContainerStatus }>>();
  for (const pod of pods) {
    for (const c of statuses(pod)) {
      const reason = c.state?.waiting?.reason;
      if (!reason || reason === 'ContainerCreating' || reason === 'PodInitializing') continue;
      waiting.set(reason, [...(waiting.get(reason) ?? []), { pod, c }]);
    }
  }
  for (const [reason, hits] of [...waiting.entries()].sort((a, b) => b[1].length - a[1].length)) {
    const podCount = new Set(hits.map((h) => h.pod.metadata?.name)).size;
    const containers = [...new Set(hits.map((h) => h.c.name))].join(', ');
    if (reason === 'CrashLoopBackOff') {
      const lasts = hits.map((h) => ({ ...h, t: h.c.lastState?.terminated })).filter((h) => h.t);
      const byReason = countBy(lasts, (h) => `${h.t!.reason ?? 'Error'} (exit code ${h.t!.exitCode})`);
      const top = Object.entries(byReason).sort((a, b) => b[1] - a[1])[0]?.[0];
      let detail = top ? `, last exit ${top}` : '';
      const oom = lasts.find((h) => h.t!.reason === 'OOMKilled');
      if (oom) {
        const limit = specContainer(oom.pod, oom.c.name)?.resources?.limits?.memory;
        detail += limit ? ` (memory limit ${limit})` : ' (no memory limit set)';
        covered.add('OOMKilled');
      }
      const msg = lasts.find((h) => h.t!.message)?.t?.message;
      problems.push(
        `${plural(podCount, 'pod')} CrashLoopBackOff (container ${containers})${detail}${msg ? `: ${clip(msg, 160)}` : ''}; read pods_logs with previous=true`,
      );
      covered.add('BackOff');
    } else if (/ImagePull|ErrImage|InvalidImageName|RegistryUnavailable/.test(reason)) {
      const msg = hits.find((h) => h.c.state?.waiting?.message)?.c.state?.waiting?.message;
      const image = hits[0]!.c.image;
      problems.push(
        `image pull failing for ${image} (${plural(podCount, 'pod')}, ${reason})${msg ? `: ${clip(msg, 200)}` : ''}`,
      );
      covered.add('Failed');
      covered.add('BackOff');
    } else {
      const msg = hits.find((h) => h.c.state?.waiting?.message)?.c.state?.waiting?.message;
      problems.push(
        `${plural(podCount, 'pod')} ${reason} (container ${containers})${msg ? `: ${clip(msg, 200)}` : ''}`,
      );
      if (reason === 'CreateContainerConfigError') covered.add('Failed');
    }
  }

  // OOM kills in containers that are running again (not in CrashLoopBackOff yet)
  if (!covered.has('OOMKilled')) {
    const oom = pods.flatMap((pod) =>
      statuses(pod)
        .filter(
          (c) =>
            c.lastState?.terminated?.reason === 'OOMKilled' || c.state?.terminated?.reason === 'OOMKilled',
        )
        .map((c) => ({ pod, c })),
    );
    if (oom.length > 0) {
      const limit = specContainer(oom[0]!.pod, oom[0]!.c.name)?.resources?.limits?.memory;
      problems.push(
        `${plural(oom.length, 'container')} OOMKilled (exit code 137${limit ? `, memory limit ${limit}` : ', no memory limit set'}), e.g. ${oom[0]!.pod.metadata?.name}/${oom[0]!.c.name}`,
      );
    }
  }

  // Pods that cannot be scheduled
  const unschedulable = pods.filter((p) =>
    p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'),
  );
  if (unschedulable.length > 0) {
    const withMsg =
      unschedulable.find((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message) ??
      unschedulable[0]!;
    const msg = withMsg.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message;
    problems.push(
      `${plural(unschedulable.length, 'pod')} Pending, not schedulable${msg ? `: ${clip(msg, 240)}` : ''}${requestsNote(withMsg, msg)}`,
    );
    covered.add('FailedScheduling');
  }

  // Pods on a node that stopped answering: their containers still say ready, the pod does not.
  const nodeHealth = new Map(nodes.map((n) => [n.name, n]));
  const onBadNode = pods.filter((p) => {
    if (p.status?.phase !== 'Running') return false;
    const node = nodeHealth.get(p.spec?.nodeName ?? '');
    return staleReadiness(p) !== undefined || (node !== undefined && node.ready !== 'True');
  });
  const byNode = new Map<string, V1Pod[]>();
  for (const p of onBadNode) {
    const n = p.spec?.nodeName ?? '<none>';
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  for (const [name, list] of byNode) {
    const node = nodeHealth.get(name);
    const reason = staleReadiness(list[0]!) ?? 'NodeNotReady';
    const nodeState =
      node && node.ready !== 'True'
        ? `node ${name} is NotReady (Ready=${node.ready}${node.reason ? `, ${node.reason}` : ''}${node.message ? `: ${clip(node.message, 160)}` : ''})`
        : `node ${name} is likely NotReady`;
    problems.push(
      `${plural(list.length, 'pod')} not ready because ${nodeState}: pod Ready condition False (${reason}) though the containers last reported ready, so Services send them no traffic; check nodes_get ${name}`,
    );
    covered.add('NodeNotReady');
  }

  // Terminated with an error (Job pods, evictions)
  const failed = pods.filter((p) => p.status?.phase === 'Failed');
  if (failed.length > 0) {
    const reasons = countBy(failed, (p) => {
      if (p.status?.reason)
        return `${p.status.reason}${p.status.message ? `: ${clip(p.status.message, 120)}` : ''}`;
      const t = statuses(p).find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0)?.state
        ?.terminated;
      return t ? `${t.reason ?? 'Error'} (exit code ${t.exitCode})` : 'Failed';
    });
    problems.push(`${plural(failed.length, 'pod')} failed: ${formatCounts(reasons)}`);
  }

  // Running but not ready
  const notReady = pods.filter((p) => {
    const s = summarisePod(p);
    return s.status === 'Running' && !s.healthy && !onBadNode.includes(p);
  });
  if (notReady.length > 0) {
    const probe = events.find((e) => e.reason === 'Unhealthy');
    problems.push(
      `${plural(notReady.length, 'pod')} running but not ready${probe ? `: ${clip(probe.message, 200)}` : ' (readiness probe failing?)'}`,
    );
    covered.add('Unhealthy');
  }

  // The workload's own view
  if (workload) {
    const spec = (workload.obj.spec ?? {}) as Record<string, unknown>;
    const conds = (
      Array.isArray(workload.obj.status?.conditions) ? workload.obj.status.conditions : []
    ) as Array<{
      type?: string;
      status?: string;
      reason?: string;
      message?: string;
    }>;
    for (const c of conds) {
      if (c.type === 'Progressing' && c.status === 'False') {
        problems.push(`rollout stalled: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 200)})` : ''}`);
      }
      if (c.type === 'ReplicaFailure' && c.status === 'True') {
        problems.push(
          `cannot create pods: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 240)})` : ''}`,
        );
        covered.add('FailedCreate');
      }
      if (c.type === 'Failed' && c.status === 'True') {
        problems.push(`job failed: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 200)})` : ''}`);
      }
    }
    if (spec.paused) problems.push('rollout is paused (spec.paused=true)');
    if (spec.suspend) problems.push(`${workload.kind} is suspended (spec.suspend=true)`);
    if (typeof spec.replicas === 'number' && spec.replicas === 0) problems.push('scaled to 0 replicas');
  }

  // The workload says it is short of ready replicas and nothing above says why: say so, never "no problems".
  if (problems.length === 0 && workload) {
    const spec = (workload.obj.spec ?? {}) as Record<string, unknown>;
    const st = (workload.obj.status ?? {}) as Record<string, unknown>;
    const desired =
      typeof spec.replicas === 'number'
        ? spec.replicas
        : typeof st.desiredNumberScheduled === 'number'
          ? st.desiredNumberScheduled
          : undefined;
    const ready = typeof st.readyReplicas === 'number' ? st.readyReplicas : ((st.numberReady as number) ?? 0);
    if (desired !== undefined && ready < desired) {
      problems.push(
        `${workload.kind} has ${ready}/${desired} replicas ready, but its pods and events name no cause; check pods_list with unhealthy=true, the pods' nodes (nodes_list) and events_list`,
      );
    }
  }

  // Warnings the pod states do not already explain
  const warnings = events.filter((e) => e.type === 'Warning' && !covered.has(e.reason ?? ''));
  const seen = new Set<string>();
  for (const e of warnings) {
    const key = `${e.reason}`;
    if (seen.has(key) || seen.size >= 3) continue;
    seen.add(key);
    const count = e.count ?? e.series?.count ?? 1;
    problems.push(
      `warning ${e.reason}${count > 1 ? ` ×${count}` : ''} on ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${clip(e.message, 200)}`,
    );
  }
  return problems;
}

/** The latest termination of a restarted container of one pod, with what it tells. */
export interface RestartNote {
  container: string;
  reason: string;
  exitCode: number;
  /** The container's memory limit, for OOMKilled. */
  memoryLimit?: string;
  /** `Deployment/api` from a ReplicaSet owner named `api-<pod-template-hash>`, else the owner itself. */
  workload?: string;
  message?: string;
}

/** Why a pod's containers restarted last, from its container statuses; undefined when none did. */
export function lastRestartNote(pod: V1Pod): RestartNote | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const restarted = all
    .filter((c) => c.restartCount > 0 && c.lastState?.terminated)
    .sort(
      (a, b) =>
        new Date(b.lastState!.terminated!.finishedAt ?? 0).getTime() -
        new Date(a.lastState!.terminated!.finishedAt ?? 0).getTime(),
    )[0];
  if (!restarted) return undefined;
  const t = restarted.lastState!.terminated!;
  const limit = specContainer(pod, restarted.name)?.resources?.limits?.memory;
  const owner =
    pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const workload =
    owner?.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)
      ? `Deployment/${owner.name.slice(0, -hash.length - 1)}`
      : owner
        ? `${owner.kind}/${owner.name}`
        : undefined;
  return {
    container: restarted.name,
    reason: t.reason ?? 'Error',
    exitCode: t.exitCode,
    ...(t.reason === 'OOMKilled' || t.exitCode === 137 ? { memoryLimit: limit ?? 'none set' } : {}),
    ...(workload ? { workload } : {}),
    ...(t.message ? { message: clip(t.message, 160) } : {}),
  };
}

/** `api OOMKilled (exit code 137, memory limit 256Mi)` */
export function formatRestartNote(n: RestartNote): string {
  const extra = [`exit code ${n.exitCode}`, ...(n.memoryLimit ? [`memory limit ${n.memoryLimit}`] : [])];
  return `${n.container} ${n.reason} (${extra.join(', ')})${n.message ? `: ${n.message}` : ''}`;
}
