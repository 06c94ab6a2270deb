// Evaluates the LogQL subset of ./logql.ts over in-memory streams, with Loki's semantics where the
// subset reaches: stream selection, pipeline stages in order, extracted labels becoming part of the
// result's labels, range windows (t - range, t], and aggregation by label sets.
import type { LogExpr, Matcher, MetricExpr, Stage } from './logql.js';

export interface StoredStream {
  labels: Record<string, string>;
  /** [unix nanoseconds, line], any order. */
  entries: Array<{ ts: bigint; line: string }>;
}

export type Labels = Record<string, string>;

export class PipelineError extends Error {}

export function labelKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

export function sortedLabels(labels: Labels): Labels {
  return Object.fromEntries(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]!]),
  );
}

function matches(value: string, m: { op: string; value: string; re?: RegExp }): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    default:
      return !m.re!.test(value);
  }
}

export function selectorMatches(labels: Labels, matchers: Matcher[]): boolean {
  return matchers.every((m) => matches(labels[m.name] ?? '', m));
}

const sanitize = (key: string) => key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, '_$1');

function addExtracted(out: Labels, key: string, value: string) {
  const name = sanitize(key);
  if (name === '') return;
  out[name in out ? `${name}_extracted` : name] = value;
}

function flattenJson(prefix: string, value: unknown, out: Labels) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenJson(prefix ? `${prefix}_${k}` : k, v, out);
  } else if (!Array.isArray(value) && value !== null && value !== undefined) {
    addExtracted(out, prefix, String(value));
  }
}

function parseLogfmt(line: string, out: Labels) {
  let any = false;
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g)) {
    any = true;
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    }
    addExtracted(out, m[1]!, value);
  }
  if (!any && line.trim() !== '') out.__error__ = 'LogfmtParserErr';
}

/** Runs the stages over one line; the labels after them, or undefined when a filter drops the line. */
export function runPipeline(labels: Labels, line: string, stages: Stage[]): Labels | undefined {
  let current: Labels = labels;
  for (const s of stages) {
    if (s.kind === 'line') {
      const hit = s.re ? s.re.test(line) : line.includes(s.value);
      if ((s.op === '|=' || s.op === '|~') !== hit) return undefined;
    } else if (s.kind === 'parser') {
      current = { ...current };
      if (s.parser === 'json') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = undefined;
        }
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) flattenJson('', parsed, current);
        else {
          current.__error__ = 'JSONParserErr';
          current.__error_details__ = 'not a JSON object';
        }
      } else parseLogfmt(line, current);
    } else if (s.kind === 'label') {
      if (!matches(current[s.name] ?? '', s)) return undefined;
    } else {
      const raw = current[s.name];
      const n = raw === undefined ? Number.NaN : Number(raw);
      if (Number.isNaN(n)) return undefined;
      const ok = {
        '>': n > s.value,
        '>=': n >= s.value,
        '<': n < s.value,
        '<=': n <= s.value,
        '==': n === s.value,
        '!=': n !== s.value,
      }[s.op];
      if (!ok) return undefined;
    }
  }
  return current;
}

export interface Selected {
  labels: Labels;
  ts: bigint;
  line: string;
}

/** Every entry of the log query in [fromNs, toNs), with its labels after the pipeline. */
export function selectEntries(
  streams: StoredStream[],
  expr: LogExpr,
  fromNs: bigint,
  toNs: bigint,
): Selected[] {
  const out: Selected[] = [];
  for (const s of streams) {
    if (!selectorMatches(s.labels, expr.matchers)) continue;
    for (const e of s.entries) {
      if (e.ts < fromNs || e.ts >= toNs) continue;
      const labels = runPipeline(s.labels, e.line, expr.stages);
      if (labels) out.push({ labels, ts: e.ts, line: e.line });
    }
  }
  return out;
}

/** Loki's log query answer: the `limit` newest (backward) or oldest (forward) entries, as streams. */
export function logStreams(
  streams: StoredStream[],
  expr: LogExpr,
  fromNs: bigint,
  toNs: bigint,
  direction: 'backward' | 'forward',
  limit: number,
) {
  const all = selectEntries(streams, expr, fromNs, toNs);
  all.sort((a, b) => (a.ts === b.ts ? 0 : a.ts < b.ts === (direction === 'forward') ? -1 : 1));
  const byStream = new Map<string, { stream: Labels; values: [string, string][] }>();
  for (const e of all.slice(0, limit)) {
    const key = labelKey(e.labels);
    let s = byStream.get(key);
    if (!s) {
      s = { stream: sortedLabels(e.labels), values: [] };
      byStream.set(key, s);
    }
    s.values.push([e.ts.toString(), e.line]);
  }
  return [...byStream.values()];
}

/** A metric expression's samples at one instant: label set → value. */
export function evalAt(
  streams: StoredStream[],
  expr: MetricExpr,
  atNs: bigint,
): Map<string, { labels: Labels; value: number }> {
  if (expr.kind === 'range') {
    const range = BigInt(expr.rangeMs) * 1_000_000n;
    // Loki's range window is (t - range, t]
    const entries = selectEntries(streams, expr.log, atNs - range + 1n, atNs + 1n);
    const out = new Map<string, { labels: Labels; value: number }>();
    for (const e of entries) {
      if (e.labels.__error__) {
        throw new PipelineError(
          `pipeline error: '${e.labels.__error__}' for series: '${formatLabels(e.labels)}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!="${e.labels.__error__}").\nTo skip all potential errors you can match empty errors.(e.g __error__="")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
        );
      }
      const key = labelKey(e.labels);
      const hit = out.get(key) ?? { labels: sortedLabels(e.labels), value: 0 };
      hit.value += expr.fn.startsWith('bytes') ? Buffer.byteLength(e.line) : 1;
      out.set(key, hit);
    }
    if (expr.fn === 'rate' || expr.fn === 'bytes_rate')
      for (const v of out.values()) v.value /= expr.rangeMs / 1000;
    return out;
  }
  const inner = evalAt(streams, expr.inner, atNs);
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const { labels, value } of inner.values()) {
    const g = expr.grouping;
    const kept: Labels = {};
    for (const [k, v] of Object.entries(labels)) {
      if (!g) continue;
      if (g.without ? !g.labels.includes(k) : g.labels.includes(k)) kept[k] = v;
    }
    const key = labelKey(kept);
    const hit = groups.get(key) ?? { labels: sortedLabels(kept), values: [] };
    hit.values.push(value);
    groups.set(key, hit);
  }
  const out = new Map<string, { labels: Labels; value: number }>();
  for (const [key, { labels, values }] of groups) {
    const sum = values.reduce((a, b) => a + b, 0);
    const value = {
      sum,
      count: values.length,
      avg: sum / values.length,
      min: Math.min(...values),
      max: Math.max(...values),
    }[expr.fn];
    out.set(key, { labels, value });
  }
  return out;
}

export function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}
