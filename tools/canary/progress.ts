import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CanaryPlan } from '../clients/canary-plans.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolContext, type ToolDef } from '../core/types.js';
import { DEFAULT_THRESHOLDS } from './analysis.js';
import { analysisArgs, analysisOptions, metricTemplateNeeds } from './analyze.js';
import {
  clusterArg,
  kindArg,
  nameArg,
  namespaceArg,
  readAnnotations,
  readPermission,
  writeAnnotations,
  writePermission,
} from './common.js';
import { CONTROLLER_LABEL } from './controllers.js';
import { findCanary } from './inventory.js';
import { describeSplit, splitWeights } from './splits.js';
import { formatWeights, rolesOf } from './weights.js';

const input = z.object({
  cluster: clusterArg,
  namespace: namespaceArg,
  name: nameArg.describe('Name of the route or TrafficSplit'),
  kind: kindArg,
  steps: z
    .array(z.number().int().min(1).max(100))
    .min(1)
    .max(20)
    .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]!), 'steps must rise, e.g. [10, 25, 50, 100]')
    .describe('Canary weights in percent, one per step, rising, e.g. [10, 25, 50, 100]'),
  intervalSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe('Time between steps (default 300)'),
  thread: z
    .object({ channel: z.string().min(1).max(200), threadId: z.string().min(1).max(200) })
    .optional()
    .describe('Chat thread to report each step in (set by the chat surface)'),
  ...analysisArgs,
});

type Args = z.infer<typeof input>;

async function planOf(args: Args, ctx: ToolContext) {
  const cluster = ctx.backends.kube.get(args.cluster);
  const found = await findCanary(cluster, args.namespace, args.name, args.kind, ctx.signal);
  if (found.controller) {
    throw new ToolError(
      'invalid_arguments',
      `${CONTROLLER_LABEL[found.controller.kind]} ${found.controller.name} runs this release's progression itself; Kubemate does not run a second one over it. Nothing was changed.`,
    );
  }
  const split = found.split!;
  const weights = splitWeights(split);
  const roles = rolesOf(Object.keys(weights), args.stable);
  if (roles.canaries.length !== 1) {
    throw new ToolError(
      'invalid_arguments',
      `${describeSplit(split)} has ${roles.canaries.length} canaries; a progression moves traffic to exactly one. Nothing was changed.`,
    );
  }
  const current = weights[roles.canaries[0]!] ?? 0;
  if (args.steps.at(-1)! <= current) {
    throw new ToolError(
      'invalid_arguments',
      `the canary already has ${current}%, and the last step is ${args.steps.at(-1)}%; give steps above ${current}. Nothing was changed.`,
    );
  }
  return { split, roles, weights, cluster };
}

