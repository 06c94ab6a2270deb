/**
 * Changing a canary: shift weights, promote, roll back. Every write is planned from a fresh read
 * (weights before → after, the analysis verdict at that moment), goes through the pipeline's
 * approvals, and is written as one JSON patch that first tests the resourceVersion it was planned
 * from: a split changed or deleted meanwhile is left as it is. Splits run by Flagger or Argo are
 * never re-weighted by hand; promote and roll back act through the controller's own resource.
 */
import { ApiException } from '@kubernetes/client-node';
import { z } from 'zod';
import type { KubeCluster } from '../clients/kube.js';
import { kubeError } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolContext, type ToolDef } from '../core/types.js';
import { analysisArgs, analysisOptions, metricTemplateNeeds } from './analyze.js';
import { clusterArg, kindArg, nameArg, namespaceArg, TOOLSET, writeAnnotations } from './common.js';
import { CONTROLLER_LABEL, type ControllerView } from './controllers.js';
import { resourcePath, WANTED } from './discovery.js';
import { type Found, findCanary, readOneSplit } from './inventory.js';
import { analysisLines } from './render.js';
import type { AnalysisResult } from './run-analysis.js';
import { assertUniform, describeSplit, type Split, splitWeights, weightPatch } from './splits.js';
import { analyseFor } from './targets.js';
import { formatChange, type Percentages, plan, rolesOf, unchanged, type WeightRequest } from './weights.js';

const target = {
  cluster: clusterArg,
  namespace: namespaceArg,
  name: nameArg.describe('Name of the route, TrafficSplit, Flagger Canary or Argo Rollout'),
  kind: kindArg,
};

type Action = 'shift' | 'promote' | 'rollback';

interface Planned {
  found: Found;
  split?: Split;
  controller?: ControllerView;
  before?: Percentages;
  after?: Percentages;
  analysis?: AnalysisResult;
  analysisNote?: string;
  lines: string[];
  /** The write to make, or undefined when nothing changes. */
  write?: (signal: AbortSignal) => Promise<void>;
  refusal?: string;
}

interface CommonArgs {
  cluster?: string | undefined;
  namespace: string;
  name: string;
  kind?: Parameters<typeof findCanary>[3];
  stable?: string | undefined;
  window?: string | undefined;
  minSuccessRate?: number | undefined;
  maxLatencyP99Ms?: number | undefined;
  minRequests?: number | undefined;
  metrics?:
    | Array<{ name: string; query: string; min?: number | undefined; max?: number | undefined }>
    | undefined;
}

async function patch(
  cluster: KubeCluster,
  action: string,
  path: string,
  contentType: string,
  body: unknown,
  signal: AbortSignal,
) {
  try {
    await cluster.raw.request('PATCH', path, { contentType, body, signal });
  } catch (e) {
    if (
      e instanceof ApiException &&
      (e.code === 409 || (e.code === 422 && String(e.body).includes('error in our request')))
    ) {
      throw new ToolError(
        'backend_error',
        `cannot ${action} in cluster '${cluster.name}': it changed while this call ran; nothing was changed, look again and retry`,
      );
    }
    if (e instanceof ApiException && e.code === 404) {
      throw new ToolError(
        'not_found',
        `cannot ${action} in cluster '${cluster.name}': it is gone (deleted while this call ran?); nothing was changed`,
      );
    }
    throw kubeError(cluster, action, e);
  }
}

function resourceOf(found: Found, kind: 'flagger-canary' | 'argo-rollout') {
  const r = found.inventory.discovered.found[kind];
  if (!r) throw new ToolError('not_found', `${WANTED.find((w) => w.kind === kind)!.label} is not installed`);
  return r;
}

/** Promote and roll back through the controller's own resource; a shift is refused. */
function controllerPlan(
  action: Action,
  c: ControllerView,
  found: Found,
  cluster: KubeCluster,
): Pick<Planned, 'lines' | 'write' | 'refusal'> {
  const label = `${CONTROLLER_LABEL[c.kind]} ${c.namespace}/${c.name}`;
  const now = `it is in phase ${c.phase}${c.canaryWeight !== undefined ? ` with the canary at ${c.canaryWeight}%` : ''}`;
  if (action === 'shift') {
    return {
      lines: [],
      refusal: `${label} is in charge of these weights (${now}); Kubemate does not fight its controller: use canary_promote or canary_rollback, which act through the ${c.kind === 'flagger' ? 'Canary' : 'Rollout'} itself. Nothing was changed.`,
    };
  }
  const precondition = { metadata: { resourceVersion: c.resourceVersion } };
  if (c.kind === 'flagger') {
    if (action === 'rollback') {
      return {
        lines: [],
        refusal: `${label}: Flagger rolls a canary back itself when its analysis fails, or when its rollback webhook answers yes; it has no field to abort by. ${now}. Nothing was changed.`,
      };
    }
    const r = resourceOf(found, 'flagger-canary');
    return {
      lines: [
        `promote ${label} through Flagger: set spec.skipAnalysis to true, so Flagger promotes the canary without further analysis (${now}). Set it back to false for the next release.`,
      ],
      write: (signal) =>
        patch(
          cluster,
          `promote ${label}`,
          resourcePath(r, c.namespace, c.name),
          'application/merge-patch+json',
          { ...precondition, spec: { skipAnalysis: true } },
          signal,
        ),
    };
  }
  const r = resourceOf(found, 'argo-rollout');
  const statusPath = `${resourcePath(r, c.namespace, c.name)}/status`;
  if (action === 'promote') {
    return {
      lines: [
        `promote ${label} fully through Argo Rollouts: set status.promoteFull, as kubectl argo rollouts promote --full does (${now}).`,
      ],
      write: (signal) =>
        patch(
          cluster,
          `promote ${label}`,
          statusPath,
          'application/merge-patch+json',
          { ...precondition, status: { promoteFull: true } },
          signal,
        ),
    };
  }
  return {
    lines: [
      `abort ${label} through Argo Rollouts: set status.abort, as kubectl argo rollouts abort does; Argo sends all traffic back to stable (${now}).`,
    ],
    write: (signal) =>
      patch(
        cluster,
        `abort ${label}`,
        statusPath,
        'application/merge-patch+json',
        { ...precondition, status: { abort: true } },
        signal,
      ),
  };
}

