import {
  ApiException,
  type V1LabelSelector,
  type V1Node,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { type KubeCluster, kubeCall, kubeError } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { clusterArg, nameArg, PAGE_SIZE, TOOLSET } from './common.js';

const nodeArg = nameArg.describe('Node name');
const permission = { toolset: TOOLSET, verb: 'write', namespaced: false } as const;

async function readNode(cluster: KubeCluster, name: string): Promise<V1Node> {
  return kubeCall(cluster, `get node ${name}`, () => cluster.raw.get<V1Node>(`/api/v1/nodes/${name}`));
}

async function podsOn(cluster: KubeCluster, node: string): Promise<V1Pod[]> {
  return kubeCall(cluster, `list pods on node ${node}`, () =>
    cluster.raw.list<V1Pod>('/api/v1/pods', { fieldSelector: `spec.nodeName=${node}` }, PAGE_SIZE),
  );
}

async function setUnschedulable(cluster: KubeCluster, node: string, value: boolean, signal: AbortSignal) {
  await kubeCall(cluster, `${value ? 'cordon' : 'uncordon'} node ${node}`, () =>
    cluster.raw.request('PATCH', `/api/v1/nodes/${node}`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { unschedulable: value } },
      signal,
    }),
  );
}

// ── cordon / uncordon ────────────────────────────────────────────────────────────────────────────

function cordonTool(cordon: boolean) {
  const verb = cordon ? 'cordon' : 'uncordon';
  return defineTool({
    name: `nodes_${verb}`,
    title: cordon ? 'Nodes: Cordon' : 'Nodes: Uncordon',
    description: cordon
      ? 'Mark a node unschedulable so that no new pods are placed on it; pods already there keep running. Call this before maintenance or when a node misbehaves, and nodes_drain to move its pods away.'
      : 'Mark a cordoned node schedulable again so that new pods can be placed on it. Call this after maintenance or a drain, once the node is healthy.',
    input: z.object({ cluster: clusterArg, name: nodeArg }),
    output: z.object({
      cluster: z.string(),
      node: z.string(),
      unschedulable: z.boolean(),
      changed: z.boolean(),
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    permission,
    async preview(args, ctx) {
      const cluster = ctx.backends.kube.get(args.cluster);
      const [node, pods] = await Promise.all([readNode(cluster, args.name), podsOn(cluster, args.name)]);
      const now = node.spec?.unschedulable === true;
      if (now === cordon)
        return `node ${args.name} is already ${cordon ? 'cordoned' : 'schedulable'}; nothing changes.`;
      return cordon
        ? `cordon node ${args.name} in cluster '${cluster.name}': no new pods are scheduled there; its ${pods.length} pods keep running.`
        : `uncordon node ${args.name} in cluster '${cluster.name}': new pods may be scheduled there again.`;
    },
    async handler(args, ctx) {
      const cluster = ctx.backends.kube.get(args.cluster);
      const node = await readNode(cluster, args.name);
      const changed = (node.spec?.unschedulable === true) !== cordon;
      if (changed) await setUnschedulable(cluster, args.name, cordon, ctx.signal);
      return {
        kind: 'doc',
        text: changed
          ? `${cordon ? 'Cordoned' : 'Uncordoned'} node ${args.name} in cluster '${cluster.name}': it is now ${cordon ? 'unschedulable' : 'schedulable'}.`
          : `Node ${args.name} in cluster '${cluster.name}' was already ${cordon ? 'cordoned' : 'schedulable'}; nothing changed.`,
        structured: { cluster: cluster.name, node: args.name, unschedulable: cordon, changed },
      };
    },
  });
}

// ── drain ────────────────────────────────────────────────────────────────────────────────────────

interface DrainOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
}

interface PodNote {
  namespace: string;
  name: string;
  reason: string;
}

interface DrainPlan {
  node: V1Node;
  evict: V1Pod[];
  skipped: PodNote[];
  refused: PodNote[];
}

const ref = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;
const note = (p: V1Pod, reason: string): PodNote => ({
  namespace: p.metadata?.namespace ?? '',
  name: p.metadata?.name ?? '',
  reason,
});

/** The pod filters of `kubectl drain`, in its order; refusing instead of evicting is never silent. */
function classify(node: V1Node, pods: V1Pod[], opts: DrainOptions): DrainPlan {
  const plan: DrainPlan = { node, evict: [], skipped: [], refused: [] };
  for (const pod of pods) {
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (pod.metadata?.deletionTimestamp) {
      plan.skipped.push(note(pod, 'already terminating'));
    } else if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) {
      plan.skipped.push(note(pod, 'mirror (static) pod, managed by the kubelet'));
    } else if (owner?.kind === 'DaemonSet' && !finished) {
      if (opts.ignoreDaemonSets) plan.skipped.push(note(pod, `managed by DaemonSet ${owner.name}`));
      else plan.refused.push(note(pod, `managed by DaemonSet ${owner.name} (set ignoreDaemonSets)`));
    } else if (!finished && !opts.deleteEmptyDirData && pod.spec?.volumes?.some((v) => v.emptyDir)) {
      const dirs = pod.spec.volumes.filter((v) => v.emptyDir).map((v) => v.name);
      plan.refused.push(
        note(pod, `uses emptyDir ${dirs.join(', ')}, whose data would be lost (set deleteEmptyDirData)`),
      );
    } else if (!finished && !owner && !opts.force) {
      plan.refused.push(note(pod, 'not managed by a controller, so nothing would recreate it (set force)'));
    } else {
      plan.evict.push(pod);
    }
  }
  return plan;
}

