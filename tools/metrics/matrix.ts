/**
 * A range result (a matrix) reduced for the model: exact totals, the overall picture, the most
 * relevant series with min/avg/max/last, trend and spikes, then as much of the raw data as fits
 * the budget in structuredContent — at full resolution when it fits, else downsampled, and it
 * says which.
 */
import { renderLineChart } from '../charts/line-chart.js';
import { renderTable } from '../core/shaping.js';
import type { DocOutput } from '../core/types.js';
import {
  commonLabels,
  formatLabels,
  jsonValue,
  type Labels,
  num,
  type PromMatrixSeries,
  sampleValue,
} from './common.js';
import type { ColumnSeries } from './matrix-parse.js';
import {
  byRelevance,
  downsample,
  outlierSeries,
  type Point,
  type Samples,
  type SeriesStats,
  seriesStats,
} from './summarise.js';
import { formatDuration, isoTime } from './time.js';

/** A range answer aims at this many tokens (or the configured budget, when smaller). */
export const RANGE_ANSWER_TOKENS = 3500;
const CHARS_PER_TOKEN = 4;
const LABEL_CHARS = 90;

/** A JSON.parse'd matrix as columns. */
export function toColumns(series: PromMatrixSeries[]): ColumnSeries[] {
  return series.map((s) => ({
    metric: s.metric,
    t: Float64Array.from(s.values, (p) => p[0]),
    v: Float64Array.from(s.values, (p) => sampleValue(p[1])),
  }));
}

export interface MatrixInput {
  series: ColumnSeries[];
  query: string;
  source: string;
  /** The requested window; for a range-vector instant query, taken from the data. */
  window?: { start: number; end: number; step: number };
  warnings: string[];
  maxTokens?: number;
  /** Draw the top `top` series as a PNG. */
  chart?: { top: number };
}

interface Row {
  labels: Labels;
  shown: string;
  samples: Samples;
  stats: SeriesStats;
  outlier?: 'high' | 'low';
}

const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);

function clipLabel(s: string): string {
  return s.length > LABEL_CHARS ? `${s.slice(0, LABEL_CHARS - 1)}…` : s;
}

function when(t: number, sameDay: boolean): string {
  const iso = isoTime(t);
  return sameDay ? `${iso.slice(11)}` : iso;
}

function trendText(s: SeriesStats): string {
  if (s.trend === 'flat') return 'flat';
  return `${s.trend} ${s.slopePerHour > 0 ? '+' : ''}${num(s.slopePerHour)}/h`;
}

function notes(r: Row, sameDay: boolean): string {
  const out: string[] = [];
  if (r.outlier) out.push(`outlier (${r.outlier} vs other series)`);
  const top = r.stats.spikes[0];
  if (top) {
    out.push(
      `spike ${num(top.value)} at ${when(top.at, sameDay)} (typical ${num(top.typical)})${r.stats.spikeCount > 1 ? ` +${r.stats.spikeCount - 1} more` : ''}`,
    );
  }
  if (r.stats.nonFinite) out.push(`${r.stats.nonFinite} NaN/Inf points`);
  return out.join('; ');
}

function structuredStats(r: Row): Record<string, unknown> {
  const s = r.stats;
  return {
    labels: r.labels,
    points: s.points,
    min: jsonValue(round(s.min)),
    avg: jsonValue(round(s.avg)),
    max: jsonValue(round(s.max)),
    last: jsonValue(round(s.last)),
    lastAt: s.lastAt,
    trend: s.trend,
    slopePerHour: round(s.slopePerHour),
    spikeCount: s.spikeCount,
    ...(s.spikes.length ? { spikes: s.spikes.map((k) => ({ at: k.at, value: round(k.value) })) } : {}),
    ...(r.outlier ? { outlier: r.outlier } : {}),
    ...(s.nonFinite ? { nonFinite: s.nonFinite } : {}),
  };
}

const size = (v: unknown) => JSON.stringify(v).length;

