import { z } from 'zod';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  clusterArg,
  formatLabels,
  type Labels,
  matchArg,
  promApi,
  readAnnotations,
  readPermission,
} from './common.js';
import { durationArg, formatDuration, parseDuration } from './time.js';

const lookbackArg = durationArg
  .default('1h')
  .describe(
    'Only series with samples in this window ending now (default 1h); larger windows cost Prometheus more',
  );

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const limitArg = z
  .number()
  .int()
  .min(1)
  .max(10_000)
  .default(500)
  .describe('List at most this many (default 500); totals stay exact');

function limited(n: number, limit: number): string {
  return n > limit ? ` Listing the first ${limit} (limit).` : '';
}

function window(lookback: string): { start: number; end: number } {
  const end = Date.now() / 1000;
  return { start: end - parseDuration(lookback)!, end };
}

function topCounts(counts: Map<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(
    [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n),
  );
}

interface SeriesRow {
  labels: Labels;
  shown: string;
}

const metricsSeries = defineTool({
  name: 'metrics_series',
  title: 'Metrics: Series',
  description:
    'Find the time series that match selectors (Prometheus /api/v1/series), e.g. which label sets http_requests_total has in a namespace, before writing a query. Gives exact counts, per metric name, of everything that matched, and the series themselves sorted by name.',
  input: z.object({
    cluster: clusterArg,
    match: matchArg,
    lookback: lookbackArg,
    limit: limitArg,
  }),
  output: listOutput({
    total: z.number(),
    byMetric: z.record(z.string(), z.number()).describe('series per metric name, the 20 largest'),
    metricNames: z.number(),
    lookback: z.string(),
    items: z.array(z.object({ labels: z.record(z.string(), z.string()) })),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const { data } = await promApi<Labels[]>(
      prom,
      'api/v1/series',
      { 'match[]': args.match, ...window(args.lookback) },
      ctx.signal,
    );
    const byMetric = new Map<string, number>();
    for (const s of data) byMetric.set(s.__name__ ?? '', (byMetric.get(s.__name__ ?? '') ?? 0) + 1);
    const rows: SeriesRow[] = data
      .map((labels) => ({ labels, shown: formatLabels(labels) }))
      .sort((a, b) => a.shown.localeCompare(b.shown));
    const top = topCounts(byMetric, 20);
    return {
      kind: 'list',
      header:
        rows.length === 0
          ? `No series match ${args.match.join(', ')} in the last ${args.lookback} in ${prom.label}.`
          : `${rows.length} series of ${byMetric.size} metric name(s) match in the last ${args.lookback} (${prom.label}): ${Object.entries(
              top,
            )
              .map(([k, v]) => `${k || '(no name)'} ${v}`)
              .join(', ')}.${limited(rows.length, args.limit)}`,
      columns: ['SERIES'],
      items: rows.slice(0, args.limit),
      row: (r: SeriesRow) => [r.shown],
      toStructured: (r: SeriesRow) => ({ labels: r.labels }),
      narrow: 'add label matchers to the selectors, or shorten the lookback',
      totals: { total: rows.length, byMetric: top, metricNames: byMetric.size, lookback: args.lookback },
    };
  },
});

const metricsLabels = defineTool({
  name: 'metrics_labels',
  title: 'Metrics: Labels',
  description:
    'List the label names Prometheus has (optionally only on series matching selectors), to learn how metrics are labelled (namespace? pod? deployment? code or status?) before writing PromQL.',
  input: z.object({
    cluster: clusterArg,
    match: matchArg.optional(),
    lookback: lookbackArg,
  }),
  output: listOutput({
    total: z.number(),
    lookback: z.string(),
    items: z.array(z.object({ name: z.string() })),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const { data } = await promApi<string[]>(
      prom,
      'api/v1/labels',
      { ...(args.match ? { 'match[]': args.match } : {}), ...window(args.lookback) },
      ctx.signal,
    );
    const names = [...data].sort();
    return {
      kind: 'list',
      header: `${names.length} label names${args.match ? ` on series matching ${args.match.join(', ')}` : ''} in the last ${args.lookback} (${prom.label}).`,
      columns: ['LABEL'],
      items: names,
      row: (n: string) => [n],
      toStructured: (n: string) => ({ name: n }),
      narrow: 'give match selectors',
      totals: { total: names.length, lookback: args.lookback },
    };
  },
});

const metricsLabelValues = defineTool({
  name: 'metrics_label_values',
  title: 'Metrics: Label values',
  description:
    'List the values of one label (Prometheus /api/v1/label/<name>/values), optionally only on series matching selectors and containing some text. Use label "__name__" to list metric names (e.g. contains "http" finds the HTTP metrics), "namespace" for namespaces, "job" for scrape jobs.',
  input: z.object({
    cluster: clusterArg,
    label: z
      .string()
      .regex(
        LABEL_NAME,
        'must be a Prometheus label name (letters, digits and _), e.g. namespace or __name__',
      ),
    match: matchArg.optional(),
    contains: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Keep only values containing this text (case-insensitive)'),
    lookback: lookbackArg,
    limit: limitArg,
  }),
  output: listOutput({
    label: z.string(),
    total: z.number().describe('values that matched, after contains'),
    unfiltered: z.number().describe('values before contains'),
    lookback: z.string(),
    items: z.array(z.object({ value: z.string() })),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const { data } = await promApi<string[]>(
      prom,
      `api/v1/label/${encodeURIComponent(args.label)}/values`,
      { ...(args.match ? { 'match[]': args.match } : {}), ...window(args.lookback) },
      ctx.signal,
    );
    const needle = args.contains?.toLowerCase();
    const values = data.filter((v) => !needle || v.toLowerCase().includes(needle)).sort();
    return {
      kind: 'list',
      header: `${values.length} values of label '${args.label}'${needle ? ` containing '${args.contains}' (of ${data.length})` : ''}${args.match ? ` on series matching ${args.match.join(', ')}` : ''} in the last ${args.lookback} (${prom.label}).${limited(values.length, args.limit)}`,
      columns: ['VALUE'],
      items: values.slice(0, args.limit),
      row: (v: string) => [v],
      toStructured: (v: string) => ({ value: v }),
      narrow: 'give contains or match selectors',
      totals: { label: args.label, total: values.length, unfiltered: data.length, lookback: args.lookback },
    };
  },
});

interface PromTarget {
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
}

const HEALTH_ORDER = { down: 0, unknown: 1, up: 2 } as const;

const targetsList = defineTool({
  name: 'targets_list',
  title: 'Targets: List',
  description:
    'List Prometheus scrape targets with their health, down ones first with the last scrape error ("connection refused", "context deadline exceeded"), and exact counts per health and job. Call it when metrics are missing or stale, or to check that an exporter is being scraped.',
  input: z.object({
    cluster: clusterArg,
    job: z.string().min(1).optional().describe('Only this scrape job (scrape pool)'),
    health: z.enum(['up', 'down', 'unknown']).optional().describe('Only targets in this health'),
  }),
  output: listOutput({
    total: z.number(),
    byHealth: z.record(z.string(), z.number()),
    downByJob: z.record(z.string(), z.number()),
    dropped: z.number().describe('targets discovered but dropped by relabelling'),
    items: z.array(
      z.object({
        job: z.string(),
        instance: z.string(),
        health: z.string(),
        lastScrape: z.string(),
        lastScrapeSeconds: z.number(),
        lastError: z.string().optional(),
        url: z.string(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const { data } = await promApi<{ activeTargets: PromTarget[]; droppedTargets?: unknown[] }>(
      prom,
      'api/v1/targets',
      {},
      ctx.signal,
    );
    const all = data.activeTargets.filter((t) => !args.job || t.scrapePool === args.job);
    const targets = all
      .filter((t) => !args.health || t.health === args.health)
      .sort(
        (a, b) =>
          HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] ||
          a.scrapePool.localeCompare(b.scrapePool) ||
          (a.labels.instance ?? '').localeCompare(b.labels.instance ?? ''),
      );
    const byHealth: Record<string, number> = {};
    const downByJob: Record<string, number> = {};
    for (const t of all) {
      byHealth[t.health] = (byHealth[t.health] ?? 0) + 1;
      if (t.health === 'down') downByJob[t.scrapePool] = (downByJob[t.scrapePool] ?? 0) + 1;
    }
    const now = Date.now();
    const ago = (iso: string) => {
      const ms = now - Date.parse(iso);
      return Number.isFinite(ms) && ms >= 0 ? `${formatDuration(ms / 1000)} ago` : 'never';
    };
    const down = byHealth.down ?? 0;
    return {
      kind: 'list',
      header: `${all.length} targets${args.job ? ` in job '${args.job}'` : ''} (${prom.label}): ${Object.entries(
        byHealth,
      )
        .map(([h, n]) => `${n} ${h}`)
        .join(', ')}${
        down
          ? `; down by job: ${Object.entries(downByJob)
              .map(([j, n]) => `${j} ${n}`)
              .join(', ')}`
          : ''
      }.${data.droppedTargets?.length ? ` ${data.droppedTargets.length} discovered targets are dropped by relabelling.` : ''}`,
      columns: ['HEALTH', 'JOB', 'INSTANCE', 'LAST SCRAPE', 'TOOK', 'LAST ERROR'],
      items: targets,
      row: (t: PromTarget) => [
        t.health,
        t.scrapePool,
        t.labels.instance ?? '',
        ago(t.lastScrape),
        `${Math.round(t.lastScrapeDuration * 1000)}ms`,
        t.lastError.length > 120 ? `${t.lastError.slice(0, 119)}…` : t.lastError,
      ],
      toStructured: (t: PromTarget) => ({
        job: t.scrapePool,
        instance: t.labels.instance ?? '',
        health: t.health,
        lastScrape: t.lastScrape,
        lastScrapeSeconds: t.lastScrapeDuration,
        ...(t.lastError ? { lastError: t.lastError } : {}),
        url: t.scrapeUrl,
      }),
      narrow: 'give job, or health "down"',
      totals: { total: all.length, byHealth, downByJob, dropped: data.droppedTargets?.length ?? 0 },
    };
  },
});

export const discoveryTools: ToolDef[] = [metricsSeries, metricsLabels, metricsLabelValues, targetsList];