async function drainPlan(cluster: KubeCluster, name: string, opts: DrainOptions): Promise<DrainPlan> {
  const [node, pods] = await Promise.all([readNode(cluster, name), podsOn(cluster, name)]);
  return classify(node, pods, opts);
}

function matches(sel: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = (e.values ?? []).includes(labels[e.key] ?? '');
    if (e.operator === 'In' && !(has && inValues)) return false;
    if (e.operator === 'NotIn' && has && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** For the plan: which evictions the PodDisruptionBudgets allow right now. */
async function budgetNotes(cluster: KubeCluster, pods: V1Pod[]): Promise<Map<V1Pod, string>> {
  const notes = new Map<V1Pod, string>();
  const namespaces = [...new Set(pods.map((p) => p.metadata?.namespace ?? ''))];
  for (const ns of namespaces) {
    const pdbs = await kubeCall(cluster, `list PodDisruptionBudgets in namespace '${ns}'`, () =>
      cluster.raw.list<V1PodDisruptionBudget>(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {}),
    );
    for (const pdb of pdbs) {
      const covered = pods.filter(
        (p) => p.metadata?.namespace === ns && matches(pdb.spec?.selector, p.metadata?.labels ?? {}),
      );
      const allowed = pdb.status?.disruptionsAllowed ?? 0;
      const rule =
        pdb.spec?.minAvailable !== undefined
          ? `minAvailable ${pdb.spec.minAvailable}`
          : `maxUnavailable ${pdb.spec?.maxUnavailable}`;
      covered.forEach((p, i) => {
        if (i >= allowed && !notes.has(p)) {
          notes.set(
            p,
            `blocked by PodDisruptionBudget ${pdb.metadata?.name} (${rule}, ${allowed} disruptions allowed now)`,
          );
        }
      });
    }
  }
  return notes;
}

const drainInput = z.object({
  cluster: clusterArg,
  name: nodeArg,
  ignoreDaemonSets: z
    .boolean()
    .default(true)
    .describe('Leave DaemonSet pods in place (they would come straight back); false refuses to drain them'),
  deleteEmptyDirData: z
    .boolean()
    .default(false)
    .describe('Evict pods with emptyDir volumes, losing that data; otherwise such pods stop the drain'),
  force: z
    .boolean()
    .default(false)
    .describe(
      'Evict pods no controller manages (they are not recreated); otherwise such pods stop the drain',
    ),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(25)
    .default(20)
    .describe(
      'How long to retry evictions that a PodDisruptionBudget blocks and wait for evicted pods to go; call again to retry the rest',
    ),
});

const podRef = z.object({ namespace: z.string(), name: z.string() });
const podWithReason = podRef.extend({ reason: z.string() });

const drainOutput = z.object({
  cluster: z.string(),
  node: z.string(),
  cordoned: z.boolean().describe('true when this call cordoned the node (false: it already was)'),
  complete: z.boolean().describe('every pod that had to go was evicted and is gone'),
  evicted: z.array(podRef),
  blocked: z.array(podWithReason).describe('evictions refused, e.g. by a PodDisruptionBudget'),
  terminating: z.array(podRef).describe('evicted but still shutting down when the call returned'),
  skipped: z.array(podWithReason),
});

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** Why the API server refused an eviction, in one line. */
function refusal(e: unknown): string {
  if (e instanceof ApiException) {
    try {
      const body = JSON.parse(String(e.body)) as {
        message?: string;
        details?: { causes?: Array<{ message?: string }> };
      };
      const causes = (body.details?.causes ?? []).map((c) => c.message).filter(Boolean);
      const message = (body.message ?? `HTTP ${e.code}`).replace(/\.$/, '');
      return causes.length ? `${message} (${causes.join('; ')})` : message;
    } catch {
      return `HTTP ${e.code}`;
    }
  }
  return (e as Error).message;
}

const nodesDrain = defineTool({
  name: 'nodes_drain',
  title: 'Nodes: Drain',
  description:
    'Cordon a node and evict its pods through the Eviction API so they move elsewhere, honouring PodDisruptionBudgets, as `kubectl drain` does. Call this before node maintenance or to move work off a failing node. DaemonSet and mirror pods stay; pods with emptyDir data or without a controller stop the drain unless deleteEmptyDirData or force is set. Evictions a budget blocks are retried until timeoutSeconds and then reported as blocked; call again later to finish.',
  input: drainInput,
  output: drainOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  permission,
  async preview(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const plan = await drainPlan(cluster, args.name, args);
    const lines = [
      `drain node ${args.name} in cluster '${cluster.name}': ${plan.node.spec?.unschedulable ? 'already cordoned' : 'cordon it'}, then evict ${plan.evict.length} pods.`,
    ];
    if (plan.refused.length > 0) {
      lines.push(`It will refuse to start (nothing changes) because of ${plan.refused.length} pods:`);
      for (const r of plan.refused) lines.push(`  ! ${r.namespace}/${r.name}: ${r.reason}`);
    }
    const blocked = await budgetNotes(cluster, plan.evict);
    for (const pod of plan.evict) {
      const why = blocked.get(pod);
      lines.push(
        `  ${why ? 'x' : '-'} ${ref(pod)}${why ? `: ${why}; retried for ${args.timeoutSeconds}s` : ''}`,
      );
    }
    for (const s of plan.skipped) lines.push(`  = ${s.namespace}/${s.name} stays: ${s.reason}`);
    return lines.join('\n');
  },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    const plan = await drainPlan(cluster, args.name, args);
    if (plan.refused.length > 0) {
      throw new ToolError(
        'invalid_arguments',
        `cannot drain node ${args.name}: ${plan.refused.map((r) => `${r.namespace}/${r.name} ${r.reason}`).join('; ')}. Nothing was changed (the node was not cordoned).`,
      );
    }
    const cordoned = !plan.node.spec?.unschedulable;
    if (cordoned) await setUnschedulable(cluster, args.name, true, ctx.signal);

    const evicted: V1Pod[] = [];
    const blocked = new Map<V1Pod, string>();
    let pending = plan.evict;
    while (pending.length > 0) {
      const retry: V1Pod[] = [];
      for (const pod of pending) {
        const ns = pod.metadata?.namespace ?? '';
        const name = pod.metadata?.name ?? '';
        try {
          await cluster.raw.request('POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
            body: {
              apiVersion: 'policy/v1',
              kind: 'Eviction',
              metadata: { name, namespace: ns },
              deleteOptions: { preconditions: { uid: pod.metadata?.uid } },
            },
            signal: ctx.signal,
          });
          evicted.push(pod);
          blocked.delete(pod);
        } catch (e) {
          if (e instanceof ApiException && e.code === 404) evicted.push(pod);
          else if (e instanceof ApiException && e.code === 429) {
            blocked.set(pod, refusal(e));
            retry.push(pod);
          } else if (e instanceof ApiException) blocked.set(pod, refusal(e));
          else throw kubeError(cluster, `evict pod ${ns}/${name}`, e);
        }
      }
      pending = retry;
      // As kubectl does: a budget frees up as replacements become ready elsewhere.
      if (pending.length === 0 || Date.now() + 2000 > deadline || ctx.signal.aborted) break;
      await sleep(2000, ctx.signal);
    }

    let terminating = evicted;
    while (terminating.length > 0 && Date.now() < deadline && !ctx.signal.aborted) {
      const left = new Set((await podsOn(cluster, args.name)).map((p) => p.metadata?.uid));
      terminating = terminating.filter((p) => left.has(p.metadata?.uid));
      if (terminating.length > 0) await sleep(500, ctx.signal);
    }

    const toRef = (p: V1Pod) => ({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '' });
    const structured = {
      cluster: cluster.name,
      node: args.name,
      cordoned,
      complete: blocked.size === 0 && terminating.length === 0,
      evicted: evicted.map(toRef),
      blocked: [...blocked].map(([p, reason]) => ({ ...toRef(p), reason })),
      terminating: terminating.map(toRef),
      skipped: plan.skipped,
    };
    const lines = [
      `${structured.complete ? 'Drained' : 'Drain incomplete for'} node ${args.name} in cluster '${cluster.name}': ` +
        `${cordoned ? 'cordoned it' : 'it was already cordoned'}; evicted ${evicted.length}, blocked ${blocked.size}, ` +
        `still terminating ${terminating.length}, left in place ${plan.skipped.length}.`,
      ...evicted.map((p) => `  - evicted ${ref(p)}`),
      ...structured.blocked.map((b) => `  x not evicted ${b.namespace}/${b.name}: ${b.reason}`),
      ...terminating.map((p) => `  … ${ref(p)} is still shutting down`),
      ...plan.skipped.map((s) => `  = ${s.namespace}/${s.name} stays: ${s.reason}`),
    ];
    if (!structured.complete) lines.push('Call nodes_drain again later to retry what is left.');
    return { kind: 'doc', text: lines.join('\n'), structured };
  },
});

export const nodeWriteTools: ToolDef[] = [cordonTool(true), cordonTool(false), nodesDrain];