async function planWrite(
  ctx: ToolContext,
  args: CommonArgs,
  action: Action,
  req: WeightRequest,
  force: boolean,
): Promise<Planned> {
  const cluster = ctx.backends.kube.get(args.cluster);
  const found = await findCanary(cluster, args.namespace, args.name, args.kind, ctx.signal);
  const { controller } = found;
  if (controller) {
    const p = controllerPlan(action, controller, found, cluster);
    if (p.refusal) throw new ToolError('invalid_arguments', p.refusal);
    return { found, controller, ...p };
  }
  // Fresh read: the patch tests exactly this resourceVersion.
  const split = await readOneSplit(
    cluster,
    found.inventory,
    found.split!.kind,
    args.namespace,
    found.split!.name,
    ctx.signal,
  );
  const before = splitWeights(split);
  assertUniform(split);
  const roles = rolesOf(Object.keys(before), args.stable);
  const after = plan(before, roles, req);
  const lines = [
    unchanged(before, after)
      ? `${describeSplit(split)} already has these weights (${formatChange(before, after)}); nothing changes.`
      : `${action} ${describeSplit(split)} in cluster '${cluster.name}': ${formatChange(before, after)}${split.weighted.length > 1 ? ` (in each of its ${split.weighted.length} weighted rules)` : ''}.`,
  ];
  let analysis: AnalysisResult | undefined;
  let note: string | undefined;
  // A move towards stable never waits on the analysis: it is what a failing canary needs.
  const towardsCanary = roles.canaries.some((c) => (after[c] ?? 0) > (before[c] ?? 0));
  if (towardsCanary || action === 'promote') {
    const a = await analyseFor(
      ctx,
      args.cluster,
      cluster,
      { ...found, split },
      args.stable,
      analysisOptions({ ...args, window: args.window ?? '5m' }),
    );
    analysis = a.result;
    note = a.unavailable;
    if (analysis) lines.push(...analysisLines(analysis));
    else lines.push(`no analysis: ${note}`);
  }
  let refusal: string | undefined;
  if (analysis?.verdict === 'fail' && towardsCanary) {
    if (force) lines.push('FORCED: the analysis fails and the shift goes ahead anyway, as asked.');
    else
      refusal = `refusing to send more traffic to the canary of ${describeSplit(split)}: the analysis fails (${analysis.reason}). Roll back with canary_rollback, or, if you must, canary_shift_forced (which the policy may restrict). Nothing was changed.`;
  }
  const write = unchanged(before, after)
    ? undefined
    : (signal: AbortSignal) =>
        patch(
          cluster,
          `${action} ${describeSplit(split)}`,
          resourcePath(found.inventory.discovered.found[split.kind]!, split.namespace, split.name),
          'application/json-patch+json',
          weightPatch(split, after),
          signal,
        );
  return {
    found,
    split,
    before,
    after,
    ...(analysis ? { analysis } : {}),
    ...(note ? { analysisNote: note } : {}),
    lines,
    ...(write ? { write } : {}),
    ...(refusal ? { refusal } : {}),
  };
}

const output = z.object({
  namespace: z.string(),
  name: z.string(),
  changed: z.boolean(),
  before: z.record(z.string(), z.number()).optional(),
  after: z.record(z.string(), z.number()).optional(),
  controller: z.string().optional(),
  verdict: z.string().optional(),
});

