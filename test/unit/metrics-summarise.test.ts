import { describe, expect, it } from 'vitest';
import {
  byRelevance,
  columns,
  downsample,
  findSpikes,
  outlierSeries,
  type Point,
  seriesStats,
  trendOf,
} from '../../tools/metrics/summarise.js';

const T0 = 1_714_564_800;
/** One point every `step` seconds with the given values. */
const pointsOf = (values: number[], step = 15): Point[] => values.map((v, i) => [T0 + i * step, v]);
const series = (values: number[], step = 15) => columns(pointsOf(values, step));
/** Deterministic noise in [-1, 1] (no Math.random: a failing case must fail every time). */
const noise = (i: number) => Math.sin(i * 12.9898) * 0.5 + Math.sin(i * 78.233) * 0.5;

describe('seriesStats', () => {
  it('computes min, avg, max and last, ignoring NaN and infinities but counting them', () => {
    const s = seriesStats(series([3, 1, Number.NaN, 4, 1, 5, Number.POSITIVE_INFINITY, 9, 2]));
    expect(s).toMatchObject({ points: 7, nonFinite: 2, min: 1, max: 9, last: 2, lastAt: T0 + 8 * 15 });
    expect(s.avg).toBeCloseTo((3 + 1 + 4 + 1 + 5 + 9 + 2) / 7, 12);
  });

  it('takes the last finite value as last', () => {
    const s = seriesStats(series([1, 2, 7, Number.NaN]));
    expect(s.last).toBe(7);
    expect(s.lastAt).toBe(T0 + 2 * 15);
  });

  it('a series with no finite value has NaN stats and no trend', () => {
    const s = seriesStats(series([Number.NaN, Number.NaN]));
    expect(s.points).toBe(0);
    expect(s.min).toBeNaN();
    expect(s.trend).toBe('flat');
  });
});

describe('trend', () => {
  it('a straight rising line: rising, with its exact slope per hour', () => {
    // +2 every 15 s = +480 per hour
    const t = trendOf(series(Array.from({ length: 100 }, (_, i) => 100 + 2 * i)));
    expect(t.trend).toBe('rising');
    expect(t.slopePerHour).toBeCloseTo(480, 6);
  });

  it('a falling line with noise: falling', () => {
    const t = trendOf(series(Array.from({ length: 200 }, (_, i) => 500 - i + 3 * noise(i))));
    expect(t.trend).toBe('falling');
    expect(t.slopePerHour).toBeCloseTo(-240, -1);
  });

  it('noise around a level with no drift: flat', () => {
    const t = trendOf(series(Array.from({ length: 300 }, (_, i) => 100 + 5 * noise(i))));
    expect(t.trend).toBe('flat');
  });

  it('a small drift on a large level is flat (under 10% of the level over the window)', () => {
    const t = trendOf(series(Array.from({ length: 100 }, (_, i) => 1000 + i * 0.5)));
    expect(t.trend).toBe('flat');
    expect(t.slopePerHour).toBeGreaterThan(0);
  });

  it('an all-zero series is flat', () => {
    expect(trendOf(series(Array(50).fill(0))).trend).toBe('flat');
  });
});

describe('spikes', () => {
  it('finds a single spike on a flat baseline, with its time and the typical value', () => {
    const values = Array(120).fill(10);
    values[50] = 100;
    const s = findSpikes(series(values));
    expect(s.count).toBe(1);
    expect(s.top[0]).toEqual({ at: T0 + 50 * 15, value: 100, typical: 10 });
  });

  it('finds spikes on a noisy baseline, largest first', () => {
    const values = Array.from({ length: 200 }, (_, i) => 50 + 2 * noise(i));
    values[20] = 90;
    values[150] = 140;
    const s = findSpikes(series(values));
    expect(s.count).toBe(2);
    expect(s.top.map((k) => k.at)).toEqual([T0 + 150 * 15, T0 + 20 * 15]);
  });

  it('a dip counts as well', () => {
    const values = Array.from({ length: 100 }, (_, i) => 200 + noise(i));
    values[70] = 20;
    expect(findSpikes(series(values)).top[0]?.value).toBe(20);
  });

  it('a ramp, a step change and plain noise have no spikes', () => {
    expect(findSpikes(series(Array.from({ length: 100 }, (_, i) => i))).count).toBe(0);
    expect(findSpikes(series(Array.from({ length: 100 }, (_, i) => (i < 50 ? 10 : 30)))).count).toBe(0);
    expect(findSpikes(series(Array.from({ length: 1000 }, (_, i) => 100 + 10 * noise(i)))).count).toBe(0);
  });
});

describe('outlier series', () => {
  it('flags the one series far from its peers, high or low', () => {
    const avgs = [10, 11, 9.5, 10.2, 10.8, 9.9, 100, 10.1, 0.1];
    const out = outlierSeries(avgs);
    expect(out.get(6)).toBe('high');
    expect(out.get(8)).toBe('low');
    expect(out.size).toBe(2);
  });

  it('says nothing with fewer than five series', () => {
    expect(outlierSeries([1, 1, 1, 100]).size).toBe(0);
  });
});

describe('relevance order', () => {
  it('highest last first, then highest max; series without values last', () => {
    const a = seriesStats(series([1, 5]));
    const b = seriesStats(series([9, 5]));
    const c = seriesStats(series([1, 7]));
    const d = seriesStats(series([Number.NaN]));
    const sorted = [a, d, b, c].sort(byRelevance);
    expect(sorted).toEqual([c, b, a, d]);
  });
});

describe('downsample (LTTB)', () => {
  it('keeps the first and last points, the requested count, and a spike', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 10 + noise(i));
    values[777] = 500;
    const pts = pointsOf(values);
    const out = downsample(columns(pts), 50);
    expect(out).toHaveLength(50);
    expect(out[0]).toEqual(pts[0]);
    expect(out.at(-1)).toEqual(pts.at(-1));
    expect(out.some(([t, v]) => t === T0 + 777 * 15 && v === 500)).toBe(true);
    expect(out.every(([t], i) => i === 0 || t > out[i - 1]![0])).toBe(true);
  });

  it('returns short series whole, and leaves out NaN', () => {
    expect(downsample(series([1, 2, 3]), 10)).toEqual(pointsOf([1, 2, 3]));
    expect(downsample(series([1, Number.NaN, 3]), 10)).toEqual([pointsOf([1])[0], [T0 + 30, 3]]);
  });
});