/** Fills structuredContent within `budget` characters: stats first, then values of the top series. */
function structuredWithin(
  base: Record<string, unknown>,
  rows: Row[],
  budget: number,
): Record<string, unknown> {
  const series: Record<string, unknown>[] = [];
  let used = size(base) + 200;
  const statsBudget = Math.max(used + 400, budget * 0.55);
  for (const r of rows) {
    const entry = structuredStats(r);
    const cost = size(entry) + 1;
    if (series.length > 0 && used + cost > statsBudget) break;
    series.push(entry);
    used += cost;
  }
  const raw = (r: Row) => Array.from(r.samples.t, (t, i) => [t, jsonValue(r.samples.v[i]!)]);
  let included = 0;
  let resolution = 'raw';
  for (let i = 0; i < series.length; i++) {
    const values = raw(rows[i]!);
    const cost = size(values) + 10;
    if (used + cost > budget) break;
    series[i]!.values = values;
    used += cost;
    included++;
  }
  if (included === 0 && series.length > 0) {
    // Not even one series fits at full resolution: downsample the top few to what does fit.
    const perPoint = size(raw(rows[0]!)) / Math.max(1, rows[0]!.samples.t.length) + 1;
    let k = Math.min(5, series.length);
    let m = Math.floor((budget - used) / (k * perPoint));
    while (m < 30 && k > 1) m = Math.floor((budget - used) / (--k * perPoint));
    if (m >= 3) {
      for (let i = 0; i < k; i++) {
        series[i]!.values = downsample(rows[i]!.samples, m).map(([t, v]) => [t, jsonValue(round(v))]);
      }
      included = k;
      resolution = `downsampled to at most ${m} points per series (largest-triangle-three-buckets, peaks kept)`;
    }
  }
  const total = rows.length;
  const cut = series.length < total || included < total;
  return {
    ...base,
    series,
    seriesWithStats: series.length,
    seriesWithValues: included,
    valuesResolution: resolution,
    ...(cut
      ? {
          note: `structuredContent is shaped to the token budget: stats for ${series.length} of ${total} series and values for ${included} (${resolution}), most relevant first; narrow the query (label filters, topk, sum by) for more`,
        }
      : {}),
  };
}

