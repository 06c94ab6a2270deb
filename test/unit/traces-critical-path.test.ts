import { describe, expect, it } from 'vitest';
import { buildTrace, criticalPath, spanError } from '../../tools/traces/analysis.js';
import type { JaegerSpan, JaegerTrace } from '../../tools/traces/client.js';
import { summariseTrace } from '../../tools/traces/trace-get.js';

const T0 = 1_700_000_000_000_000; // µs

type SpanSpec = [
  id: string,
  parent: string | undefined,
  service: string,
  op: string,
  startMs: number,
  endMs: number,
];

function traceOf(specs: SpanSpec[], extra: Record<string, Partial<JaegerSpan>> = {}): JaegerTrace {
  const services = [...new Set(specs.map((s) => s[2]))];
  return {
    traceID: 'abc',
    processes: Object.fromEntries(services.map((s, i) => [`p${i}`, { serviceName: s }])),
    spans: specs.map(([id, parent, service, op, start, end]) => ({
      traceID: 'abc',
      spanID: id,
      operationName: op,
      references: parent ? [{ refType: 'CHILD_OF', traceID: 'abc', spanID: parent }] : [],
      startTime: T0 + start * 1000,
      duration: (end - start) * 1000,
      processID: `p${services.indexOf(service)}`,
      tags: [],
      ...extra[id],
    })),
  };
}

/** [span id, start ms, end ms] of each stretch, relative to T0. */
function path(t: JaegerTrace) {
  const model = buildTrace(t);
  return criticalPath(model.root).map((s) => [s.span.id, (s.start - T0) / 1000, (s.end - T0) / 1000]);
}

// frontend → checkout → payments → db, with a sequential auth call, two database queries (the
// second slow) overlapping a fraud check, an inventory call after the payment, and a render step.
const checkout: SpanSpec[] = [
  ['fe', undefined, 'frontend', 'GET /checkout', 0, 1000],
  ['co', 'fe', 'checkout', 'POST /place-order', 20, 950],
  ['auth', 'co', 'checkout', 'auth.verify', 25, 60],
  ['pay', 'co', 'payments', 'charge', 70, 800],
  ['db1', 'pay', 'db', 'SELECT account', 100, 300],
  ['db2', 'pay', 'db', 'UPDATE ledger', 310, 700],
  ['fraud', 'pay', 'payments', 'fraud-check', 320, 500],
  ['inv', 'co', 'checkout', 'inventory.reserve', 810, 900],
  ['render', 'fe', 'frontend', 'render', 955, 990],
];

describe('critical path', () => {
  it('follows the last-finishing child back through the tree (worked by hand)', () => {
    expect(path(traceOf(checkout))).toEqual([
      ['fe', 0, 20],
      ['co', 20, 25],
      ['auth', 25, 60],
      ['co', 60, 70],
      ['pay', 70, 100],
      ['db1', 100, 300],
      ['pay', 300, 310],
      ['db2', 310, 700],
      ['pay', 700, 800],
      ['co', 800, 810],
      ['inv', 810, 900],
      ['co', 900, 950],
      ['fe', 950, 955],
      ['render', 955, 990],
      ['fe', 990, 1000],
    ]);
  });

  it("adds up to the root's duration and leaves overlapped children off the path", () => {
    const segments = path(traceOf(checkout));
    expect(segments.reduce((n, [, a, b]) => n + (b as number) - (a as number), 0)).toBe(1000);
    expect(segments.map((s) => s[0])).not.toContain('fraud');
  });

  it('of two overlapping children, takes the one that finishes last, then what ended before it started', () => {
    const t = traceOf([
      ['r', undefined, 'a', 'root', 0, 100],
      ['x', 'r', 'a', 'x', 10, 80],
      ['y', 'r', 'a', 'y', 30, 90],
      ['z', 'r', 'a', 'z', 5, 25],
    ]);
    expect(path(t)).toEqual([
      ['r', 0, 5],
      ['z', 5, 25],
      ['r', 25, 30],
      ['y', 30, 90],
      ['r', 90, 100],
    ]);
  });

  it('clips a child that outlives its parent (async work) to the parent', () => {
    const t = traceOf([
      ['r', undefined, 'a', 'root', 0, 100],
      ['c', 'r', 'a', 'fire-and-forget', 40, 300],
    ]);
    expect(path(t)).toEqual([
      ['r', 0, 40],
      ['c', 40, 100],
    ]);
  });

  it('treats back-to-back children (one ends as the next starts) as sequential', () => {
    const t = traceOf([
      ['r', undefined, 'a', 'root', 0, 30],
      ['c1', 'r', 'a', 'one', 0, 10],
      ['c2', 'r', 'a', 'two', 10, 20],
      ['c3', 'r', 'a', 'three', 20, 30],
    ]);
    expect(path(t)).toEqual([
      ['c1', 0, 10],
      ['c2', 10, 20],
      ['c3', 20, 30],
    ]);
  });

  it('terminates on zero-length children and reference cycles', () => {
    const t = traceOf([
      ['r', undefined, 'a', 'root', 0, 10],
      ['z1', 'r', 'a', 'instant', 10, 10],
      ['z2', 'r', 'a', 'instant', 10, 10],
    ]);
    expect(path(t).reduce((n, [, a, b]) => n + (b as number) - (a as number), 0)).toBe(10);
    const cyclic = traceOf([
      ['r', undefined, 'a', 'root', 0, 10],
      ['p', 'q', 'a', 'p', 1, 5],
      ['q', 'p', 'a', 'q', 2, 4],
    ]);
    expect(path(cyclic)).toEqual([['r', 0, 10]]);
  });
});

