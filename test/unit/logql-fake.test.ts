// The Loki contract fake's LogQL subset: what it parses, how it fails, and its evaluation semantics.
import { describe, expect, it } from 'vitest';
import { evalAt, logStreams, type StoredStream } from '../env/loki/evaluate.js';
import { type LogExpr, type MetricExpr, ParseError, parseLogQL } from '../env/loki/logql.js';

function parseError(q: string): string {
  try {
    parseLogQL(q);
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${q}`);
}

describe('LogQL parser (fake)', () => {
  it("fails the way Loki's parser does", () => {
    expect(parseError('{app="api"} |= timeout')).toBe(
      'parse error at line 1, col 16: syntax error: unexpected IDENTIFIER, expecting STRING',
    );
    expect(parseError('unk({app="api"}[5m])')).toBe(
      'parse error at line 1, col 1: syntax error: unexpected IDENTIFIER',
    );
    expect(parseError('{app=~".*"}')).toMatch(
      /^parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value/,
    );
    expect(parseError('{app="a\\."}')).toBe('parse error at line 1, col 6: invalid char escape');
    expect(parseError('count_over_time({app="a"})')).toBe(
      'parse error at line 1, col 26: syntax error: unexpected ), expecting RANGE',
    );
    expect(parseError('sum(count_over_time({app="a"}[5m])')).toBe(
      'parse error at line 1, col 35: syntax error: unexpected $end, expecting )',
    );
  });

  it('parses selectors, line filters, parsers, label filters and aggregations', () => {
    const q = parseLogQL(
      'sum by (level) (count_over_time({namespace="p", pod=~"api-.*"} |= "x" != `y` | json | status >= 500 | level!="debug" [5m]))',
    ) as MetricExpr;
    expect(q).toMatchObject({ kind: 'vector', fn: 'sum', grouping: { without: false, labels: ['level'] } });
    const inner = (q as { inner: MetricExpr }).inner as { log: LogExpr; rangeMs: number };
    expect(inner.rangeMs).toBe(300_000);
    expect(inner.log.stages.map((s) => s.kind)).toEqual(['line', 'line', 'parser', 'compare', 'label']);
  });
});

const s = (n: number) => BigInt(n) * 1_000_000_000n;

describe('evaluation (fake)', () => {
  const streams: StoredStream[] = [
    {
      labels: { app: 'api', pod: 'api-1' },
      entries: [
        { ts: s(100), line: '{"level":"error","msg":"boom","status":503}' },
        { ts: s(160), line: '{"level":"info","msg":"ok","status":200}' },
        { ts: s(200), line: 'not json' },
      ],
    },
    {
      labels: { app: 'api', pod: 'api-2' },
      entries: [{ ts: s(130), line: 'level=error msg="db down" status=500' }],
    },
  ];

  it('range windows are (t - range, t], as in Loki', () => {
    const q = parseLogQL('count_over_time({app="api"}[60s])') as MetricExpr;
    const at = (t: number) => [...evalAt(streams, q, s(t)).values()].reduce((n, v) => n + v.value, 0);
    expect(at(130)).toBe(2); // 100 and 130: the end is inside
    expect(at(190)).toBe(1); // 160 only: 130 is exactly t - 60, outside
    expect(at(189)).toBe(2);
    expect(at(99)).toBe(0);
  });

  it('extracted labels become part of the series, and parse failures are pipeline errors', () => {
    const q = parseLogQL(
      'sum by (level) (count_over_time({app="api"} | json | __error__="" [1000s]))',
    ) as MetricExpr;
    expect(() => evalAt(streams, q, s(1000))).not.toThrow();
    const noFilter = parseLogQL('sum by (level) (count_over_time({app="api"} | json [1000s]))') as MetricExpr;
    expect(() => evalAt(streams, noFilter, s(1000))).toThrow(/pipeline error: 'JSONParserErr'/);
    const logfmt = parseLogQL(
      'sum by (level) (count_over_time({pod="api-2"} | logfmt [1000s]))',
    ) as MetricExpr;
    expect([...evalAt(streams, logfmt, s(1000)).values()]).toEqual([
      { labels: { level: 'error' }, value: 1 },
    ]);
  });

  it('log queries take the newest entries up to the limit and group them by final labels', () => {
    const q = parseLogQL('{app="api"} | json | status >= 500') as LogExpr;
    const result = logStreams(streams, q, s(0), s(1000), 'backward', 10);
    expect(result.map((r) => r.values.length)).toEqual([1]);
    expect(result[0]!.stream).toMatchObject({ level: 'error', msg: 'boom', status: '503', pod: 'api-1' });
    const all = logStreams(streams, parseLogQL('{app="api"}') as LogExpr, s(0), s(1000), 'backward', 2);
    expect(all.flatMap((r) => r.values.map((v) => v[0]))).toEqual([s(200).toString(), s(160).toString()]);
  });
});