function writeTool(opts: {
  name: string;
  title: string;
  description: string;
  action: Action;
  verb: 'write' | 'admin';
  destructive: boolean;
  force: boolean;
  input: z.ZodObject<z.ZodRawShape>;
  request(args: Record<string, unknown>): WeightRequest;
}): ToolDef {
  return defineTool({
    name: opts.name,
    title: opts.title,
    description: opts.description,
    input: opts.input,
    output,
    annotations: writeAnnotations(opts.destructive, opts.action !== 'shift' || !('step' in opts.input.shape)),
    permission: { toolset: TOOLSET, verb: opts.verb, namespaced: true },
    alsoNeeds: (args) => metricTemplateNeeds(args as { cluster?: string; metrics?: unknown[] }),
    async preview(args, ctx) {
      const p = await planWrite(
        ctx,
        args as unknown as CommonArgs,
        opts.action,
        opts.request(args),
        opts.force,
      );
      if (p.refusal) throw new ToolError('invalid_arguments', p.refusal);
      return p.lines.join('\n');
    },
    async handler(args, ctx) {
      const a = args as unknown as CommonArgs;
      const p = await planWrite(ctx, a, opts.action, opts.request(args), opts.force);
      if (p.refusal) throw new ToolError('invalid_arguments', p.refusal);
      if (p.write) await p.write(ctx.signal);
      const done = p.lines[0]!.replace(
        /^(shift|promote|rollback|abort) /,
        (m) =>
          `${{ 'shift ': 'Shifted', 'promote ': 'Promoted', 'rollback ': 'Rolled back', 'abort ': 'Aborted' }[m]} `,
      );
      return {
        kind: 'doc',
        text: [done, ...p.lines.slice(1)].join('\n'),
        structured: {
          namespace: a.namespace,
          name: a.name,
          changed: !!p.write,
          ...(p.before ? { before: p.before } : {}),
          ...(p.after ? { after: p.after } : {}),
          ...(p.controller ? { controller: `${p.controller.kind} ${p.controller.name}` } : {}),
          ...(p.analysis ? { verdict: p.analysis.verdict } : {}),
        },
      };
    },
  });
}

const shiftInput = z
  .object({
    ...target,
    weights: z
      .record(z.string().min(1).max(253), z.number().int().min(0).max(100))
      .optional()
      .describe(
        'New weights in percent by backend name, adding up to 100, e.g. {"api-stable": 50, "api-canary": 50}',
      ),
    step: z
      .number()
      .int()
      .min(-100)
      .max(100)
      .refine((n) => n !== 0, 'a step of 0 changes nothing')
      .optional()
      .describe('Move this many percent from stable to the canary (negative: back to stable)'),
    ...analysisArgs,
  })
  .refine(
    (a) => (a.weights === undefined) !== (a.step === undefined),
    'give either weights or step, not both and not neither',
  );

const shiftRequest = (args: Record<string, unknown>): WeightRequest =>
  args.weights
    ? { kind: 'set', weights: args.weights as Record<string, number> }
    : { kind: 'step', by: args.step as number };

const shiftDescription =
  'Change the traffic weights of a canary split (Gateway API or Linkerd HTTPRoute, SMI TrafficSplit): set them in percent, or step the canary up or down by N percent. The plan shows the weights before → after and the analysis verdict; a shift towards the canary is refused while the analysis fails. Splits run by Flagger or Argo are refused: use canary_promote or canary_rollback.';

const shift = writeTool({
  name: 'canary_shift',
  title: 'Canaries: Shift Traffic',
  description: shiftDescription,
  action: 'shift',
  verb: 'write',
  destructive: false,
  force: false,
  input: shiftInput as unknown as z.ZodObject<z.ZodRawShape>,
  request: shiftRequest,
});

const shiftForced = writeTool({
  name: 'canary_shift_forced',
  title: 'Canaries: Shift Traffic Despite Failing Analysis',
  description: `${shiftDescription} This variant goes ahead even when the analysis fails; call it only when a person explicitly asks to override a failing analysis. Policies usually restrict it to a few people (verb admin).`,
  action: 'shift',
  verb: 'admin',
  destructive: true,
  force: true,
  input: shiftInput as unknown as z.ZodObject<z.ZodRawShape>,
  request: shiftRequest,
});

const promote = writeTool({
  name: 'canary_promote',
  title: 'Canaries: Promote',
  description:
    'Promote a canary: all traffic to the canary backend of a split, or, for Flagger and Argo Rollouts, promotion through their own resource (Flagger spec.skipAnalysis, Argo status.promoteFull). The plan shows the weights before → after and the analysis verdict at planning time.',
  action: 'promote',
  verb: 'write',
  destructive: false,
  force: false,
  input: z.object({ ...target, ...analysisArgs }),
  request: () => ({ kind: 'promote' }),
});

const rollback = writeTool({
  name: 'canary_rollback',
  title: 'Canaries: Roll Back',
  description:
    'Roll a canary back: all traffic to the stable backend of a split, or, for Argo Rollouts, abort through the Rollout (status.abort). Call this when the canary fails its analysis or causes an incident; a policy can make it a fast path for on-call.',
  action: 'rollback',
  verb: 'write',
  destructive: true,
  force: false,
  input: z.object({
    ...target,
    stable: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('The stable backend, when its name does not say so (-primary, -stable)'),
  }),
  request: () => ({ kind: 'rollback' }),
});

export const writeTools: ToolDef[] = [shift, shiftForced, promote, rollback];
