import { z } from 'zod';
import { defineTool, type ToolDef } from '../core/types.js';
import { answer, logqlOutput } from './answer.js';
import { type LokiQueryData, lokiGet, nanos } from './client.js';
import {
  clusterArg,
  DEFAULT_SINCE,
  limitArg,
  lookbackArg,
  readAnnotations,
  stepArg,
  TOOLSET,
  timestampArg,
  timeWindow,
} from './common.js';

export const queryArg = z
  .string()
  .trim()
  .min(3)
  .max(10_000)
  .refine(
    (q) => /[{]/.test(q),
    'must be LogQL with a stream selector, e.g. {namespace="payments"} |= "error"',
  );

const DEFAULT_LIMIT = 1000;

const logqlQueryRange = defineTool({
  name: 'logql_query_range',
  title: 'LogQL: Query Range',
  description:
    'Run a LogQL query over a time window in Loki. Log queries ({namespace="payments", app="api"} |= "timeout") come back reduced: exact line counts, error lines first, repeated lines clustered into patterns with counts, a time histogram and which pods the lines came from. Metric queries (sum by (level) (count_over_time({app="api"}[5m]))) come back as series with min, avg, max and last. Use logs_search instead if you do not want to write LogQL.',
  input: z.object({
    cluster: clusterArg,
    query: queryArg.describe('LogQL log or metric query'),
    since: lookbackArg
      .optional()
      .describe(`Window ending now (default ${DEFAULT_SINCE}), e.g. "15m", "6h", "2d"`),
    start: timestampArg.optional().describe('Window start (RFC 3339); overrides since'),
    end: timestampArg.optional().describe('Window end (RFC 3339); default now'),
    step: stepArg.optional(),
    limit: limitArg.optional(),
    direction: z
      .enum(['backward', 'forward'])
      .optional()
      .describe('backward (default): the newest lines when over the limit; forward: the oldest'),
  }),
  output: logqlOutput,
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { startMs, endMs } = timeWindow(
      { lookback: args.since, start: args.start, end: args.end },
      DEFAULT_SINCE,
    );
    const limit = args.limit ?? DEFAULT_LIMIT;
    const direction = args.direction ?? 'backward';
    const { data, backend } = await lokiGet<LokiQueryData>(ctx, args.cluster, 'loki/api/v1/query_range', {
      query: args.query,
      start: nanos(startMs),
      end: nanos(endMs),
      limit,
      direction,
      step: args.step,
    });
    return answer(data, { source: backend.label, query: args.query, startMs, endMs, limit, direction });
  },
});

const logqlQuery = defineTool({
  name: 'logql_query',
  title: 'LogQL: Query',
  description:
    'Evaluate a LogQL metric query (count_over_time, rate, bytes_over_time, sum by …) at one instant in Loki. Errors per pod over the last 15 minutes: sum by (pod) (count_over_time({namespace="payments"} |= "error" [15m])); which app logs most: sum by (app) (bytes_over_time({namespace="payments"}[1h])). Answers each series with its value, largest first. Loki refuses log-line queries here; use logql_query_range or logs_search for lines.',
  input: z.object({
    cluster: clusterArg,
    query: queryArg.describe('LogQL metric query (count_over_time, rate, bytes_over_time, sum by …)'),
    time: timestampArg.optional().describe('Evaluation time (RFC 3339); default now'),
  }),
  output: logqlOutput,
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const at = args.time ? Date.parse(args.time) : Date.now();
    const { data, backend } = await lokiGet<LokiQueryData>(ctx, args.cluster, 'loki/api/v1/query', {
      query: args.query,
      time: nanos(at),
      limit: DEFAULT_LIMIT,
    });
    return answer(data, {
      source: backend.label,
      query: args.query,
      startMs: at,
      endMs: at,
      limit: DEFAULT_LIMIT,
      direction: 'backward',
    });
  },
});

export const queryTools: ToolDef[] = [logqlQuery, logqlQueryRange];
