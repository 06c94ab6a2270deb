import {
  ApiException,
  type V1DaemonSet,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall, kubeError } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolDef } from '../core/types.js';
import {
  assertNamespaceExists,
  clusterArg,
  nameArg,
  namespaceArg,
  selectorString,
  TOOLSET,
} from './common.js';
import { capLines, diffObjects, type FieldChange, formatChange } from './object-diff.js';

type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

const PLURAL: Record<WorkloadKind, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

const REVISION = 'deployment.kubernetes.io/revision';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

function workloadPath(kind: WorkloadKind, namespace: string, name: string): string {
  return `/apis/apps/v1/namespaces/${namespace}/${PLURAL[kind]}/${name}`;
}

async function readWorkload<T extends Workload>(
  cluster: KubeCluster,
  kind: WorkloadKind,
  namespace: string,
  name: string,
): Promise<T> {
  return kubeCall(cluster, `get ${kind.toLowerCase()} ${namespace}/${name}`, () =>
    cluster.raw.get<T>(workloadPath(kind, namespace, name)),
  ).catch(async (e) => {
    if (e.code === 'not_found') await assertNamespaceExists(cluster, namespace);
    throw e;
  });
}

const writes = (destructive: boolean, idempotent: boolean) =>
  ({
    readOnlyHint: false,
    destructiveHint: destructive,
    idempotentHint: idempotent,
    openWorldHint: true,
  }) as const;

const permission = { toolset: TOOLSET, verb: 'write', namespaced: true } as const;

/**
 * Runs a JSON patch whose first op tests the state the change was planned from. A failed test
 * (HTTP 422) means someone changed the object meanwhile: nothing was written.
 */
async function patchIfUnchanged<T>(
  cluster: KubeCluster,
  action: string,
  changed: string,
  patch: () => Promise<T>,
): Promise<T> {
  try {
    return await patch();
  } catch (e) {
    // The API server reports a failed test op only as this generic 422.
    if (e instanceof ApiException && e.code === 422 && String(e.body).includes('error in our request')) {
      throw new ToolError(
        'backend_error',
        `cannot ${action} in cluster '${cluster.name}': ${changed} while this call ran; nothing was changed, look again and retry`,
      );
    }
    throw kubeError(cluster, action, e);
  }
}

// ── scale ────────────────────────────────────────────────────────────────────────────────────────

/** HPAs that target the workload: they will undo a manual scale. */
async function autoscalersOf(cluster: KubeCluster, kind: WorkloadKind, namespace: string, name: string) {
  const list = await cluster.raw
    .get<{
      items: Array<{
        metadata: { name: string };
        spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
      }>;
    }>(`/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`)
    .catch(() => ({ items: [] }));
  return list.items.filter((h) => h.spec.scaleTargetRef.kind === kind && h.spec.scaleTargetRef.name === name);
}

