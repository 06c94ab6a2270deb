import { z } from 'zod';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  clusterArg,
  commonLabels,
  formatLabels,
  jsonValue,
  type Labels,
  num,
  type PromQueryData,
  parseEnvelope,
  promApi,
  promBody,
  promqlArg,
  readAnnotations,
  readPermission,
  sampleValue,
} from './common.js';
import { summariseMatrix, toColumns } from './matrix.js';
import { readMatrix } from './matrix-parse.js';
import { checkRange, durationArg, isoTime, parseTime, resolveRange, timeArg } from './time.js';

const chartArgs = {
  chart: z
    .boolean()
    .default(false)
    .describe('Also return a PNG line chart of the top series (MCP image content); for people in chat'),
  chartSeries: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(6)
    .describe('How many series the chart draws (default 6)'),
};

const seriesStatsSchema = z.object({
  labels: z
    .record(z.string(), z.string())
    .describe('labels that differ between series (commonLabels has the rest)'),
  points: z.number(),
  min: z.union([z.number(), z.string()]),
  avg: z.union([z.number(), z.string()]),
  max: z.union([z.number(), z.string()]),
  last: z.union([z.number(), z.string()]),
  lastAt: z.number(),
  trend: z.enum(['rising', 'falling', 'flat']),
  slopePerHour: z.number(),
  spikeCount: z.number(),
  spikes: z.array(z.object({ at: z.number(), value: z.number() })).optional(),
  outlier: z.enum(['high', 'low']).optional(),
  nonFinite: z.number().optional(),
  values: z
    // pairs as plain arrays: a JSON Schema tuple (prefixItems) is not understood by draft-07 validators
    .array(
      z
        .array(z.union([z.number(), z.string()]))
        .min(2)
        .max(2),
    )
    .optional()
    .describe('[unix seconds, value] pairs; see valuesResolution'),
});

const matrixSchema = z.object({
  query: z.string(),
  start: z.string(),
  end: z.string(),
  stepSeconds: z.number().optional(),
  seriesTotal: z.number(),
  pointsTotal: z.number(),
  commonLabels: z.record(z.string(), z.string()),
  trends: z.object({ rising: z.number(), falling: z.number(), flat: z.number() }),
  seriesWithSpikes: z.number(),
  outlierSeries: z.number(),
  warnings: z.array(z.string()).optional(),
  series: z.array(seriesStatsSchema),
  seriesWithStats: z.number(),
  seriesWithValues: z.number(),
  valuesResolution: z.string(),
  note: z.string().optional(),
});

const promqlRange = defineTool({
  name: 'promql_query_range',
  title: 'PromQL: Query range',
  description:
    'Run a PromQL expression over a time window (Prometheus query_range) and get each series summarised: min, avg, max, last, trend (rising/falling/flat with the change per hour) and spikes, series that stand out from the rest, most relevant (highest) first, with exact totals. Use it for "how did X behave over the last hour", before/after comparisons and finding the odd pod. Give lookback ("1h", the default) or start/end (RFC3339 or unix seconds); the step defaults to keep about 300 points per series. Set chart=true to also get a PNG line chart for a person.',
  input: z
    .object({
      cluster: clusterArg,
      query: promqlArg.describe(
        'PromQL expression, e.g. sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="payments"}[5m]))',
      ),
      lookback: durationArg
        .optional()
        .describe('Window ending at end (default now): 15m, 1h, 6h, 2d. Default 1h'),
      start: timeArg.optional().describe('Window start: RFC3339 or unix seconds (instead of lookback)'),
      end: timeArg.optional().describe('Window end: RFC3339 or unix seconds; default now'),
      step: durationArg
        .optional()
        .describe('Resolution, e.g. 30s or 5m; default keeps about 300 points per series'),
      ...chartArgs,
    })
    .superRefine(checkRange),
  output: matrixSchema,
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const window = resolveRange(args);
    const body = await promBody(
      prom,
      'api/v1/query_range',
      { query: args.query, start: window.start, end: window.end, step: window.step },
      ctx.signal,
    );
    // The fast reader takes Prometheus' usual compact form; anything else goes through JSON.parse.
    let answer = readMatrix(body);
    if (!answer) {
      const { data, warnings } = parseEnvelope<PromQueryData>(prom, body);
      answer = { series: data.resultType === 'matrix' ? toColumns(data.result) : [], warnings };
    }
    const { warnings } = answer;
    return summariseMatrix({
      series: answer.series,
      query: args.query,
      source: prom.label,
      window,
      warnings,
      ...(ctx.maxTokens ? { maxTokens: ctx.maxTokens } : {}),
      ...(args.chart ? { chart: { top: args.chartSeries } } : {}),
    });
  },
});

interface VectorRow {
  labels: Labels;
  shown: string;
  value: number;
  at: number;
}

