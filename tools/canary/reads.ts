import { z } from 'zod';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { clusterArg, kindArg, nameArg, namespaceArg, readAnnotations, readPermission } from './common.js';
import { CONTROLLER_LABEL, type ControllerView, controllerOf } from './controllers.js';
import { backendsOf, findCanary, inventory } from './inventory.js';
import { backendLines, controllerLine, splitLines } from './render.js';
import { LABELS, type Split } from './splits.js';
import { formatWeights, percentages } from './weights.js';

interface Row {
  namespace: string;
  name: string;
  kind: string;
  weights: string;
  controller: string;
  phase: string;
}

function splitRow(s: Split, c: ControllerView | undefined): Row {
  const rule = s.weighted[0];
  return {
    namespace: s.namespace,
    name: s.name,
    kind: LABELS[s.kind],
    weights: rule ? formatWeights(percentages(rule.backends)) : 'not weighted',
    controller: c ? `${CONTROLLER_LABEL[c.kind]} ${c.name}` : 'none',
    phase: c?.phase ?? (rule ? 'manual' : '-'),
  };
}

const list = defineTool({
  name: 'canary_list',
  title: 'Canaries: List',
  description:
    'List canary releases and traffic splits: Gateway API and Linkerd HTTPRoutes whose rules split traffic between backends, SMI TrafficSplits, Flagger Canaries and Argo Rollouts, with the current weights, the controller in charge and its phase. Call this first to see what is being released where; it also says which of these APIs the cluster does not have.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg.optional().describe('Namespace to look in; omit for all namespaces'),
    all: z
      .boolean()
      .default(false)
      .describe('Also list routes that do not split traffic (one backend per rule)'),
  }),
  output: listOutput({
    total: z.number(),
    missing: z.array(z.string()),
    items: z.array(
      z.object({
        namespace: z.string(),
        name: z.string(),
        kind: z.string(),
        weights: z.string(),
        controller: z.string(),
        phase: z.string(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const inv = await inventory(cluster, args.namespace, ctx.signal);
    const rows: Row[] = [];
    const shown = new Set<ControllerView>();
    for (const s of inv.splits) {
      if (!args.all && s.weighted.length === 0) continue;
      const c = controllerOf(s, inv.controllers);
      if (c) shown.add(c);
      rows.push(splitRow(s, c));
    }
    for (const c of inv.controllers) {
      if (shown.has(c)) continue;
      rows.push({
        namespace: c.namespace,
        name: c.name,
        kind: CONTROLLER_LABEL[c.kind],
        weights: c.canaryWeight !== undefined ? `canary ${c.canaryWeight}%` : '-',
        controller: CONTROLLER_LABEL[c.kind],
        phase: c.phase,
      });
    }
    // Releases in progress first: not all on one backend.
    const moving = (r: Row) => (/\b(100|0)%/.test(r.weights) && !/\b([1-9][0-9]?)%/.test(r.weights) ? 1 : 0);
    rows.sort(
      (a, b) =>
        moving(a) - moving(b) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
    );
    const missing = inv.discovered.missing.map((m) => `${m.label}: ${m.why}`);
    const where = args.namespace ? `namespace ${args.namespace}` : 'all namespaces';
    return {
      kind: 'list',
      status: rows.length ? 'success' : 'no_data',
      header: `${rows.length} canar${rows.length === 1 ? 'y' : 'ies'} in ${where} of cluster '${cluster.name}'${missing.length ? `\nnot available: ${missing.join('; ')}` : ''}${inv.unreadable.length ? `\nnot readable: ${inv.unreadable.join('; ')}` : ''}`,
      columns: ['NAMESPACE', 'NAME', 'KIND', 'WEIGHTS', 'CONTROLLER', 'PHASE'],
      items: rows,
      row: (r) => {
        const x = r as Row;
        return [x.namespace, x.name, x.kind, x.weights, x.controller, x.phase];
      },
      toStructured: (r) => ({ ...(r as Row) }),
      narrow: 'name a namespace',
      totals: { total: rows.length, missing },
    };
  },
});

const status = defineTool({
  name: 'canary_status',
  title: 'Canaries: Status',
  description:
    'Show one canary in full: the weights of its split, each backend with its Deployment, ready replicas and images, the controller in charge (none, Flagger or Argo Rollouts) with its phase, and the analysis runs Argo reports. Call this for "how is the payments canary doing?" before canary_analyze or a shift.',
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg,
    name: nameArg.describe('Name of the route, TrafficSplit, Canary or Rollout'),
    kind: kindArg,
  }),
  output: z.object({
    namespace: z.string(),
    name: z.string(),
    kind: z.string(),
    weights: z.record(z.string(), z.number()),
    backends: z.array(
      z.object({
        name: z.string(),
        deployments: z.array(
          z.object({
            name: z.string(),
            ready: z.number(),
            replicas: z.number(),
            images: z.array(z.string()),
          }),
        ),
        problem: z.string().optional(),
      }),
    ),
    controller: z
      .object({
        kind: z.string(),
        name: z.string(),
        phase: z.string(),
        canaryWeight: z.number().optional(),
        progress: z.string().optional(),
        paused: z.boolean().optional(),
        message: z.string().optional(),
      })
      .optional(),
    analysisRuns: z.array(
      z.object({ name: z.string(), phase: z.string(), metrics: z.array(z.record(z.string(), z.unknown())) }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const { split, controller } = await findCanary(cluster, args.namespace, args.name, args.kind, ctx.signal);
    const names = [...new Set(split?.weighted.flatMap((r) => r.backends.map((b) => b.name)) ?? [])];
    const infos = names.length ? await backendsOf(cluster, args.namespace, names, ctx.signal) : [];
    const lines: string[] = [];
    if (split) lines.push(...splitLines(split));
    else lines.push(`no traffic split visible for ${controller!.kind} ${controller!.name}`);
    if (infos.length) lines.push('backends:', ...backendLines(infos));
    lines.push(
      controller
        ? `controller: ${controllerLine(controller)}`
        : 'controller: none (weights are set by hand or by Kubemate)',
    );
    for (const run of controller?.analysis ?? []) {
      lines.push(`analysis run ${run.name}: ${run.phase}`);
      for (const m of run.metrics)
        lines.push(
          `  ${m.name}: ${m.phase}${m.count !== undefined ? `, ${m.count} measurements` : ''}${m.failed ? `, ${m.failed} failed` : ''}${m.message ? ` (${m.message})` : ''}`,
        );
    }
    return {
      kind: 'doc',
      text: lines.join('\n'),
      structured: {
        namespace: args.namespace,
        name: args.name,
        kind: split ? LABELS[split.kind] : CONTROLLER_LABEL[controller!.kind],
        weights: split?.weighted[0] ? percentages(split.weighted[0].backends) : {},
        backends: infos,
        ...(controller
          ? {
              controller: {
                kind: controller.kind,
                name: controller.name,
                phase: controller.phase,
                ...(controller.canaryWeight !== undefined ? { canaryWeight: controller.canaryWeight } : {}),
                ...(controller.progress ? { progress: controller.progress } : {}),
                ...(controller.paused !== undefined ? { paused: controller.paused } : {}),
                ...(controller.message ? { message: controller.message } : {}),
              },
            }
          : {}),
        analysisRuns: controller?.analysis ?? [],
      },
    };
  },
});

export const readTools: ToolDef[] = [list, status];
