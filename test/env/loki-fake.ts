// A contract fake of Loki's HTTP query API (Loki itself is AGPL and cannot be used here). It serves
// Loki's real response formats from the streams a test gives it, evaluating a real subset of LogQL
// (see ./loki/logql.ts for exactly what is covered):
//   GET|POST /loki/api/v1/query         instant metric queries → vector (log queries: Loki's 400)
//   GET|POST /loki/api/v1/query_range   log queries → streams; metric queries → matrix
//   GET /loki/api/v1/labels, /loki/api/v1/label/<name>/values, /loki/api/v1/series, GET /ready
// with Loki's parameters (query, time, start, end, since, step, limit, direction), timestamps as
// nanosecond epochs, second epochs, fractional seconds or RFC 3339, its defaults (limit 100,
// direction backward, range one hour, step from the range), its plain-text 400s for bad queries and
// parameters, and multi-tenancy (with `tenants`, X-Scope-OrgID is required, as with auth_enabled;
// "a|b" queries several tenants).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  evalAt,
  labelKey,
  logStreams,
  PipelineError,
  type StoredStream,
  selectorMatches,
  sortedLabels,
} from './loki/evaluate.js';
import { type Expr, type Matcher, ParseError, parseDuration, parseLogQL } from './loki/logql.js';

/** A stream as Loki's push API takes it: labels and [nanosecond timestamp string, line] values. */
export interface LokiStreamInput {
  stream: Record<string, string>;
  values: Array<[string, string]>;
}