function scaleTool(kind: 'Deployment' | 'StatefulSet') {
  const noun = kind === 'Deployment' ? 'deployment' : 'statefulset';
  const title = kind === 'Deployment' ? 'Deployments: Scale' : 'StatefulSets: Scale';
  return defineTool({
    name: `${noun}_scale`,
    title,
    description:
      `Set the number of replicas of one ${kind}. Call this to add capacity under load, to scale down, or to stop a workload (replicas 0). ` +
      'The approval ticket shows the current and the new count and warns when a HorizontalPodAutoscaler manages the workload.',
    input: z.object({
      cluster: clusterArg,
      namespace: namespaceArg.describe(`Namespace of the ${kind}`),
      name: nameArg.describe(`${kind} name`),
      replicas: z.number().int().min(0).max(1000).describe('Desired number of replicas'),
    }),
    output: z.object({
      cluster: z.string(),
      kind: z.string(),
      namespace: z.string(),
      name: z.string(),
      from: z.number(),
      to: z.number(),
      changed: z.boolean(),
    }),
    annotations: writes(false, true),
    permission,
    async preview(args, ctx) {
      const cluster = ctx.backends.kube.get(args.cluster);
      const [w, hpas] = await Promise.all([
        readWorkload<V1Deployment | V1StatefulSet>(cluster, kind, args.namespace, args.name),
        autoscalersOf(cluster, kind, args.namespace, args.name),
      ]);
      const from = w.spec?.replicas ?? 1;
      const ref = `${kind} ${args.namespace}/${args.name}`;
      const lines = [
        from === args.replicas
          ? `${ref} already has ${from} replicas; nothing changes.`
          : `scale ${ref} in cluster '${cluster.name}' from ${from} to ${args.replicas} replicas (${w.status?.readyReplicas ?? 0} ready now).`,
      ];
      for (const h of hpas) {
        lines.push(
          `note: HorizontalPodAutoscaler ${h.metadata.name} keeps it between ${h.spec.minReplicas ?? 1} and ${h.spec.maxReplicas} replicas and may undo this.`,
        );
      }
      return lines.join('\n');
    },
    async handler(args, ctx) {
      const cluster = ctx.backends.kube.get(args.cluster);
      const ref = `${args.namespace}/${args.name}`;
      const w = await readWorkload<V1Deployment | V1StatefulSet>(cluster, kind, args.namespace, args.name);
      const from = w.spec?.replicas ?? 1;
      if (from !== args.replicas) {
        // The test op makes this a compare-and-swap on the count alone: "from" is exactly what was replaced.
        await patchIfUnchanged(cluster, `scale ${noun} ${ref}`, `its replicas changed from ${from}`, () =>
          cluster.raw.request('PATCH', workloadPath(kind, args.namespace, args.name), {
            contentType: 'application/json-patch+json',
            body: [
              { op: 'test', path: '/spec/replicas', value: from },
              { op: 'replace', path: '/spec/replicas', value: args.replicas },
            ],
            signal: ctx.signal,
          }),
        );
      }
      const structured = {
        cluster: cluster.name,
        kind,
        namespace: args.namespace,
        name: args.name,
        from,
        to: args.replicas,
        changed: from !== args.replicas,
      };
      return {
        kind: 'doc',
        text: structured.changed
          ? `Scaled ${kind} ${ref} in cluster '${cluster.name}' from ${from} to ${args.replicas} replicas.`
          : `${kind} ${ref} in cluster '${cluster.name}' already had ${from} replicas; nothing changed.`,
        structured,
      };
    },
  });
}

// ── rollout restart ──────────────────────────────────────────────────────────────────────────────

function restartPlan(kind: WorkloadKind, w: Workload): string {
  if (kind === 'Deployment') {
    const d = w as V1Deployment;
    if (d.spec?.strategy?.type === 'Recreate')
      return `all ${d.spec?.replicas ?? 1} pods are stopped, then recreated (strategy Recreate)`;
    const ru = d.spec?.strategy?.rollingUpdate;
    return `its ${d.spec?.replicas ?? 1} pods are replaced by a rolling update (maxUnavailable ${ru?.maxUnavailable ?? '25%'}, maxSurge ${ru?.maxSurge ?? '25%'})`;
  }
  const strategy =
    kind === 'StatefulSet'
      ? (w as V1StatefulSet).spec?.updateStrategy?.type
      : (w as V1DaemonSet).spec?.updateStrategy?.type;
  if (strategy === 'OnDelete')
    return 'note: its updateStrategy is OnDelete, so running pods are NOT replaced until each is deleted';
  if (kind === 'StatefulSet') {
    const s = w as V1StatefulSet;
    return `its ${s.spec?.replicas ?? 1} pods are replaced one at a time, highest ordinal first`;
  }
  const ds = w as V1DaemonSet;
  return `its ${ds.status?.desiredNumberScheduled ?? 0} pods (one per node) are replaced, at most ${ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1} unavailable at a time`;
}

function assertNotPaused(kind: WorkloadKind, w: Workload, ref: string) {
  if (kind === 'Deployment' && (w as V1Deployment).spec?.paused) {
    throw new ToolError(
      'backend_error',
      `cannot restart Deployment ${ref}: it is paused; resume the rollout first (nothing was changed)`,
    );
  }
}

