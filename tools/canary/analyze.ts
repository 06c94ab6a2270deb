import { z } from 'zod';
import { defineTool, type ToolDef } from '../core/types.js';
import { clusterArg, kindArg, nameArg, namespaceArg, readPermission, windowArg } from './common.js';
import { findCanary } from './inventory.js';
import { analysisLines } from './render.js';
import { analyseFor } from './targets.js';

/** Analysis options shared by canary_analyze and the writes that show a verdict in their plan. */
export const analysisArgs = {
  window: windowArg,
  stable: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .describe('The stable backend, when its name does not say so (-primary, -stable)'),
  minSuccessRate: z
    .number()
    .min(0)
    .max(100)
    .optional()
    .describe('Lowest acceptable success rate of the canary, percent (default 99)'),
  maxLatencyP99Ms: z
    .number()
    .positive()
    .optional()
    .describe('Highest acceptable p99 latency of the canary, ms (default 500)'),
  minRequests: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Fewest requests the canary must serve in the window for a verdict (default 50)'),
  metrics: z
    .array(
      z
        .object({
          name: z.string().min(1).max(100),
          query: z
            .string()
            .min(1)
            .max(5000)
            .describe(
              'PromQL returning one number; {{namespace}}, {{target}} (the Deployment) and {{interval}} (the window) are filled in',
            ),
          min: z.number().optional(),
          max: z.number().optional(),
        })
        .refine(
          (m) => m.min !== undefined || m.max !== undefined,
          'give the metric a min or a max threshold',
        ),
    )
    .max(10)
    .optional()
    .describe('Extra metric templates with thresholds, as Flagger MetricTemplates'),
};

/**
 * Custom metric templates run the caller's PromQL against Prometheus: the caller must also be
 * allowed to run PromQL there (promql_query), or canary read would be a way around metrics read.
 */
export function metricTemplateNeeds(args: { cluster?: string | undefined; metrics?: unknown[] | undefined }) {
  if (!args.metrics?.length) return [];
  return [
    {
      tool: 'promql_query',
      args: { ...(args.cluster !== undefined ? { cluster: args.cluster } : {}), query: 'up' },
      why: 'custom metric templates run PromQL, which',
    },
  ];
}

export function analysisOptions(args: {
  window: string;
  minSuccessRate?: number | undefined;
  maxLatencyP99Ms?: number | undefined;
  minRequests?: number | undefined;
  metrics?:
    | Array<{ name: string; query: string; min?: number | undefined; max?: number | undefined }>
    | undefined;
}) {
  return {
    window: args.window,
    thresholds: {
      ...(args.minSuccessRate !== undefined ? { minSuccessRate: args.minSuccessRate } : {}),
      ...(args.maxLatencyP99Ms !== undefined ? { maxLatencyP99Ms: args.maxLatencyP99Ms } : {}),
      ...(args.minRequests !== undefined ? { minRequests: args.minRequests } : {}),
    },
    ...(args.metrics
      ? {
          metrics: args.metrics.map((m) => ({
            name: m.name,
            query: m.query,
            ...(m.min !== undefined ? { min: m.min } : {}),
            ...(m.max !== undefined ? { max: m.max } : {}),
          })),
        }
      : {}),
  };
}

const analyze = defineTool({
  name: 'canary_analyze',
  title: 'Canaries: Analyze',
  description:
    "Judge a canary against its stable version over a window: success rate and p99 latency from Linkerd's proxy metrics (response_total, response_latency_ms_bucket) in Prometheus, plus optional metric templates with thresholds. Returns pass, fail or inconclusive (too little traffic, no data) with every number and the PromQL behind it. Call this before shifting more traffic to a canary.",
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg,
    name: nameArg.describe('Name of the route, TrafficSplit or Flagger Canary'),
    kind: kindArg,
    ...analysisArgs,
  }),
  output: z.object({
    verdict: z.enum(['pass', 'fail', 'inconclusive']),
    reason: z.string(),
    canary: z.string(),
    stable: z.string().optional(),
    window: z.string(),
    requests: z.number().optional(),
    checks: z.array(
      z.object({
        name: z.string(),
        query: z.string(),
        value: z.number().optional(),
        stable: z.number().optional(),
        min: z.number().optional(),
        max: z.number().optional(),
        result: z.string(),
      }),
    ),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  permission: readPermission,
  alsoNeeds: metricTemplateNeeds,
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    // Fails before any cluster read when no Prometheus serves this cluster.
    ctx.backends.prometheus.pick(args.cluster);
    const found = await findCanary(cluster, args.namespace, args.name, args.kind, ctx.signal);
    const { result } = await analyseFor(
      ctx,
      args.cluster,
      cluster,
      found,
      args.stable,
      analysisOptions(args),
    );
    const a = result!;
    return {
      kind: 'doc',
      status: a.verdict === 'inconclusive' && a.requests === undefined ? 'no_data' : 'success',
      text: analysisLines(a).join('\n'),
      structured: {
        verdict: a.verdict,
        reason: a.reason,
        canary: a.canary,
        ...(a.stable ? { stable: a.stable } : {}),
        window: a.window,
        ...(a.requests !== undefined ? { requests: a.requests } : {}),
        checks: a.checks.map((c) => ({ ...c })),
      },
    };
  },
});

export const analyzeTools: ToolDef[] = [analyze];
