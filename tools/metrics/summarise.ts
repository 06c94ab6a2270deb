/**
 * What a senior SRE reads off a graph, computed: per series min, avg, max, last, the trend (least
 * squares slope, per hour) and spikes (points far from the series' own median, by a robust z-score
 * that a few spikes cannot inflate), and which series stand out against the others.
 */

/** [unix seconds, value] */
export type Point = [number, number];

export type Trend = 'rising' | 'falling' | 'flat';

export interface Spike {
  at: number;
  value: number;
  /** The series' median: what "normal" was. */
  typical: number;
}

export interface SeriesStats {
  /** Points with a finite value; NaN and infinities are counted apart. */
  points: number;
  nonFinite: number;
  min: number;
  avg: number;
  max: number;
  last: number;
  lastAt: number;
  trend: Trend;
  /** Least-squares slope in value units per hour. */
  slopePerHour: number;
  spikeCount: number;
  /** The largest spikes, largest first (at most 3). */
  spikes: Spike[];
}

/** Relative change over the window below which a series counts as flat. */
export const FLAT_FRACTION = 0.1;
/** Robust z-score above which a point is a spike. */
export const SPIKE_Z = 5;
/** Points a series' median and spread are estimated from. */
const SAMPLE = 250;
/** Robust z-score of a series' average among its peers above which the series is an outlier. */
export const OUTLIER_Z = 3.5;

export function median(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  return n % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median and a robust spread (1.4826 × MAD, falling back to the mean absolute deviation when MAD is 0). */
export function robustCentre(values: ArrayLike<number>): { median: number; scale: number } {
  // Typed arrays sort numerically and fast: this runs for every series of a large range result.
  const sorted = Float64Array.from(values).sort();
  const m = median(sorted);
  const deviations = new Float64Array(sorted.length);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) {
    deviations[i] = Math.abs(sorted[i]! - m);
    sum += deviations[i]!;
  }
  deviations.sort();
  let scale = 1.4826 * median(deviations);
  if (!(scale > 0)) scale = (1.2533 * sum) / Math.max(1, deviations.length);
  return { median: m, scale };
}