const rolloutRestart = defineTool({
  name: 'workload_rollout_restart',
  title: 'Workloads: Rollout Restart',
  description:
    "Restart every pod of a Deployment, StatefulSet or DaemonSet by a rolling update, as `kubectl rollout restart` does. Call this to pick up changed ConfigMaps or Secrets, or to recover pods that are stuck without deleting them one by one; the workload's own update strategy keeps it available.",
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the workload'),
    kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).describe('Kind of the workload'),
    name: nameArg.describe('Workload name'),
  }),
  output: z.object({
    cluster: z.string(),
    kind: z.string(),
    namespace: z.string(),
    name: z.string(),
    restartedAt: z.string().describe(`the new ${RESTARTED_AT} pod-template annotation`),
    previousRestartedAt: z.string().optional(),
    generation: z.number().optional(),
  }),
  annotations: writes(false, false),
  permission,
  async preview(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.name}`;
    const w = await readWorkload<Workload>(cluster, args.kind, args.namespace, args.name);
    assertNotPaused(args.kind, w, ref);
    return `restart ${args.kind} ${ref} in cluster '${cluster.name}': ${restartPlan(args.kind, w)}.`;
  },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.name}`;
    const w = await readWorkload<Workload>(cluster, args.kind, args.namespace, args.name);
    assertNotPaused(args.kind, w, ref);
    const previous = w.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
    const restartedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const updated = await kubeCall(cluster, `restart ${args.kind.toLowerCase()} ${ref}`, () =>
      cluster.raw.request<Workload>('PATCH', workloadPath(args.kind, args.namespace, args.name), {
        contentType: 'application/merge-patch+json',
        body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } } } },
        signal: ctx.signal,
      }),
    );
    const structured = {
      cluster: cluster.name,
      kind: args.kind,
      namespace: args.namespace,
      name: args.name,
      restartedAt,
      ...(previous ? { previousRestartedAt: previous } : {}),
      ...(updated.metadata?.generation !== undefined ? { generation: updated.metadata.generation } : {}),
    };
    return {
      kind: 'doc',
      text: `Restarted ${args.kind} ${ref} in cluster '${cluster.name}': pod template annotation ${RESTARTED_AT} set to ${restartedAt}; ${restartPlan(args.kind, updated)}.`,
      structured,
    };
  },
});

// ── rollout undo ─────────────────────────────────────────────────────────────────────────────────

/** The pod template a ReplicaSet was made from, as the Deployment held it (no pod-template-hash). */
function templateOf(rs: V1ReplicaSet): V1PodTemplateSpec {
  const t = structuredClone(rs.spec?.template ?? {}) as V1PodTemplateSpec;
  if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
  return t;
}

const revisionOf = (o: { metadata?: { annotations?: Record<string, string> } }) =>
  Number(o.metadata?.annotations?.[REVISION] ?? Number.NaN);

interface UndoPlan {
  deployment: V1Deployment;
  current: number;
  target: number;
  template: V1PodTemplateSpec;
  changes: FieldChange[];
}

/** What `kubectl rollout undo` would do: the ReplicaSet of the wanted revision and its template. */
async function planUndo(
  cluster: KubeCluster,
  namespace: string,
  name: string,
  revision: number | undefined,
): Promise<UndoPlan> {
  const ref = `${namespace}/${name}`;
  const d = await readWorkload<V1Deployment>(cluster, 'Deployment', namespace, name);
  if (d.spec?.paused) {
    throw new ToolError(
      'backend_error',
      `cannot roll back Deployment ${ref}: it is paused; resume the rollout first (nothing was changed)`,
    );
  }
  const sets = await kubeCall(cluster, `list replicasets of deployment ${ref}`, () =>
    cluster.raw.list<V1ReplicaSet>(`/apis/apps/v1/namespaces/${namespace}/replicasets`, {
      labelSelector: selectorString(d.spec?.selector),
    }),
  );
  const byRevision = new Map<number, V1ReplicaSet>();
  for (const rs of sets) {
    const owned = rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === d.metadata?.uid);
    const rev = revisionOf(rs);
    if (owned && Number.isInteger(rev)) byRevision.set(rev, rs);
  }
  const revisions = [...byRevision.keys()].sort((a, b) => a - b);
  const current = Number.isInteger(revisionOf(d)) ? revisionOf(d) : (revisions.at(-1) ?? 0);
  const available = `available revisions: ${revisions.join(', ') || 'none'} (current ${current})`;
  let target: number;
  if (revision !== undefined) {
    if (!byRevision.has(revision)) {
      throw new ToolError(
        'invalid_arguments',
        `Deployment ${ref} has no revision ${revision}; ${available}. Nothing was changed.`,
      );
    }
    target = revision;
  } else {
    const previous = revisions.filter((r) => r < current).at(-1);
    if (previous === undefined) {
      throw new ToolError(
        'invalid_arguments',
        `Deployment ${ref} has no previous revision to roll back to; ${available}. Nothing was changed.`,
      );
    }
    target = previous;
  }
  const template = templateOf(byRevision.get(target)!);
  const changes = diffObjects(d.spec?.template ?? {}, template);
  return { deployment: d, current, target, template, changes };
}