const progress = defineTool({
  name: 'canary_progress',
  title: 'Canaries: Progress',
  description:
    'Start a progressive delivery of a canary split without another controller: steps such as 10, 25, 50, 100 percent, an interval between them, an analysis before each step, and an automatic rollback when the analysis fails. Each step is a canary_shift through the same approvals; the plan survives restarts and reports each step (in the chat thread it was started from). Follow it with canary_progress_status.',
  input,
  output: z.object({
    id: z.string(),
    steps: z.array(z.number()),
    intervalSeconds: z.number(),
    stable: z.string(),
    canary: z.string(),
  }),
  annotations: writeAnnotations(false, false),
  permission: writePermission,
  alsoNeeds: metricTemplateNeeds,
  async preview(args, ctx) {
    const { split, roles, weights } = await planOf(args, ctx);
    // The approver sees what "passing" will mean: thresholds a caller relaxed are shown, not implied.
    const t = { ...DEFAULT_THRESHOLDS, ...analysisOptions({ ...args, window: args.window }).thresholds };
    const custom = (args.metrics ?? []).map(
      (m) =>
        `${m.name} ${m.min !== undefined ? `≥ ${m.min}` : ''}${m.max !== undefined ? ` ≤ ${m.max}` : ''} (${m.query})`,
    );
    return `progress ${describeSplit(split)} from ${formatWeights(weights)}: the canary ${roles.canaries[0]} to ${args.steps.join('% → ')}%, one step every ${args.intervalSeconds} s after a passing analysis over ${args.window}; rollback to ${roles.stable} when it fails. Passing means: success rate ≥ ${t.minSuccessRate}%, p99 ≤ ${t.maxLatencyP99Ms} ms, at least ${t.minRequests} requests${custom.length ? `, and ${custom.join(', ')}` : ''}. Each shift is approved as the policy says.`;
  },
  async handler(args, ctx) {
    const store = ctx.backends.canaryPlans;
    if (!store)
      throw new ToolError(
        'backend_unavailable',
        'canary_progress needs Kubemate state (the data directory) to keep its plan; none is configured',
      );
    // Only the chat surface names a thread (the one the plan was asked for in): from anywhere else it
    // would let a caller make the bot post into any channel it is in.
    const fromChat = ctx.principal.source === 'chat' || ctx.principal.via === 'chat';
    if (args.thread && !fromChat)
      throw new ToolError(
        'invalid_arguments',
        'thread is set by the chat surface for a plan asked for in chat; leave it out here (follow the plan with canary_progress_status)',
      );
    const { split, roles } = await planOf(args, ctx);
    const {
      cluster: _c,
      namespace: _n,
      name: _m,
      kind: _k,
      steps,
      intervalSeconds,
      thread,
      stable: _s,
      ...analysis
    } = args;
    const plan: Omit<CanaryPlan, 'id' | 'createdAt'> = {
      ...(args.cluster ? { cluster: args.cluster } : {}),
      namespace: split.namespace,
      name: split.name,
      kind: split.kind,
      stable: roles.stable,
      canary: roles.canaries[0]!,
      steps,
      intervalSeconds,
      analysis,
      requester: ctx.principal,
      ...(thread ? { thread } : {}),
      state: 'running',
      step: 0,
      inconclusive: 0,
      nextAt: Date.now(),
      history: [],
    };
    const saved = await store.create(plan, `cp_${randomBytes(6).toString('hex')}`);
    return {
      kind: 'doc',
      text: `Started ${saved.id}: ${describeSplit(split)}, canary ${saved.canary} to ${steps.join('% → ')}% every ${intervalSeconds} s with an analysis before each step; follow it with canary_progress_status.`,
      structured: { id: saved.id, steps, intervalSeconds, stable: saved.stable, canary: saved.canary },
    };
  },
});

const progressStatus = defineTool({
  name: 'canary_progress_status',
  title: 'Canaries: Progress Status',
  description:
    'Show canary_progress plans: where each stands (running, waiting for approval, completed, rolled back, halted) and what happened at each step. Give an id for one plan in full.',
  input: z.object({
    id: z
      .string()
      .regex(/^cp_[0-9a-f]{12}$/, 'must be a plan id such as cp_0123456789ab')
      .optional(),
  }),
  output: z.object({ plans: z.array(z.record(z.string(), z.unknown())) }),
  annotations: readAnnotations,
  permission: { ...readPermission, namespaced: false },
  async handler(args, ctx) {
    const store = ctx.backends.canaryPlans;
    if (!store)
      throw new ToolError(
        'backend_unavailable',
        'no canary_progress plans are kept: Kubemate has no state configured',
      );
    const plans = args.id
      ? [await store.get(args.id)].filter((p): p is CanaryPlan => !!p)
      : await store.list(50);
    if (args.id && !plans.length) throw new ToolError('not_found', `no canary_progress plan '${args.id}'`);
    const lines = plans.flatMap((p) => [
      `${p.id} ${p.namespace}/${p.name}: ${p.state}, step ${Math.min(p.step + 1, p.steps.length)} of ${p.steps.length} (${p.steps.join(', ')}%)${p.waiting ? `, waiting on ticket ${p.waiting.ticket}` : ''}`,
      ...(args.id ? p.history : p.history.slice(-1)).map((h) => `  ${h.at} ${h.text}`),
    ]);
    return {
      kind: 'doc',
      status: plans.length ? 'success' : 'no_data',
      text: lines.join('\n') || 'no canary_progress plans',
      structured: {
        plans: plans.map((p) => ({
          id: p.id,
          namespace: p.namespace,
          name: p.name,
          state: p.state,
          step: p.step,
          steps: p.steps,
          history: p.history,
          ...(p.waiting ? { waiting: p.waiting } : {}),
        })),
      },
    };
  },
});

export const progressTools: ToolDef[] = [progress, progressStatus];