const promqlQuery = defineTool({
  name: 'promql_query',
  title: 'PromQL: Query',
  description:
    'Evaluate a PromQL expression at one instant (now, or the given time) and get the resulting series sorted by value, highest first, with exact totals (count, sum, min, max). Use it for current values: "which pods use the most memory", "is the error rate above 1% now", "up == 0". A range-vector expression (metric[5m]) is summarised like promql_query_range. A syntax error comes back with Prometheus\'s own message.',
  input: z.object({
    cluster: clusterArg,
    query: promqlArg.describe(
      'PromQL expression, e.g. topk(10, sum by (pod) (container_memory_working_set_bytes{namespace="payments"}))',
    ),
    time: timeArg.optional().describe('Evaluation time: RFC3339 or unix seconds; default now'),
  }),
  output: listOutput({
    query: z.string(),
    resultType: z.enum(['vector', 'scalar', 'string', 'matrix']),
    time: z.string(),
    total: z.number(),
    sum: z.number().optional(),
    min: z.union([z.number(), z.string()]).optional(),
    max: z.union([z.number(), z.string()]).optional(),
    commonLabels: z.record(z.string(), z.string()),
    warnings: z.array(z.string()).optional(),
    items: z.array(
      z.object({
        labels: z.record(z.string(), z.string()).describe('labels that differ between series'),
        value: z.union([z.number(), z.string()]),
      }),
    ),
    matrix: matrixSchema
      .optional()
      .describe(
        'for a range-vector expression (metric[5m]): its series summarised as promql_query_range does',
      ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const { data, warnings } = await promApi<PromQueryData>(
      prom,
      'api/v1/query',
      { query: args.query, ...(args.time !== undefined ? { time: parseTime(args.time) } : {}) },
      ctx.signal,
    );
    if (data.resultType === 'matrix') {
      const summary = await summariseMatrix({
        series: toColumns(data.result),
        query: args.query,
        source: prom.label,
        warnings,
        ...(ctx.maxTokens ? { maxTokens: ctx.maxTokens } : {}),
      });
      const matrix = summary.structured!;
      return {
        ...summary,
        structured: {
          query: args.query,
          resultType: 'matrix',
          time: String(matrix.end),
          total: data.result.length,
          commonLabels: matrix.commonLabels,
          items: [],
          shown: 0,
          omitted: 0,
          matrix,
        },
      };
    }
    const samples =
      data.resultType === 'vector'
        ? data.result.map((s) => ({ metric: s.metric, value: s.value }))
        : [{ metric: {}, value: data.result }];
    const common = commonLabels(samples.map((s) => s.metric));
    const omit = new Set(Object.keys(common));
    const rows: VectorRow[] = samples
      .map((s) => ({
        labels: Object.fromEntries(Object.entries(s.metric).filter(([k]) => !omit.has(k))),
        shown: formatLabels(s.metric, omit),
        value: data.resultType === 'string' ? Number.NaN : sampleValue(s.value[1]),
        at: s.value[0],
      }))
      .sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : b.value - a.value));
    const finite = rows.map((r) => r.value).filter(Number.isFinite);
    const evalTime = isoTime(rows[0]?.at ?? parseTime(args.time ?? Date.now() / 1000)!);
    const stats = finite.length
      ? {
          sum: Number(finite.reduce((a, b) => a + b, 0).toPrecision(12)),
          min: jsonValue(Math.min(...finite)),
          max: jsonValue(Math.max(...finite)),
        }
      : {};
    const header =
      data.resultType === 'string'
        ? `String result: ${data.result[1]}`
        : rows.length === 0
          ? `No series: ${args.query} returned an empty result at ${evalTime} in ${prom.label}. Check names and labels with metrics_series or metrics_label_values.`
          : `${rows.length} series at ${evalTime} from ${prom.label}${finite.length ? `: sum ${num(stats.sum!)}, min ${num(Math.min(...finite))}, max ${num(Math.max(...finite))}` : ''}. Highest first.${omit.size ? `\nLabels on every series: ${formatLabels(common)}` : ''}`;
    return {
      kind: 'list',
      status: rows.length ? 'success' : 'no_data',
      header: [header, ...warnings.map((w) => `Prometheus warning: ${w}`)].join('\n'),
      columns: ['SERIES', 'VALUE'],
      items: rows,
      row: (r: VectorRow) => [r.shown, num(r.value)],
      toStructured: (r: VectorRow) => ({ labels: r.labels, value: jsonValue(r.value) }),
      narrow: 'add label filters, or wrap the query in topk(10, …) or sum by (…)',
      totals: {
        query: args.query,
        resultType: data.resultType,
        time: evalTime,
        total: rows.length,
        ...stats,
        commonLabels: common,
        ...(warnings.length ? { warnings } : {}),
      },
    };
  },
});

export const queryTools: ToolDef[] = [promqlQuery, promqlRange];