function describeUndo(ref: string, p: UndoPlan): string[] {
  if (p.changes.length === 0)
    return [
      `Deployment ${ref}'s pod template already matches revision ${p.target}; nothing changes (current revision ${p.current}).`,
    ];
  return [
    `roll back Deployment ${ref} from revision ${p.current} to revision ${p.target}; pod template changes:`,
    ...capLines(
      p.changes.map((c) => formatChange({ ...c, path: c.path.replace(/^spec\.containers/, 'containers') })),
      20,
    ),
  ];
}

const rolloutUndo = defineTool({
  name: 'workload_rollout_undo',
  title: 'Workloads: Rollout Undo',
  description:
    'Roll a Deployment back to its previous revision, or to a given revision, as `kubectl rollout undo` does: the pod template of that revision replaces the current one and a rolling update follows. Call this when a new release is failing and the last good one should come back. An unknown revision fails with the list of available ones.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.describe('Namespace of the Deployment'),
    name: nameArg.describe('Deployment name'),
    revision: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Revision to return to (see deployment.kubernetes.io/revision); omit for the previous one'),
  }),
  output: z.object({
    cluster: z.string(),
    namespace: z.string(),
    name: z.string(),
    fromRevision: z.number(),
    toRevision: z.number(),
    changed: z.boolean(),
    changes: z.array(
      z.object({
        op: z.string(),
        path: z.string(),
        before: z.string().optional(),
        after: z.string().optional(),
      }),
    ),
  }),
  annotations: writes(true, false),
  permission,
  async preview(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const plan = await planUndo(cluster, args.namespace, args.name, args.revision);
    return describeUndo(`${args.namespace}/${args.name}`, plan).join('\n');
  },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const ref = `${args.namespace}/${args.name}`;
    const plan = await planUndo(cluster, args.namespace, args.name, args.revision);
    if (plan.changes.length > 0) {
      await patchIfUnchanged(cluster, `roll back deployment ${ref}`, 'its pod template changed', () =>
        cluster.raw.request('PATCH', workloadPath('Deployment', args.namespace, args.name), {
          contentType: 'application/json-patch+json',
          body: [
            { op: 'test', path: '/spec/template', value: plan.deployment.spec?.template },
            { op: 'replace', path: '/spec/template', value: plan.template },
          ],
          signal: ctx.signal,
        }),
      );
    }
    const text = describeUndo(ref, plan);
    if (plan.changes.length > 0) text[0] = `Rolled back ${text[0]!.slice('roll back '.length)}`;
    return {
      kind: 'doc',
      text: `${text.join('\n')}\n(cluster '${cluster.name}')`,
      structured: {
        cluster: cluster.name,
        namespace: args.namespace,
        name: args.name,
        fromRevision: plan.current,
        toRevision: plan.target,
        changed: plan.changes.length > 0,
        changes: plan.changes.map((c) => ({
          op: c.op,
          path: c.path,
          ...(c.before !== undefined ? { before: JSON.stringify(c.before) } : {}),
          ...(c.after !== undefined ? { after: JSON.stringify(c.after) } : {}),
        })),
      },
    };
  },
});

export const workloadWriteTools: ToolDef[] = [
  scaleTool('Deployment'),
  scaleTool('StatefulSet'),
  rolloutRestart,
  rolloutUndo,
];
