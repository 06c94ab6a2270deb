/**
 * Runs a canary analysis against Prometheus: the Linkerd proxy's success rate and p99 latency of
 * the canary and the stable Deployment over a window, plus any user metric templates, each query
 * shown with its number.
 */
import type { HttpBackend } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import {
  type Check,
  DEFAULT_THRESHOLDS,
  judge,
  linkerdQueries,
  type MetricTemplate,
  overall,
  renderTemplate,
  type Thresholds,
  type Verdict,
} from './analysis.js';

export interface AnalysisInput {
  namespace: string;
  canary: string;
  stable?: string;
  window: string;
  thresholds?: Partial<Thresholds>;
  metrics?: MetricTemplate[];
}

export interface AnalysisResult {
  verdict: Verdict;
  reason: string;
  namespace: string;
  canary: string;
  stable?: string;
  window: string;
  requests?: number;
  requestsQuery: string;
  checks: Check[];
}

interface Vector {
  status: string;
  data?: { resultType: string; result: Array<{ value: [number, string] }> | [number, string] };
  error?: string;
}

/** One instant query; undefined when it returns no series (or NaN, as a rate over no traffic does). */
export async function instant(
  prom: HttpBackend,
  query: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const res = await prom.request('api/v1/query', { query: { query }, signal });
  let body: Vector | undefined;
  try {
    body = JSON.parse(res.body.toString('utf8')) as Vector;
  } catch {
    body = undefined;
  }
  if (res.status < 200 || res.status >= 300 || body?.status !== 'success') {
    if (body?.error)
      throw new ToolError('backend_error', `${prom.label} refused the query ${query}: ${body.error}`);
    throw prom.httpError(res, 'api/v1/query');
  }
  const data = body.data!;
  const raw =
    data.resultType === 'scalar'
      ? (data.result as [number, string])[1]
      : (data.result as Array<{ value: [number, string] }>)[0]?.value[1];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  return Number.isFinite(v) ? v : undefined;
}

export async function runAnalysis(
  prom: HttpBackend,
  input: AnalysisInput,
  signal: AbortSignal,
): Promise<AnalysisResult> {
  const t = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const c = linkerdQueries(input.namespace, input.canary, input.window);
  const s = input.stable ? linkerdQueries(input.namespace, input.stable, input.window) : undefined;
  const templates = (input.metrics ?? []).map((m) => ({
    m,
    canary: renderTemplate(m.query, {
      namespace: input.namespace,
      target: input.canary,
      interval: input.window,
    }),
    stable: input.stable
      ? renderTemplate(m.query, { namespace: input.namespace, target: input.stable, interval: input.window })
      : undefined,
  }));
  const q = (query: string | undefined) =>
    query ? instant(prom, query, signal) : Promise.resolve(undefined);
  const [requests, rate, p99, stableRate, stableP99, ...custom] = await Promise.all([
    q(c.requests),
    q(c.successRate),
    q(c.latencyP99Ms),
    q(s?.successRate),
    q(s?.latencyP99Ms),
    ...templates.flatMap((x) => [q(x.canary), q(x.stable)]),
  ]);
  const checks: Check[] = [
    {
      name: 'success rate %',
      query: c.successRate,
      value: rate,
      min: t.minSuccessRate,
      ...(stableRate !== undefined ? { stable: stableRate } : {}),
      result: judge(rate, t.minSuccessRate),
    },
    {
      name: 'p99 latency ms',
      query: c.latencyP99Ms,
      value: p99,
      max: t.maxLatencyP99Ms,
      ...(stableP99 !== undefined ? { stable: stableP99 } : {}),
      result: judge(p99, undefined, t.maxLatencyP99Ms),
    },
    ...templates.map((x, i) => {
      const value = custom[2 * i];
      const stable = custom[2 * i + 1];
      return {
        name: x.m.name,
        query: x.canary,
        value,
        ...(x.m.min !== undefined ? { min: x.m.min } : {}),
        ...(x.m.max !== undefined ? { max: x.m.max } : {}),
        ...(stable !== undefined ? { stable } : {}),
        result: judge(value, x.m.min, x.m.max),
      } satisfies Check;
    }),
  ];
  const { verdict, reason } = overall(requests, t.minRequests, checks);
  return {
    verdict,
    reason,
    namespace: input.namespace,
    canary: input.canary,
    ...(input.stable ? { stable: input.stable } : {}),
    window: input.window,
    ...(requests !== undefined ? { requests } : {}),
    requestsQuery: c.requests,
    checks,
  };
}
