/**
 * Canary analysis: the PromQL that judges a canary against its stable version, and the verdict from
 * the numbers. Pure: queries are built and verdicts reached on plain data; analyze.ts runs them.
 */
import { ToolError } from '../core/errors.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Thresholds {
  /** Lowest acceptable success rate of the canary, percent. */
  minSuccessRate: number;
  /** Highest acceptable p99 latency of the canary, milliseconds. */
  maxLatencyP99Ms: number;
  /** Fewest requests the canary must have served in the window for a verdict. */
  minRequests: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { minSuccessRate: 99, maxLatencyP99Ms: 500, minRequests: 50 };

export interface MetricTemplate {
  name: string;
  /** PromQL with {{namespace}}, {{target}} and {{interval}}. */
  query: string;
  min?: number;
  max?: number;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const KNOWN = new Set(['namespace', 'target', 'interval']);

/** A template's PromQL with its placeholders filled; an unknown placeholder is an error naming it. */
export function renderTemplate(query: string, vars: { namespace: string; target: string; interval: string }) {
  const unknown = [...query.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((n) => !KNOWN.has(n));
  if (unknown.length) {
    throw new ToolError(
      'invalid_arguments',
      `metric template uses {{${unknown[0]}}}; only {{namespace}}, {{target}} and {{interval}} are filled in`,
    );
  }
  // Values are Kubernetes names and a checked duration: nothing in them can end a PromQL string.
  return query.replace(PLACEHOLDER, (_, n: 'namespace' | 'target' | 'interval') => vars[n]);
}

/** The Linkerd proxy's inbound metrics of one Deployment (labels as the proxy writes them). */
export function linkerdQueries(namespace: string, deployment: string, window: string) {
  const sel = `namespace="${namespace}",deployment="${deployment}",direction="inbound"`;
  return {
    requests: `sum(increase(response_total{${sel}}[${window}]))`,
    successRate: `sum(rate(response_total{${sel},classification!="failure"}[${window}])) / sum(rate(response_total{${sel}}[${window}])) * 100`,
    latencyP99Ms: `histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{${sel}}[${window}])))`,
  };
}

export interface Check {
  name: string;
  query: string;
  /** Undefined: the query returned no data. */
  value?: number;
  min?: number;
  max?: number;
  /** The stable version's value, for comparison. */
  stable?: number;
  result: Verdict;
  note?: string;
}

export function judge(value: number | undefined, min?: number, max?: number): Verdict {
  if (value === undefined || Number.isNaN(value)) return 'inconclusive';
  if (min !== undefined && value < min) return 'fail';
  if (max !== undefined && value > max) return 'fail';
  return 'pass';
}

/**
 * The overall verdict: too little traffic (or no data) makes it inconclusive whatever the numbers
 * say; otherwise any failed check fails it.
 */
export function overall(requests: number | undefined, minRequests: number, checks: readonly Check[]) {
  if (requests !== undefined && requests < minRequests) {
    return {
      verdict: 'inconclusive' as Verdict,
      reason: `the canary served ${Math.round(requests)} requests in the window, fewer than the ${minRequests} needed to judge it`,
    };
  }
  const failed = checks.filter((c) => c.result === 'fail');
  if (failed.length) {
    return {
      verdict: 'fail' as Verdict,
      reason: `failed: ${failed.map((c) => describeCheck(c)).join('; ')}`,
    };
  }
  const unknown = checks.filter((c) => c.result === 'inconclusive');
  if (unknown.length || requests === undefined) {
    return {
      verdict: 'inconclusive' as Verdict,
      reason: `no data for ${unknown.map((c) => c.name).join(', ') || 'the request count'}; is the canary receiving traffic and scraped?`,
    };
  }
  return { verdict: 'pass' as Verdict, reason: 'every check is within its threshold' };
}

export function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return 'no data';
  if (Math.abs(v) >= 100) return v.toFixed(1).replace(/\.0$/, '');
  return Number(v.toPrecision(4)).toString();
}

export function describeCheck(c: Check): string {
  const bound = [c.min !== undefined ? `min ${c.min}` : '', c.max !== undefined ? `max ${c.max}` : '']
    .filter(Boolean)
    .join(', ');
  const stable = c.stable !== undefined ? ` (stable ${fmt(c.stable)})` : '';
  return `${c.name} ${fmt(c.value)}${stable}${bound ? ` [${bound}]` : ''} ${c.result}`;
}