/** Least-squares slope of value against time, in units per hour. */
export function slopePerHour(points: Point[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const t0 = points[0]![0];
  let st = 0;
  let sv = 0;
  let stt = 0;
  let stv = 0;
  for (const [t, v] of points) {
    const h = (t - t0) / 3600;
    st += h;
    sv += v;
    stt += h * h;
    stv += h * v;
  }
  const den = stt - (st * st) / n;
  return den > 0 ? (stv - (st * sv) / n) / den : 0;
}

/**
 * Rising or falling when the fitted line moves by more than FLAT_FRACTION of the series' level
 * (its mean, or half its range when that is larger) over the window.
 */
export function trendOf(
  points: Point[],
  known?: { min: number; max: number; mean: number },
): { trend: Trend; slopePerHour: number } {
  const slope = slopePerHour(points);
  if (points.length < 3) return { trend: 'flat', slopePerHour: slope };
  let { min, max, mean } = known ?? { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, mean: 0 };
  if (!known) {
    for (const [, v] of points) {
      if (v < min) min = v;
      if (v > max) max = v;
      mean += v / points.length;
    }
  }
  const hours = (points.at(-1)![0] - points[0]![0]) / 3600;
  const level = Math.max(Math.abs(mean), (max - min) / 2);
  if (!(level > 0)) return { trend: 'flat', slopePerHour: 0 };
  const change = slope * hours;
  if (Math.abs(change) < FLAT_FRACTION * level) return { trend: 'flat', slopePerHour: slope };
  return { trend: change > 0 ? 'rising' : 'falling', slopePerHour: slope };
}

/**
 * Points whose robust z-score exceeds SPIKE_Z and that differ from the median by at least 10% of
 * it: a spike an operator would notice, not noise around a busy baseline.
 */
export function findSpikes(points: Point[]): { count: number; top: Spike[] } {
  if (points.length < 5) return { count: 0, top: [] };
  // The centre and spread of a long series are estimated from an even sample of it (sorting every
  // point of 500 series costs more than the rest of the summary); a flat series with a lone spike
  // has no spread in the sample, so it is measured in full.
  const n = points.length;
  const stride = Math.max(1, Math.floor(n / SAMPLE));
  const sample = new Float64Array(Math.ceil(n / stride));
  for (let i = 0, j = 0; i < n; i += stride, j++) sample[j] = points[i]![1];
  let { median: m, scale } = robustCentre(sample);
  if (!(scale > 0) && stride > 1) ({ median: m, scale } = robustCentre(points.map((p) => p[1])));
  if (!(scale > 0)) return { count: 0, top: [] };
  const spikes: Spike[] = [];
  for (const [at, value] of points) {
    const d = Math.abs(value - m);
    if (d / scale > SPIKE_Z && d >= 0.1 * Math.abs(m)) spikes.push({ at, value, typical: m });
  }
  spikes.sort((a, b) => Math.abs(b.value - m) - Math.abs(a.value - m));
  return { count: spikes.length, top: spikes.slice(0, 3) };
}

export function seriesStats(all: Point[]): SeriesStats {
  const points = all.every((p) => Number.isFinite(p[1])) ? all : all.filter((p) => Number.isFinite(p[1]));
  const nonFinite = all.length - points.length;
  if (points.length === 0) {
    const nan = Number.NaN;
    const lastAt = all.at(-1)?.[0] ?? nan;
    return {
      points: 0,
      nonFinite,
      min: nan,
      avg: nan,
      max: nan,
      last: all.at(-1)?.[1] ?? nan,
      lastAt,
      trend: 'flat',
      slopePerHour: 0,
      spikeCount: 0,
      spikes: [],
    };
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const [, v] of points) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const { trend, slopePerHour: slope } = trendOf(points, { min, max, mean: sum / points.length });
  const spikes = findSpikes(points);
  const lastPoint = points.at(-1)!;
  return {
    points: points.length,
    nonFinite,
    min,
    avg: sum / points.length,
    max,
    last: lastPoint[1],
    lastAt: lastPoint[0],
    trend,
    slopePerHour: slope,
    spikeCount: spikes.count,
    spikes: spikes.top,
  };
}

/**
 * Indices of series whose average is far from the other series' (robust z > OUTLIER_Z): the one
 * pod out of twenty that is slow. Needs at least five series to say anything.
 */
export function outlierSeries(avgs: number[]): Map<number, 'high' | 'low'> {
  const out = new Map<number, 'high' | 'low'>();
  const finite = avgs.filter(Number.isFinite);
  if (finite.length < 5) return out;
  const { median: m, scale } = robustCentre(finite);
  if (!(scale > 0)) return out;
  avgs.forEach((a, i) => {
    if (Number.isFinite(a) && Math.abs(a - m) / scale > OUTLIER_Z) out.set(i, a > m ? 'high' : 'low');
  });
  return out;
}

/** Most relevant first: highest last value, then highest max; series with no finite value last. */
export function byRelevance(a: SeriesStats, b: SeriesStats): number {
  const key = (s: SeriesStats) => (Number.isFinite(s.last) ? s.last : Number.NEGATIVE_INFINITY);
  const byLast = key(b) - key(a);
  if (byLast !== 0 && !Number.isNaN(byLast)) return byLast;
  const maxKey = (s: SeriesStats) => (Number.isFinite(s.max) ? s.max : Number.NEGATIVE_INFINITY);
  const byMax = maxKey(b) - maxKey(a);
  return Number.isNaN(byMax) ? 0 : byMax;
}

/**
 * Largest-Triangle-Three-Buckets: `threshold` points that keep a line's visual shape (peaks
 * included), for raw data that does not fit the budget at full resolution.
 */
export function downsample(points: Point[], threshold: number): Point[] {
  const n = points.length;
  if (threshold >= n || threshold < 3)
    return threshold < 3 ? points.slice(0, Math.max(0, threshold)) : points;
  const out: Point[] = [points[0]!];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    const avgStart = Math.floor((i + 1) * every) + 1;
    const avgEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgT = 0;
    let avgV = 0;
    for (let j = avgStart; j < avgEnd; j++) {
      avgT += points[j]![0];
      avgV += points[j]![1];
    }
    const len = Math.max(1, avgEnd - avgStart);
    avgT /= len;
    avgV /= len;
    const rangeStart = Math.floor(i * every) + 1;
    const rangeEnd = Math.floor((i + 1) * every) + 1;
    const [at, av] = points[a]!;
    let best = -1;
    let next = rangeStart;
    for (let j = rangeStart; j < rangeEnd; j++) {
      const [t, v] = points[j]!;
      const area = Math.abs((at - avgT) * (v - av) - (at - t) * (avgV - av));
      if (area > best || Number.isNaN(area)) {
        best = Number.isNaN(area) ? best : area;
        next = j;
      }
    }
    out.push(points[next]!);
    a = next;
  }
  out.push(points[n - 1]!);
  return out;
}