describe('trace model', () => {
  it('computes self time as duration minus the union of child time', () => {
    const model = buildTrace(traceOf(checkout));
    const pay = model.spans.find((s) => s.id === 'pay')!;
    // children cover 100–300 and 310–700 (fraud 320–500 is inside db2): 590 of 730 ms
    expect(pay.self / 1000).toBe(730 - 590);
    expect(model.services.get('db')!.spans).toBe(2);
  });

  it('reads OpenTelemetry status and exception events as the error message', () => {
    const span = {
      tags: [
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'otel.status_description', type: 'string', value: 'card declined' },
      ],
      logs: [
        {
          timestamp: T0,
          fields: [
            { key: 'event', type: 'string', value: 'exception' },
            { key: 'exception.type', type: 'string', value: 'PaymentError' },
            { key: 'exception.message', type: 'string', value: 'issuer refused: insufficient funds' },
          ],
        },
      ],
    } as unknown as JaegerSpan;
    const { error } = spanError(span);
    expect(error?.type).toBe('PaymentError');
    expect(error?.message).toBe('card declined (PaymentError: issuer refused: insufficient funds)');
    const jaegerStyle = {
      tags: [{ key: 'error', type: 'bool', value: true }],
      logs: [],
    } as unknown as JaegerSpan;
    expect(spanError(jaegerStyle).error?.message).toMatch(/no message recorded/);
    expect(spanError({ tags: [], logs: [] } as unknown as JaegerSpan).error).toBeUndefined();
  });

  it('keeps the spans that matter when the tree is over its line budget', () => {
    // 150 parallel cache calls of distinct keys, then one slow query: only three cache calls end
    // just before the next thing on the path starts.
    const specs: SpanSpec[] = [['r', undefined, 'api', 'GET /batch', 0, 2000]];
    for (let i = 0; i < 150; i++) specs.push([`s${i}`, 'r', 'cache', `get key-${i}`, i, i + 50]);
    specs.push(['slow', 'r', 'db', 'SELECT slow', 200, 1900]);
    const { text, structured } = summariseTrace(buildTrace(traceOf(specs)), {
      maxTreeLines: 10,
      maxErrors: 5,
      maxSlowest: 3,
    });
    expect(structured.criticalPath.map((c) => c.operation)).toEqual([
      'GET /batch',
      'get key-49',
      'get key-99',
      'get key-149',
      'SELECT slow',
    ]);
    expect(structured.treeLinesShown).toBeLessThanOrEqual(10);
    expect(structured.treeLinesShown + structured.spansNotInTree).toBe(152);
    expect(text).toMatch(/\* +\+200ms {3}db: SELECT slow 1\.70s/);
    expect(text).toMatch(/\* +\+149ms {3}cache: get key-149 50ms/);
    expect(text).not.toContain('get key-3 ');
  });

  it('folds runs of identical leaf calls into one line with a count', () => {
    const specs: SpanSpec[] = [['r', undefined, 'api', 'GET /batch', 0, 200]];
    for (let i = 0; i < 120; i++) specs.push([`s${i}`, 'r', 'cache', 'GET', i, i + 1]);
    const { text } = summariseTrace(buildTrace(traceOf(specs)), {
      maxTreeLines: 40,
      maxErrors: 5,
      maxSlowest: 3,
    });
    expect(text).toContain('120× cache: GET (total 120ms, max 1.00ms)');
  });
});
