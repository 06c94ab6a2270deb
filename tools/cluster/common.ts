import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import type { KubeCluster } from '../clients/kube.js';
import { suggestion, ToolError } from '../core/errors.js';
import { namespaceName, objectName } from '../shared/k8s-names.js';

export const TOOLSET = 'cluster';

export const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe('Cluster (kubeconfig context) to query; omit for the default cluster');

/** Names are validated by the shared schemas in tools/shared, the same in every toolset. */
export const namespaceArg = namespaceName;

export const nameArg = objectName;

export const selectorArg = z.string().max(1024);

/** Human age in kubectl's style: 45s, 12m, 5h, 3d, 2y. */
export function age(from: Date | string | undefined, now = Date.now()): string {
  if (!from) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - new Date(from).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

export interface PodSummary {
  namespace: string;
  name: string;
  ready: string;
  status: string;
  restarts: number;
  age: string;
  node: string;
  healthy: boolean;
  /**
   * Why the pod is not ready although its containers last reported ready: the pod's Ready
   * condition (NodeNotReady when the node controller marked it), or NodeNotReady when its node is.
   */
  notReadyReason?: string;
  /** Seconds since a container last terminated and was restarted, when it has been. */
  lastRestartSeconds?: number;
}

/** The STATUS column as kubectl computes it: the most telling container reason wins over the phase. */
export function podStatus(pod: V1Pod): string {
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  const inits = pod.status?.initContainerStatuses ?? [];
  const initTotal = pod.spec?.initContainers?.length ?? 0;
  let initializing = false;
  for (const [i, c] of inits.entries()) {
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) continue;
    initializing = true;
    if (t)
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
    } else reason = `Init:${i}/${initTotal}`;
    break;
  }
  if (!initializing) {
    let running = false;
    const containers = [...(pod.status?.containerStatuses ?? [])].reverse();
    for (const c of containers) {
      const w = c.state?.waiting;
      const t = c.state?.terminated;
      if (w?.reason) reason = w.reason;
      else if (t?.reason) reason = t.reason;
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      else if (c.ready && c.state?.running) running = true;
    }
    if (reason === 'Completed' && running) reason = 'Running';
  }
  if (pod.metadata?.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

/**
 * The reason a running pod is not ready when every container still says it is: the kubelet's
 * reports are stale (its node stopped answering) and the pod's own Ready condition, set by the node
 * controller, is the truth. kubectl shows such pods `1/1 Running`.
 */
export function staleReadiness(pod: V1Pod): string | undefined {
  const cond = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (!cond || cond.status === 'True' || pod.status?.phase !== 'Running') return undefined;
  const statuses = pod.status?.containerStatuses ?? [];
  if (statuses.length === 0 || !statuses.every((c) => c.ready)) return undefined;
  return cond.reason || 'NotReady';
}

/** Seconds since the latest container termination that was followed by a restart. */
export function lastRestartSeconds(pod: V1Pod, now = Date.now()): number | undefined {
  let latest: number | undefined;
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const at = c.lastState?.terminated?.finishedAt;
    if (!at || !c.restartCount) continue;
    const t = new Date(at).getTime();
    if (Number.isFinite(t) && (latest === undefined || t > latest)) latest = t;
  }
  return latest === undefined ? undefined : Math.max(0, Math.floor((now - latest) / 1000));
}

export function summarisePod(pod: V1Pod, now = Date.now()): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers?.length ?? statuses.length;
  const stale = staleReadiness(pod);
  const ready = stale ? 0 : statuses.filter((c) => c.ready).length;
  const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const status = podStatus(pod);
  const healthy =
    (status === 'Running' && ready === total) || status === 'Completed' || status === 'Succeeded';
  const restartedAgo = lastRestartSeconds(pod, now);
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ready: `${ready}/${total}`,
    status,
    restarts,
    age: age(pod.metadata?.creationTimestamp, now),
    node: pod.spec?.nodeName ?? '<none>',
    healthy,
    ...(stale ? { notReadyReason: stale } : {}),
    ...(restartedAgo !== undefined ? { lastRestartSeconds: restartedAgo } : {}),
  };
}

/**
 * Seconds in the API server's short durations: "45s", "12m", "9m30s", "2h15m", "3d4h", "2y" (the
 * table printer's HumanDuration keeps a second unit below ten minutes, three hours, eight days…).
 */
export function parseAge(text: string): number | undefined {
  const t = text.trim();
  if (!/^(?:\d+[smhdy])+$/.test(t)) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, y: 31_536_000 };
  let total = 0;
  for (const m of t.matchAll(/(\d+)([smhdy])/g)) total += Number(m[1]) * unit[m[2] as keyof typeof unit];
  return total;
}

/** "412 Running, 3 CrashLoopBackOff" with the largest group first. */
export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

/**
 * Fails with a "did you mean" hint when a namespace does not exist; called only when a result is
 * empty. A caller who may not read namespaces (the cluster's RBAC) just gets the empty result.
 */
export async function assertNamespaceExists(cluster: KubeCluster, namespace: string): Promise<void> {
  try {
    await cluster.core.readNamespace({ name: namespace });
    return;
  } catch (e) {
    if (!(e instanceof ApiException) || e.code !== 404) return;
  }
  const names = await cluster.core
    .listNamespace()
    .then((l) => l.items.map((n) => n.metadata?.name ?? ''))
    .catch(() => [] as string[]);
  throw new ToolError(
    'not_found',
    `namespace '${namespace}' not found in cluster '${cluster.name}'${suggestion(namespace, names)}`,
  );
}

export const PAGE_SIZE = 500;

export const readAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A LabelSelector object as the query-string form the API accepts. */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
