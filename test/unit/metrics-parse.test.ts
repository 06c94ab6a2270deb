import { describe, expect, it } from 'vitest';
import type { PromMatrixSeries } from '../../tools/metrics/common.js';
import { toColumns } from '../../tools/metrics/matrix.js';
import { readMatrix } from '../../tools/metrics/matrix-parse.js';

const series: PromMatrixSeries[] = [
  {
    metric: { __name__: 'http_requests_total', path: '/a"b\\c}{]', pod: 'api-0' },
    values: [
      [1714564800, '1'],
      [1714564815.5, '0.1'],
      [1714564830.125, '-12.000000000000002'],
      [1714564845, '1e-05'],
      [1714564860, '1.2345678901234567e+21'],
      [1714564875, 'NaN'],
      [1714564890, '+Inf'],
      [1714564905, '-Inf'],
      [1714564920, '123456789012345678'],
      [1714564935, '0.30000000000000004'],
    ],
  },
  { metric: {}, values: [] },
  { metric: { job: 'x' }, values: [[1714564800, '42']] },
];

const body = (data: unknown, extra = '') =>
  Buffer.from(`{"status":"success","data":${JSON.stringify(data)}${extra}}`);

describe('readMatrix', () => {
  it('reads exactly what JSON.parse reads, labels with quotes and braces included', () => {
    const fast = readMatrix(body({ resultType: 'matrix', result: series }))!;
    expect(fast.warnings).toEqual([]);
    const slow = toColumns(series);
    expect(fast.series.map((s) => s.metric)).toEqual(slow.map((s) => s.metric));
    for (let k = 0; k < slow.length; k++) {
      expect(Array.from(fast.series[k]!.t)).toEqual(Array.from(slow[k]!.t));
      expect(Array.from(fast.series[k]!.v)).toEqual(Array.from(slow[k]!.v));
    }
  });

  it('keeps the warnings that follow the data', () => {
    const fast = readMatrix(body({ resultType: 'matrix', result: [] }, ',"warnings":["too many samples"]'))!;
    expect(fast).toEqual({ series: [], warnings: ['too many samples'] });
  });

  it('gives up (for JSON.parse to take over) on anything but the compact matrix form', () => {
    expect(readMatrix(body({ resultType: 'vector', result: [] }))).toBeUndefined();
    expect(
      readMatrix(Buffer.from('{"status": "success", "data": {"resultType": "matrix", "result": []}}')),
    ).toBeUndefined();
    expect(readMatrix(Buffer.from('{"status":"error","errorType":"bad_data","error":"x"}'))).toBeUndefined();
    expect(
      readMatrix(body({ resultType: 'matrix', result: [{ metric: {}, values: [[1, 'banana']] }] })),
    ).toBeUndefined();
    expect(
      readMatrix(
        Buffer.from(
          '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]',
        ),
      ),
    ).toBeUndefined();
  });
});

describe('readMatrix on malformed points', () => {
  it('never invents a value: empty or cut points make it give up', () => {
    const head = '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":';
    for (const values of ['[[1,""]]', '[[,"1"]]', '[[1]]', '[[1,"2"]', '[[1,"2"],]']) {
      expect(readMatrix(Buffer.from(`${head}${values}}]}}`)), values).toBeUndefined();
    }
  });
});
