/**
 * What a senior SRE reads off a graph, computed: per series min, avg, max, last, the trend (least
 * squares slope, per hour) and spikes (points far from the series' own median, by a robust z-score
 * that a few spikes cannot inflate), and which series stand out against the others.
 */

/** [unix seconds, value] */
export type Point = [number, number];

/** One series as columns: times (unix seconds) and values, in time order. */
export interface Samples {
  t: ArrayLike<number>;
  v: ArrayLike<number>;
}

/** Columns from [time, value] pairs. */
export function columns(points: Point[]): Samples {
  return { t: points.map((p) => p[0]), v: points.map((p) => p[1]) };
}

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

/** Least-squares slope of value against time, in units per hour. Finite values only. */
export function slopePerHour({ t, v }: Samples): number {
  let n = 0;
  let st = 0;
  let sv = 0;
  let stt = 0;
  let stv = 0;
  const t0 = t[0] ?? 0;
  for (let i = 0; i < t.length; i++) {
    const y = v[i]!;
    if (!Number.isFinite(y)) continue;
    const h = (t[i]! - t0) / 3600;
    n++;
    st += h;
    sv += y;
    stt += h * h;
    stv += h * y;
  }
  if (n < 2) return 0;
  const den = stt - (st * st) / n;
  return den > 0 ? (stv - (st * sv) / n) / den : 0;
}

/**
 * Rising or falling when the fitted line moves by more than FLAT_FRACTION of the series' level
 * (its mean, or half its range when that is larger) over the window.
 */
export function trendOf(samples: Samples): { trend: Trend; slopePerHour: number } {
  const { t, v } = samples;
  const slope = slopePerHour(samples);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let n = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (!Number.isFinite(y)) continue;
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    n++;
    if (Number.isNaN(first)) first = t[i]!;
    last = t[i]!;
  }
  if (n < 3) return { trend: 'flat', slopePerHour: slope };
  const level = Math.max(Math.abs(sum / n), (max - min) / 2);
  if (!(level > 0)) return { trend: 'flat', slopePerHour: 0 };
  const change = (slope * (last - first)) / 3600;
  if (Math.abs(change) < FLAT_FRACTION * level) return { trend: 'flat', slopePerHour: slope };
  return { trend: change > 0 ? 'rising' : 'falling', slopePerHour: slope };
}

/**
 * Points whose robust z-score exceeds SPIKE_Z and that differ from the median by at least 10% of
 * it: a spike an operator would notice, not noise around a busy baseline. Finite values only.
 */
export function findSpikes({ t, v }: Samples): { count: number; top: Spike[] } {
  const finite: number[] = [];
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]!)) finite.push(i);
  const n = finite.length;
  if (n < 5) return { count: 0, top: [] };
  // The centre and spread of a long series are estimated from an even sample of it (sorting every
  // point of 500 series costs more than the rest of the summary); a flat series with a lone spike
  // has no spread in the sample, so it is measured in full.
  const stride = Math.max(1, Math.floor(n / SAMPLE));
  const sample = new Float64Array(Math.ceil(n / stride));
  for (let k = 0, j = 0; k < n; k += stride, j++) sample[j] = v[finite[k]!]!;
  let { median: m, scale } = robustCentre(sample);
  if (!(scale > 0) && stride > 1) ({ median: m, scale } = robustCentre(finite.map((i) => v[i]!)));
  if (!(scale > 0)) return { count: 0, top: [] };
  const spikes: Spike[] = [];
  for (const i of finite) {
    const d = Math.abs(v[i]! - m);
    if (d / scale > SPIKE_Z && d >= 0.1 * Math.abs(m)) spikes.push({ at: t[i]!, value: v[i]!, typical: m });
  }
  spikes.sort((a, b) => Math.abs(b.value - m) - Math.abs(a.value - m));
  return { count: spikes.length, top: spikes.slice(0, 3) };
}

export function seriesStats(samples: Samples): SeriesStats {
  const { t, v } = samples;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let points = 0;
  let lastIndex = -1;
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (!Number.isFinite(y)) continue;
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    points++;
    lastIndex = i;
  }
  const nonFinite = v.length - points;
  if (points === 0) {
    const nan = Number.NaN;
    return {
      points: 0,
      nonFinite,
      min: nan,
      avg: nan,
      max: nan,
      last: v.length ? v[v.length - 1]! : nan,
      lastAt: t.length ? t[t.length - 1]! : nan,
      trend: 'flat',
      slopePerHour: 0,
      spikeCount: 0,
      spikes: [],
    };
  }
  const { trend, slopePerHour: slope } = trendOf(samples);
  const spikes = findSpikes(samples);
  return {
    points,
    nonFinite,
    min,
    avg: sum / points,
    max,
    last: v[lastIndex]!,
    lastAt: t[lastIndex]!,
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
 * included), for raw data that does not fit the budget at full resolution. Finite values only.
 */
export function downsample(samples: Samples, threshold: number): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < samples.v.length; i++) {
    if (Number.isFinite(samples.v[i]!)) points.push([samples.t[i]!, samples.v[i]!]);
  }
  const n = points.length;
  if (threshold >= n) return points;
  if (threshold < 3) return points.slice(0, Math.max(0, threshold));
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
      if (area > best) {
        best = area;
        next = j;
      }
    }
    out.push(points[next]!);
    a = next;
  }
  out.push(points[n - 1]!);
  return out;
}
