import { z } from 'zod';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  age,
  assertNamespaceExists,
  clusterArg,
  countBy,
  formatCounts,
  namespaceArg,
  readAnnotations,
  selectorArg,
  TOOLSET,
} from './common.js';
import type { KubeObject } from './resources.js';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const WORKLOAD_PATHS: Record<WorkloadKind, { group: string; resource: string }> = {
  Deployment: { group: 'apps/v1', resource: 'deployments' },
  StatefulSet: { group: 'apps/v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps/v1', resource: 'daemonsets' },
  Job: { group: 'batch/v1', resource: 'jobs' },
  CronJob: { group: 'batch/v1', resource: 'cronjobs' },
};

export function workloadPath(kind: WorkloadKind, namespace?: string, name?: string): string {
  const { group, resource } = WORKLOAD_PATHS[kind];
  const ns = namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${group}${ns}/${resource}${name ? `/${name}` : ''}`;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface WorkloadSummary {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** ready/desired; for Jobs succeeded/completions; for CronJobs active jobs. */
  ready: string;
  desired: number;
  upToDate: number;
  available: number;
  /** Complete, Progressing, Degraded, Paused, Stalled (reason), Failed (reason), Running, Suspended… */
  status: string;
  healthy: boolean;
  age: string;
  images: string[];
}

type Num = number | undefined;
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

function conditionsOf(obj: KubeObject): Condition[] {
  const c = obj.status?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

function podTemplate(obj: KubeObject, kind: WorkloadKind) {
  const spec = obj.spec as Record<string, unknown> | undefined;
  const template =
    kind === 'CronJob'
      ? (spec?.jobTemplate as { spec?: { template?: unknown } } | undefined)?.spec?.template
      : spec?.template;
  return (
    template as {
      spec?: { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> };
    }
  )?.spec;
}

function imagesOf(obj: KubeObject, kind: WorkloadKind): string[] {
  const spec = podTemplate(obj, kind);
  return [...new Set((spec?.containers ?? []).map((c) => c.image ?? '').filter(Boolean))];
}

/** Rollout status as `kubectl rollout status` judges it, plus the reasons it cannot see. */
export function workloadStatus(kind: WorkloadKind, obj: KubeObject, now = Date.now()): WorkloadSummary {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const st = (obj.status ?? {}) as Record<string, unknown>;
  const conds = conditionsOf(obj);
  const cond = (t: string) => conds.find((c) => c.type === t);
  const stale = n(st.observedGeneration) < n(obj.metadata?.generation as Num);
  let desired = 0;
  let ready = 0;
  let upToDate = 0;
  let available = 0;
  let status = 'Complete';
  let readyText: string | undefined;

  switch (kind) {
    case 'Deployment': {
      desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
      ready = n(st.readyReplicas);
      upToDate = n(st.updatedReplicas);
      available = n(st.availableReplicas);
      const progressing = cond('Progressing');
      const failure = cond('ReplicaFailure');
      if (spec.paused) status = 'Paused';
      else if (progressing?.status === 'False') status = `Stalled (${progressing.reason ?? 'unknown'})`;
      else if (failure?.status === 'True') status = `Stalled (${failure.reason ?? 'ReplicaFailure'})`;
      else if (stale || upToDate < desired || n(st.replicas) > upToDate) status = 'Progressing';
      else if (available < desired) status = 'Degraded';
      break;
    }
    case 'StatefulSet': {
      desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
      ready = n(st.readyReplicas);
      upToDate = n(st.updatedReplicas);
      available = typeof st.availableReplicas === 'number' ? st.availableReplicas : ready;
      const rolling = st.updateRevision && st.currentRevision && st.updateRevision !== st.currentRevision;
      if (stale || rolling || upToDate < desired) status = 'Progressing';
      else if (ready < desired) status = 'Degraded';
      break;
    }
    case 'DaemonSet': {
      desired = n(st.desiredNumberScheduled);
      ready = n(st.numberReady);
      upToDate = n(st.updatedNumberScheduled);
      available = n(st.numberAvailable);
      if (stale || upToDate < desired) status = 'Progressing';
      else if (available < desired) status = 'Degraded';
      if (n(st.numberMisscheduled) > 0) status += ` (${st.numberMisscheduled} misscheduled)`;
      break;
    }
    case 'Job': {
      desired = typeof spec.completions === 'number' ? spec.completions : 1;
      ready = n(st.succeeded);
      upToDate = ready;
      available = n(st.active);
      const failed = cond('Failed');
      if (failed?.status === 'True') status = `Failed (${failed.reason ?? 'unknown'})`;
      else if (cond('Complete')?.status === 'True') status = 'Complete';
      else if (spec.suspend) status = 'Suspended';
      else status = n(st.failed) > 0 ? `Running (${st.failed} failed pods)` : 'Running';
      readyText = `${ready}/${desired}`;
      break;
    }
    case 'CronJob': {
      const active = Array.isArray(st.active) ? st.active.length : 0;
      desired = active;
      available = active;
      const lastSchedule = st.lastScheduleTime ? Date.parse(String(st.lastScheduleTime)) : 0;
      const lastSuccess = st.lastSuccessfulTime ? Date.parse(String(st.lastSuccessfulTime)) : 0;
      if (spec.suspend) status = 'Suspended';
      else if (active > 0) status = 'Active';
      else if (lastSchedule > lastSuccess) status = 'LastRunFailed';
      else status = lastSchedule ? `Scheduled (last ${age(new Date(lastSchedule), now)} ago)` : 'Scheduled';
      readyText = `${active} active`;
      break;
    }
  }
  const healthy =
    status === 'Complete' ||
    status === 'Running' ||
    status === 'Active' ||
    status === 'Suspended' ||
    status.startsWith('Scheduled');
  return {
    kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    ready: readyText ?? `${ready}/${desired}`,
    desired,
    upToDate,
    available,
    status,
    healthy,
    age: age(obj.metadata?.creationTimestamp, now),
    images: imagesOf(obj, kind),
  };
}

export async function listWorkloads(
  cluster: KubeCluster,
  kinds: readonly WorkloadKind[],
  namespace: string | undefined,
  labelSelector?: string,
): Promise<WorkloadSummary[]> {
  const now = Date.now();
  const where = namespace ? `namespace '${namespace}'` : 'all namespaces';
  const lists = await Promise.all(
    kinds.map(async (kind) => {
      const out: WorkloadSummary[] = [];
      await kubeCall(cluster, `list ${WORKLOAD_PATHS[kind].resource} in ${where}`, () =>
        cluster.raw.pages<KubeObject>(workloadPath(kind, namespace), { labelSelector }, (items) => {
          for (const obj of items) out.push(workloadStatus(kind, obj, now));
        }),
      );
      return out;
    }),
  );
  return lists.flat();
}

const workloadItem = z.object({
  kind: z.string(),
  namespace: z.string(),
  name: z.string(),
  ready: z.string(),
  upToDate: z.number(),
  available: z.number(),
  status: z.string(),
  age: z.string(),
  images: z.array(z.string()),
});

const workloadsList = defineTool({
  name: 'workloads_list',
  title: 'Workloads: List',
  description:
    'List Deployments, StatefulSets, DaemonSets, Jobs and CronJobs in one namespace or all, with ready/desired, up-to-date, available, rollout status (Complete, Progressing, Degraded, Paused, Stalled with the reason, Failed), age and images; unhealthy first, exact totals by kind and status. Call this to see which applications are not fully available or stuck mid-rollout; then workload_describe one of them.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.optional().describe('Namespace; omit for all namespaces'),
    kind: z.enum(WORKLOAD_KINDS).optional().describe('Only this kind of workload'),
    labelSelector: selectorArg.optional().describe('Kubernetes label selector, e.g. "app=api"'),
    unhealthy: z
      .boolean()
      .optional()
      .describe('Only workloads that are not fully available or whose rollout is not complete'),
  }),
  output: listOutput({
    cluster: z.string(),
    namespace: z.string(),
    total: z.number(),
    unhealthy: z.number(),
    byKind: z.record(z.string(), z.number()),
    byStatus: z.record(z.string(), z.number()),
    items: z.array(workloadItem),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const kinds = args.kind ? [args.kind] : WORKLOAD_KINDS;
    let rows = await listWorkloads(cluster, kinds, args.namespace, args.labelSelector);
    if (rows.length === 0 && args.namespace) await assertNamespaceExists(cluster, args.namespace);
    const all = rows.length;
    if (args.unhealthy) rows = rows.filter((r) => !r.healthy);
    rows.sort(
      (a, b) =>
        Number(a.healthy) - Number(b.healthy) ||
        a.namespace.localeCompare(b.namespace) ||
        a.kind.localeCompare(b.kind) ||
        a.name.localeCompare(b.name),
    );
    const byKind = countBy(rows, (r) => r.kind);
    // Group "Stalled (ProgressDeadlineExceeded)" with its reason, but not per-object counts.
    const byStatus = countBy(rows, (r) => r.status.replace(/^Scheduled \(last .*\)$/, 'Scheduled'));
    const unhealthy = rows.filter((r) => !r.healthy).length;
    const where = args.namespace ? `namespace '${args.namespace}'` : 'all namespaces';
    const noun = args.kind ? `${args.kind}s` : 'workloads';
    const header =
      rows.length === 0
        ? `No ${args.unhealthy ? 'unhealthy ' : ''}${noun} in ${where} of cluster '${cluster.name}'${args.unhealthy ? ` (${all} in all, every one healthy)` : ''}.`
        : `${rows.length} ${args.unhealthy ? 'unhealthy ' : ''}${noun} in ${where} of cluster '${cluster.name}' (${formatCounts(byKind)}): ${formatCounts(byStatus)}. Not fully available or rolling out: ${unhealthy}.${args.unhealthy ? ` (${all - rows.length} healthy not listed.)` : ''}`;
    const allNs = !args.namespace;
    return {
      kind: 'list',
      header,
      columns: [
        ...(allNs ? ['NAMESPACE'] : []),
        'KIND',
        'NAME',
        'READY',
        'UP-TO-DATE',
        'AVAILABLE',
        'STATUS',
        'AGE',
        'IMAGES',
      ],
      items: rows,
      row: (r: WorkloadSummary) => [
        ...(allNs ? [r.namespace] : []),
        r.kind,
        r.name,
        r.ready,
        String(r.upToDate),
        String(r.available),
        r.status,
        r.age,
        r.images.join(','),
      ],
      toStructured: ({ healthy: _h, desired: _d, ...rest }: WorkloadSummary) => rest,
      narrow: allNs
        ? 'give a namespace, a kind, a labelSelector, or unhealthy=true'
        : 'give a kind, a labelSelector, or unhealthy=true',
      totals: {
        cluster: cluster.name,
        namespace: args.namespace ?? '*',
        total: rows.length,
        unhealthy,
        byKind,
        byStatus,
      },
    };
  },
});

export const workloadTools: ToolDef[] = [workloadsList];
