import type { HttpBackend, RequestOptions } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import type { ToolContext } from '../core/types.js';

// The JSON of Loki's HTTP query API.

export interface LokiStream {
  stream: Record<string, string>;
  values: Array<[string, string] | [string, string, Record<string, string>]>;
}

export interface LokiSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

export type LokiQueryData =
  | { resultType: 'streams'; result: LokiStream[] }
  | { resultType: 'matrix'; result: LokiSeries[] }
  | { resultType: 'vector'; result: LokiSeries[] }
  | { resultType: 'scalar'; result: [number, string] };

export interface LokiAnswer<T> {
  data: T;
  backend: HttpBackend;
}

/**
 * One call to Loki's API. Loki answers errors in plain text (a bad query is a 400 whose body is
 * its parser's message); they come back as ToolErrors naming the instance, with Loki's own words.
 */
export async function lokiGet<T>(
  ctx: ToolContext,
  cluster: string | undefined,
  path: string,
  query: RequestOptions['query'],
): Promise<LokiAnswer<T>> {
  const backend = ctx.backends.loki.pick(cluster);
  // GET, as Grafana's Loki data source sends queries: the client retries GETs within the deadline.
  const res = await backend.request(path, { query, signal: ctx.signal });
  const text = res.body.toString('utf8').trim();
  if (res.status === 401 && /no org id/i.test(text)) {
    throw new ToolError(
      'unauthorized',
      `${backend.label} needs a tenant (HTTP 401: ${text}); set tenant: on this instance under observability.loki (it is sent as X-Scope-OrgID)`,
    );
  }
  if (res.status === 400) {
    const hint = /not supported as an instant query/.test(text)
      ? ' Use logql_query_range (or logs_search) for log lines; logql_query is for metric queries such as count_over_time or rate.'
      : /parse error|syntax error/.test(text)
        ? ' Fix the LogQL, or use logs_search, which builds it for you.'
        : '';
    throw new ToolError(
      'invalid_arguments',
      `${backend.label} rejected the query (HTTP 400): ${text}.${hint}`,
    );
  }
  if (res.status < 200 || res.status >= 300) throw backend.httpError(res, path);
  let body: { status?: string; data?: T; error?: string };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ToolError(
      'backend_error',
      `${backend.label} answered ${path} with something that is not Loki's JSON; check that the URL points at Loki's HTTP API (port 3100 by default, or the query frontend / gateway)`,
    );
  }
  if (body.status && body.status !== 'success') {
    throw new ToolError('backend_error', `${backend.label}: ${body.error ?? `status ${body.status}`}`);
  }
  return { data: body.data as T, backend };
}

/** Nanoseconds since the epoch, as Loki's API takes timestamps. */
export function nanos(ms: number): string {
  return `${BigInt(Math.round(ms)) * 1_000_000n}`;
}
