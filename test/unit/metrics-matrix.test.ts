import { describe, expect, it } from 'vitest';
import { estimateTokens, shapeOutput } from '../../tools/core/shaping.js';
import type { PromMatrixSeries } from '../../tools/metrics/common.js';
import { summariseMatrix, toColumns } from '../../tools/metrics/matrix.js';

const T0 = 1_714_564_800;

function promMatrix(
  seriesCount: number,
  points: number,
  value: (s: number, i: number) => number,
): PromMatrixSeries[] {
  return Array.from({ length: seriesCount }, (_, s) => ({
    metric: { __name__: 'http_requests', job: 'api', pod: `api-${s}` },
    values: Array.from({ length: points }, (_, i) => [T0 + i * 15, String(value(s, i))] as [number, string]),
  }));
}

const matrix = (seriesCount: number, points: number, value: (s: number, i: number) => number) =>
  toColumns(promMatrix(seriesCount, points, value));

type Structured = {
  seriesTotal: number;
  pointsTotal: number;
  commonLabels: Record<string, string>;
  seriesWithStats: number;
  seriesWithValues: number;
  valuesResolution: string;
  note?: string;
  series: Array<{
    labels: Record<string, string>;
    last: number;
    max: number;
    values?: Array<[number, number]>;
  }>;
};

describe('range summary within the budget', () => {
  it('500 series × 1,000 points: exact totals, under 4,000 tokens, and says what it left out', async () => {
    const data = matrix(500, 1000, (s, i) => s + Math.sin(i / 30) + (s === 123 && i === 500 ? 1000 : 0));
    const out = await summariseMatrix({
      series: data,
      query: 'q',
      source: 'Prometheus test',
      warnings: [],
      window: { start: T0, end: T0 + 999 * 15, step: 15 },
    });
    const shaped = shapeOutput(out, 6000);
    const s = shaped.structured as Structured;
    const tokens = estimateTokens(shaped.text) + estimateTokens(JSON.stringify(s));
    expect(tokens).toBeLessThan(4000);
    expect(s.seriesTotal).toBe(500);
    expect(s.pointsTotal).toBe(500_000);
    expect(s.commonLabels).toEqual({ __name__: 'http_requests', job: 'api' });
    // most relevant first: the highest last value is pod api-499
    expect(s.series[0]!.labels).toEqual({ pod: 'api-499' });
    expect(s.seriesWithStats).toBeLessThan(500);
    expect(s.seriesWithValues).toBeGreaterThan(0);
    expect(s.valuesResolution).toMatch(/^downsampled to at most \d+ points/);
    expect(s.note).toMatch(/shaped to the token budget: stats for \d+ of 500 series/);
    expect(shaped.text).toMatch(/^500 series, 500000 points \(up to 1000 per series; step 15s/);
    expect(shaped.text).toContain('Spikes in 1 series');
    expect(shaped.text).toMatch(/more series not listed/);
  });

  it('a small result comes back whole, raw values included, with no note', async () => {
    const source = promMatrix(3, 20, (s, i) => s * 10 + i);
    const data = toColumns(source);
    const out = await summariseMatrix({ series: data, query: 'q', source: 'Prometheus test', warnings: [] });
    const s = out.structured as Structured;
    expect(s.seriesWithValues).toBe(3);
    expect(s.valuesResolution).toBe('raw');
    expect(s.note).toBeUndefined();
    const top = s.series[0]!;
    expect(top.labels).toEqual({ pod: 'api-2' });
    expect(top.values).toEqual(source[2]!.values.map(([t, v]) => [t, Number(v)]));
    expect(out.text).toContain('Trends: 3 rising');
  });

  it('a smaller configured budget gives a smaller answer', async () => {
    const data = matrix(200, 300, (s, i) => s + i / 100);
    const out = await summariseMatrix({
      series: data,
      query: 'q',
      source: 'Prometheus test',
      warnings: [],
      maxTokens: 1000,
    });
    const shaped = shapeOutput(out, 1000);
    expect(
      estimateTokens(shaped.text) + estimateTokens(JSON.stringify(shaped.structured)),
    ).toBeLessThanOrEqual(1000);
    expect(shaped.text).not.toContain('output truncated');
  });

  it('no series: no_data with a hint', async () => {
    const out = await summariseMatrix({
      series: [],
      query: 'nope',
      source: 'Prometheus test',
      warnings: ['w1'],
      window: { start: T0, end: T0 + 60, step: 1 },
    });
    expect(out.status).toBe('no_data');
    expect(out.text).toMatch(/^No series: the query matched no data/);
    expect(out.text).toContain('Prometheus warning: w1');
  });

  it('chart=true attaches one PNG of the top series', async () => {
    const out = await summariseMatrix({
      series: matrix(8, 50, (s, i) => s + i),
      query: 'q',
      source: 'P',
      warnings: [],
      chart: { top: 3 },
    });
    expect(out.images).toHaveLength(1);
    expect(out.images![0]!.mimeType).toBe('image/png');
    expect(out.text).toContain('Chart: the top 3 of 8 series, attached as a PNG image.');
  });
});