export async function summariseMatrix(input: MatrixInput): Promise<DocOutput> {
  const budgetChars = Math.min(input.maxTokens ?? RANGE_ANSWER_TOKENS, RANGE_ANSWER_TOKENS) * CHARS_PER_TOKEN;
  const labelsOf = input.series.map((s) => s.metric);
  const common = commonLabels(labelsOf);
  const omit = new Set(Object.keys(common));
  let rows: Row[] = input.series.map((s) => {
    const samples = { t: s.t, v: s.v };
    return {
      labels: s.metric,
      shown: clipLabel(formatLabels(s.metric, omit)),
      samples,
      stats: seriesStats(samples),
    };
  });
  const outliers = outlierSeries(rows.map((r) => r.stats.avg));
  rows.forEach((r, i) => {
    const o = outliers.get(i);
    if (o) r.outlier = o;
  });
  rows = rows.sort((a, b) => byRelevance(a.stats, b.stats));

  const allTimes = rows.flatMap((r) => {
    const t = r.samples.t;
    return t.length ? [t[0]!, t[t.length - 1]!] : [];
  });
  const start = input.window?.start ?? Math.min(...allTimes);
  const end = input.window?.end ?? Math.max(...allTimes);
  const sameDay = isoTime(start).slice(0, 10) === isoTime(end).slice(0, 10);
  const pointsTotal = rows.reduce((n, r) => n + r.samples.t.length, 0);
  const trends = { rising: 0, falling: 0, flat: 0 };
  for (const r of rows) trends[r.stats.trend]++;
  const withSpikes = rows.filter((r) => r.stats.spikeCount > 0).length;
  const lasts = rows.map((r) => r.stats.last).filter(Number.isFinite);
  const stepText = input.window ? `step ${formatDuration(input.window.step)}, ` : '';

  const lines: string[] = [];
  if (rows.length === 0) {
    lines.push(
      `No series: the query matched no data between ${isoTime(start)} and ${isoTime(end)} in ${input.source}. Check the metric name and labels with metrics_series or metrics_label_values.`,
    );
  } else {
    const maxPoints = Math.max(...rows.map((r) => r.samples.t.length));
    lines.push(
      `${rows.length} series, ${pointsTotal} points (up to ${maxPoints} per series; ${stepText}${isoTime(start)} → ${isoTime(end)}, ${formatDuration(end - start)}) from ${input.source}.`,
    );
    if (omit.size) lines.push(`Labels on every series: ${formatLabels(common)}`);
    if (lasts.length) {
      const sum = lasts.reduce((a, b) => a + b, 0);
      lines.push(
        `Last values ${num(Math.min(...lasts))} to ${num(Math.max(...lasts))} (sum ${num(sum)}). Trends: ${trends.rising} rising, ${trends.falling} falling, ${trends.flat} flat. Spikes in ${withSpikes} series.${outliers.size ? ` ${outliers.size} series stand out from the others.` : ''}`,
      );
    }
  }
  for (const w of input.warnings) lines.push(`Prometheus warning: ${w}`);

  const columns = ['SERIES', 'MIN', 'AVG', 'MAX', 'LAST', 'TREND', 'NOTES'];
  const cells = (r: Row) => [
    r.shown,
    num(r.stats.min),
    num(r.stats.avg),
    num(r.stats.max),
    num(r.stats.last),
    trendText(r.stats),
    notes(r, sameDay),
  ];
  const textBudget = budgetChars * 0.42;
  let used = lines.join('\n').length + 300;
  const shown: string[][] = [];
  for (const r of rows) {
    const c = cells(r);
    const cost = c.join('  ').length + 12;
    if (used + cost > textBudget) break;
    shown.push(c);
    used += cost;
  }
  if (shown.length) {
    lines.push(
      '',
      'Most relevant first (highest last value, then max); trend is the fitted change per hour:',
    );
    lines.push(...renderTable(columns, shown));
  }

  const base = {
    query: input.query,
    start: isoTime(start),
    end: isoTime(end),
    ...(input.window ? { stepSeconds: input.window.step } : {}),
    seriesTotal: rows.length,
    pointsTotal,
    commonLabels: common,
    trends,
    seriesWithSpikes: withSpikes,
    outlierSeries: outliers.size,
    ...(input.warnings.length ? { warnings: input.warnings } : {}),
  };
  const structured = structuredWithin(
    base,
    rows.map((r) => ({
      ...r,
      labels: Object.fromEntries(Object.entries(r.labels).filter(([k]) => !omit.has(k))),
    })),
    budgetChars * 0.5,
  );
  if (shown.length < rows.length) {
    lines.push(
      '',
      `… ${rows.length - shown.length} more series not listed (${shown.length} of ${rows.length} shown). structuredContent has stats for ${structured.seriesWithStats} and values for ${structured.seriesWithValues}. To narrow: filter labels, or aggregate (sum by, topk).`,
    );
  }

  const images = [];
  if (input.chart && rows.length) {
    const top = rows.slice(0, input.chart.top);
    const image = await renderLineChart({
      title: input.query,
      series: top.map((r) => ({
        label: r.shown,
        points: Array.from(r.samples.t, (t, i): Point => [t, r.samples.v[i]!]),
      })),
      ...(input.window ? { step: input.window.step } : {}),
      yLabel: labelsOf[0]?.__name__ ?? 'value',
      format: num,
    });
    images.push({ data: image.data, mimeType: image.mimeType });
    lines.push('', `Chart: the top ${top.length} of ${rows.length} series, attached as a PNG image.`);
  }
  return {
    kind: 'doc',
    status: rows.length ? 'success' : 'no_data',
    text: lines.join('\n'),
    structured,
    ...(images.length ? { images } : {}),
  };
}
