import type { HttpBackend, RequestOptions } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import type { ToolContext } from '../core/types.js';

// The JSON of Jaeger's query service HTTP API (/api/...), as the Jaeger UI reads it.

export interface JaegerKeyValue {
  key: string;
  type?: string;
  value: unknown;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM' | string;
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: JaegerReference[] | null;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags?: JaegerKeyValue[] | null;
  logs?: Array<{ timestamp: number; fields: JaegerKeyValue[] }> | null;
  processID: string;
  warnings?: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerKeyValue[] | null }>;
  warnings?: string[] | null;
}

export interface JaegerDependency {
  parent: string;
  child: string;
  callCount: number;
  source?: string;
}

interface Envelope<T> {
  data: T;
  total?: number;
  errors?: Array<{ code?: number; msg?: string; traceID?: string }> | null;
}

export interface JaegerAnswer<T> {
  data: T;
  backend: HttpBackend;
  /** Errors Jaeger reported next to a usable answer (e.g. one trace of several not found). */
  warnings: string[];
}

/**
 * GET one Jaeger query API path. Jaeger wraps every answer as {data, total, errors}; its errors
 * (`{code, msg}`) become ToolErrors naming the instance, with Jaeger's own message.
 */
export async function jaegerGet<T>(
  ctx: ToolContext,
  cluster: string | undefined,
  path: string,
  query?: RequestOptions['query'],
): Promise<JaegerAnswer<T>> {
  const backend = ctx.backends.jaeger.pick(cluster);
  const res = await backend.request(path, { ...(query ? { query } : {}), signal: ctx.signal });
  let body: Envelope<T> | undefined;
  try {
    body = JSON.parse(res.body.toString('utf8')) as Envelope<T>;
  } catch {
    body = undefined;
  }
  const errors = (body?.errors ?? []).map((e) => e.msg ?? `code ${e.code}`).filter(Boolean);
  if (res.status >= 400) {
    if (!body || errors.length === 0) throw backend.httpError(res, path);
    const text = errors.join('; ');
    if (res.status === 404) throw new ToolError('not_found', `${backend.label}: ${text}`);
    if (res.status === 401 || res.status === 403)
      throw new ToolError(
        'unauthorized',
        `${backend.label} refused the credentials (HTTP ${res.status}): ${text}`,
      );
    throw new ToolError('backend_error', `${backend.label} (HTTP ${res.status}): ${text}`);
  }
  if (!body || typeof body !== 'object' || !('data' in body)) {
    throw new ToolError(
      'backend_error',
      `${backend.label} answered ${path} with something that is not Jaeger's query API JSON; check that the URL points at jaeger-query (port 16686 by default)`,
    );
  }
  return { data: body.data, backend, warnings: errors };
}