export interface LokiFakeOptions {
  /** One tenant, no authentication (Loki with auth_enabled: false): X-Scope-OrgID is ignored. */
  streams?: LokiStreamInput[];
  /** Several tenants (auth_enabled: true): requests without X-Scope-OrgID get 401 "no org id". */
  tenants?: Record<string, LokiStreamInput[]>;
  /** Loki's max_entries_limit_per_query (default 5000). */
  maxEntriesLimit?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface LokiFake {
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NS_PER_MS = 1_000_000n;

function toStored(input: LokiStreamInput[]): StoredStream[] {
  return input.map((s) => ({
    labels: { ...s.stream },
    entries: s.values.map(([ts, line]) => ({ ts: BigInt(ts), line })),
  }));
}

/** Loki's timestamp parameter forms: ns epoch, s epoch (≤ 10 digits), fractional seconds, RFC 3339. */
export function parseTimestamp(value: string | null, fallback: bigint, name: string): bigint {
  if (value === null || value === '') return fallback;
  if (/^\d+\.\d+$/.test(value)) {
    const [s, frac] = value.split('.');
    return BigInt(s!) * 1_000_000_000n + BigInt(frac!.padEnd(9, '0').slice(0, 9));
  }
  if (/^-?\d+$/.test(value))
    return value.replace('-', '').length <= 10 ? BigInt(value) * 1_000_000_000n : BigInt(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new HttpError(400, `invalid parameter "${name}": cannot parse "${value}" to a valid timestamp`);
  const nanos = /\.(\d+)/.exec(value)?.[1]?.padEnd(9, '0').slice(3, 9) ?? '0';
  return BigInt(ms) * NS_PER_MS + BigInt(nanos);
}

function durationParam(value: string | null, name: string): bigint | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(value)) return BigInt(Math.round(Number(value) * 1e9));
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new HttpError(400, `invalid parameter "${name}": cannot parse "${value}" to a valid duration`);
  return BigInt(ms) * NS_PER_MS;
}

function parse(query: string | null): Expr {
  if (!query) throw new HttpError(400, 'query parameter is required');
  try {
    return parseLogQL(query);
  } catch (e) {
    if (e instanceof ParseError) throw new HttpError(400, e.message);
    throw e;
  }
}

const seconds = (ns: bigint) => Number(ns) / 1e9;

function stats(lines: number, bytes: number) {
  return {
    summary: {
      bytesProcessedPerSecond: 0,
      linesProcessedPerSecond: 0,
      totalBytesProcessed: bytes,
      totalLinesProcessed: lines,
      execTime: 0.001,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: lines,
    },
    querier: { store: { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0 } },
    ingester: { totalReached: 1, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0 },
  };
}

export async function startLokiFake(opts: LokiFakeOptions): Promise<LokiFake> {
  const multiTenant = opts.tenants !== undefined;
  const data = new Map<string, StoredStream[]>();
  if (opts.tenants) for (const [t, s] of Object.entries(opts.tenants)) data.set(t, toStored(s));
  else data.set('fake', toStored(opts.streams ?? []));
  const maxEntries = opts.maxEntriesLimit ?? 5000;
  const requests: RecordedRequest[] = [];

  function streamsFor(headers: IncomingHttpHeaders): StoredStream[] {
    if (!multiTenant) return data.get('fake')!;
    const org = headers['x-scope-orgid'];
    if (typeof org !== 'string' || org.trim() === '') throw new HttpError(401, 'no org id');
    return org.split('|').flatMap((t) => data.get(t.trim()) ?? []);
  }

  function window(p: URLSearchParams, defaultSpanNs: bigint) {
    const now = BigInt(Date.now()) * NS_PER_MS;
    const end = parseTimestamp(p.get('end'), now, 'end');
    const since = durationParam(p.get('since'), 'since');
    const start = parseTimestamp(p.get('start'), end - (since ?? defaultSpanNs), 'start');
    if (end < start) throw new HttpError(400, 'end timestamp must not be before or equal to start time');
    return { start, end };
  }

  function common(p: URLSearchParams) {
    const limit = p.get('limit') ? Number(p.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit <= 0) throw new HttpError(400, 'limit must be a positive value');
    if (limit > maxEntries) {
      throw new HttpError(
        400,
        `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${maxEntries})`,
      );
    }
    const dir = (p.get('direction') ?? 'backward').toLowerCase();
    if (dir !== 'backward' && dir !== 'forward') throw new HttpError(400, 'invalid direction');
    return { limit, direction: dir as 'backward' | 'forward' };
  }

  function queryRange(p: URLSearchParams, streams: StoredStream[]) {
    const expr = parse(p.get('query'));
    const { start, end } = window(p, 3_600_000n * NS_PER_MS);
    const { limit, direction } = common(p);
    if (expr.kind === 'log') {
      const result = logStreams(streams, expr, start, end, direction, limit);
      const lines = result.reduce((n, s) => n + s.values.length, 0);
      const bytes = result.reduce((n, s) => n + s.values.reduce((b, v) => b + Buffer.byteLength(v[1]), 0), 0);
      return { resultType: 'streams', result, stats: stats(lines, bytes) };
    }
    const defaultStepS = Math.max(Math.floor(seconds(end - start) / 250), 1);
    const step = durationParam(p.get('step'), 'step') ?? BigInt(defaultStepS) * 1_000_000_000n;
    if (step <= 0n) {
      throw new HttpError(
        400,
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    }
    if ((end - start) / step > 11_000n) {
      throw new HttpError(
        400,
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    const series = new Map<string, { metric: Record<string, string>; values: Array<[number, string]> }>();
    for (let t = start; t <= end; t += step) {
      for (const [key, { labels, value }] of evalAt(streams, expr, t)) {
        const s = series.get(key) ?? { metric: labels, values: [] };
        s.values.push([seconds(t), String(value)]);
        series.set(key, s);
      }
    }
    const result = [...series.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => s);
    return { resultType: 'matrix', result, stats: stats(0, 0) };
  }

  function instant(p: URLSearchParams, streams: StoredStream[]) {
    const expr = parse(p.get('query'));
    common(p);
    if (expr.kind === 'log') {
      throw new HttpError(
        400,
        'log queries are not supported as an instant query type, please change your query to a range query type',
      );
    }
    const at = parseTimestamp(p.get('time'), BigInt(Date.now()) * NS_PER_MS, 'time');
    const result = [...evalAt(streams, expr, at).entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, { labels, value }]) => ({ metric: labels, value: [seconds(at), String(value)] }));
    return { resultType: 'vector', result, stats: stats(0, 0) };
  }

  /** Streams with entries in the window, optionally only those a selector matches. */
  function activeStreams(p: URLSearchParams, streams: StoredStream[], selectors: string[]) {
    const { start, end } = window(p, 6n * 3_600_000n * NS_PER_MS);
    const matcherSets: Matcher[][] = selectors.map((q) => {
      const expr = parse(q);
      if (expr.kind !== 'log' || expr.stages.length > 0)
        throw new HttpError(400, 'only label matchers are supported');
      return expr.matchers;
    });
    return streams.filter(
      (s) =>
        s.entries.some((e) => e.ts >= start && e.ts <= end) &&
        (matcherSets.length === 0 || matcherSets.some((m) => selectorMatches(s.labels, m))),
    );
  }

  function route(
    method: string,
    path: string,
    p: URLSearchParams,
    headers: IncomingHttpHeaders,
  ): [number, unknown] {
    if (path === '/ready') return [200, 'ready'];
    const streams = streamsFor(headers);
    if (path === '/loki/api/v1/query_range')
      return [200, { status: 'success', data: queryRange(p, streams) }];
    if (path === '/loki/api/v1/query') return [200, { status: 'success', data: instant(p, streams) }];
    if (path === '/loki/api/v1/labels' && method === 'GET') {
      const q = p.get('query');
      const names = new Set(activeStreams(p, streams, q ? [q] : []).flatMap((s) => Object.keys(s.labels)));
      return [200, { status: 'success', data: [...names].sort() }];
    }
    const values = /^\/loki\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
    if (values && method === 'GET') {
      const name = decodeURIComponent(values[1]!);
      const q = p.get('query');
      const set = new Set(
        activeStreams(p, streams, q ? [q] : [])
          .map((s) => s.labels[name])
          .filter((v): v is string => v !== undefined),
      );
      return [200, { status: 'success', data: [...set].sort() }];
    }
    if (path === '/loki/api/v1/series') {
      const match = p.getAll('match[]');
      if (match.length === 0) throw new HttpError(400, 'at least one match[] argument is required');
      const seen = new Map<string, Record<string, string>>();
      for (const s of activeStreams(p, streams, match)) seen.set(labelKey(s.labels), sortedLabels(s.labels));
      return [200, { status: 'success', data: [...seen.values()] }];
    }
    return [404, '404 page not found\n'];
  }

  async function body(req: IncomingMessage): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://loki');
    const params = new URLSearchParams(url.searchParams);
    if (req.method === 'POST' && /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      for (const [k, v] of new URLSearchParams(await body(req))) params.append(k, v);
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname, params, headers: req.headers });
    try {
      const [status, payload] = route(req.method ?? 'GET', url.pathname, params, req.headers);
      if (typeof payload === 'string') {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(payload);
      } else {
        res
          .writeHead(status, { 'content-type': 'application/json; charset=UTF-8' })
          .end(JSON.stringify(payload));
      }
    } catch (e) {
      // Loki writes errors as plain text with the status that fits (server.WriteError).
      const status = e instanceof HttpError ? e.status : e instanceof PipelineError ? 400 : 500;
      res
        .writeHead(status, {
          'content-type': 'text/plain; charset=utf-8',
          'x-content-type-options': 'nosniff',
        })
        .end((e as Error).message);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Nanosecond timestamp string for a Date or epoch milliseconds, as Loki's push API wants. */
export function ns(at: Date | number): string {
  return (BigInt(typeof at === 'number' ? Math.round(at) : at.getTime()) * NS_PER_MS).toString();
}
