import type { LokiSeries } from './client.js';
import { fmtLabels, fmtNumber, fmtTime, plural, sparkline } from './common.js';

export interface SeriesStats {
  labels: Record<string, string>;
  points: number;
  min: number;
  avg: number;
  max: number;
  last: number;
  lastAt: string;
}

const MAX_TEXT_SERIES = 20;
const MAX_STRUCTURED_SERIES = 50;
const SPARK_POINTS = 24;

/** Averages of `values` over `n` equal time buckets of [start, end]; empty buckets are 0. */
function resample(values: Array<[number, number]>, start: number, end: number, n: number): number[] {
  const sums = new Array<number>(n).fill(0);
  const counts = new Array<number>(n).fill(0);
  const width = Math.max((end - start) / n, 1e-9);
  for (const [t, v] of values) {
    const i = Math.min(n - 1, Math.max(0, Math.floor((t - start) / width)));
    sums[i]! += v;
    counts[i]!++;
  }
  return sums.map((s, i) => (counts[i] ? s / counts[i]! : 0));
}

/** A matrix (metric range query) as per-series min/avg/max/last with a sparkline, largest first. */
export function summariseMatrix(result: LokiSeries[], window: { startMs: number; endMs: number }) {
  const series = result.map((s) => {
    const values = (s.values ?? []).map(([t, v]) => [Number(t), Number(v)] as [number, number]);
    const nums = values.map(([, v]) => v);
    const last = values.at(-1);
    return {
      stats: {
        labels: s.metric,
        points: values.length,
        min: nums.length ? Math.min(...nums) : 0,
        avg: nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : 0,
        max: nums.length ? Math.max(...nums) : 0,
        last: last?.[1] ?? 0,
        lastAt: last ? new Date(last[0] * 1000).toISOString() : '',
      } satisfies SeriesStats,
      values,
    };
  });
  series.sort((a, b) => b.stats.max - a.stats.max || b.stats.last - a.stats.last);
  const points = series.reduce((n, s) => n + s.stats.points, 0);
  const start = window.startMs / 1000;
  const end = window.endMs / 1000;
  // One bucket per step when there are few steps, so a sparse series does not look patchy.
  let step = Number.POSITIVE_INFINITY;
  for (const { values } of series) {
    for (let i = 1; i < values.length; i++) step = Math.min(step, values[i]![0] - values[i - 1]![0]);
  }
  const buckets =
    Number.isFinite(step) && step > 0
      ? Math.min(SPARK_POINTS, Math.floor((end - start) / step) + 1)
      : SPARK_POINTS;
  const withDate = window.endMs - window.startMs > 86_400_000;
  const lines = [
    `${plural(series.length, 'series', 'series')}, ${plural(points, 'point')} from ${fmtTime(window.startMs, withDate)} to ${fmtTime(window.endMs, withDate)}; largest first (by max). Sparklines: ${buckets} equal time buckets each, · where the series had no samples.`,
  ];
  for (const { stats: s, values } of series.slice(0, MAX_TEXT_SERIES)) {
    lines.push(
      `${fmtLabels(s.labels)}: min ${fmtNumber(s.min)}, avg ${fmtNumber(s.avg)}, max ${fmtNumber(s.max)}, last ${fmtNumber(s.last)} (${s.points} points) ${sparkline(resample(values, start, end, buckets))}`,
    );
  }
  if (series.length > MAX_TEXT_SERIES)
    lines.push(`… ${series.length - MAX_TEXT_SERIES} more series with smaller maxima`);
  return {
    text: lines.join('\n'),
    structured: {
      resultType: 'matrix' as const,
      seriesTotal: series.length,
      points,
      series: series.slice(0, MAX_STRUCTURED_SERIES).map((s) => s.stats),
      seriesOmitted: Math.max(0, series.length - MAX_STRUCTURED_SERIES),
    },
  };
}

/** A vector (instant metric query) as label sets and values, largest first. */
export function summariseVector(result: LokiSeries[]) {
  const rows = result
    .map((s) => ({
      labels: s.metric,
      value: Number(s.value?.[1] ?? Number.NaN),
      at: Number(s.value?.[0] ?? 0),
    }))
    .sort((a, b) => b.value - a.value);
  const total = rows.reduce((n, r) => n + (Number.isFinite(r.value) ? r.value : 0), 0);
  const at = rows[0] ? new Date(rows[0].at * 1000).toISOString() : undefined;
  const lines = [
    `${plural(rows.length, 'series', 'series')}${at ? ` at ${at}` : ''}; values add up to ${fmtNumber(total)}. Largest first:`,
    ...rows
      .slice(0, MAX_TEXT_SERIES * 2)
      .map((r) => `${fmtNumber(r.value).padStart(10)}  ${fmtLabels(r.labels)}`),
  ];
  if (rows.length > MAX_TEXT_SERIES * 2) lines.push(`… ${rows.length - MAX_TEXT_SERIES * 2} more series`);
  return {
    text: lines.join('\n'),
    structured: {
      resultType: 'vector' as const,
      seriesTotal: rows.length,
      sum: total,
      ...(at ? { at } : {}),
      series: rows.slice(0, MAX_STRUCTURED_SERIES).map((r) => ({ labels: r.labels, value: r.value })),
      seriesOmitted: Math.max(0, rows.length - MAX_STRUCTURED_SERIES),
    },
  };
}
