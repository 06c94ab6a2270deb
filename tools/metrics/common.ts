import { z } from 'zod';
import type { HttpBackend, RequestOptions } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import { backendReadAnnotations } from '../core/types.js';

export const TOOLSET = 'metrics';

export const readAnnotations = backendReadAnnotations;

export const readPermission = { toolset: TOOLSET, verb: 'read', namespaced: false } as const;

export const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe(
    'Cluster whose Prometheus/Alertmanager to ask (or the instance name from observability config); omit for the default',
  );

export const promqlArg = z
  .string()
  .trim()
  .min(1, 'must be a PromQL expression, e.g. sum by (pod) (rate(http_requests_total[5m]))')
  .max(20_000, 'is longer than 20,000 characters');

/** `up{job="api"}` style series selectors for discovery endpoints. */
export const matchArg = z
  .array(z.string().trim().min(1).max(4000))
  .min(1)
  .max(20)
  .describe(
    'Series selectors, e.g. ["up{job=\\"node\\"}", "{__name__=~\\"http_.*\\", namespace=\\"payments\\"}"]',
  );

export type Labels = Record<string, string>;
export type SamplePair = [number, string];

export interface PromVectorSample {
  metric: Labels;
  value: SamplePair;
}
export interface PromMatrixSeries {
  metric: Labels;
  values: SamplePair[];
}
export type PromQueryData =
  | { resultType: 'vector'; result: PromVectorSample[] }
  | { resultType: 'matrix'; result: PromMatrixSeries[] }
  | { resultType: 'scalar' | 'string'; result: SamplePair };

interface PromEnvelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

/**
 * One Prometheus HTTP API call, the body as it came. A bad query comes back with Prometheus's own
 * words ("1:17: parse error: unclosed left parenthesis"), naming the instance.
 */
export async function promBody(
  prom: HttpBackend,
  path: string,
  query: RequestOptions['query'],
  signal: AbortSignal,
): Promise<Buffer> {
  const res = await prom.request(path, { query, signal });
  if (res.status >= 200 && res.status < 300) return res.body;
  let body: PromEnvelope<unknown> | undefined;
  try {
    body = JSON.parse(res.body.toString('utf8')) as PromEnvelope<unknown>;
  } catch {
    body = undefined;
  }
  if (body?.error) {
    const kind = body.errorType ? ` (${body.errorType})` : '';
    const code = res.status === 401 || res.status === 403 ? 'unauthorized' : 'backend_error';
    throw new ToolError(code, `${prom.label} refused the query${kind}: ${body.error}`);
  }
  throw prom.httpError(res, path);
}

/** A Prometheus answer unwrapped from its envelope. */
export function parseEnvelope<T>(prom: HttpBackend, raw: Buffer): { data: T; warnings: string[] } {
  let body: PromEnvelope<T>;
  try {
    body = JSON.parse(raw.toString('utf8')) as PromEnvelope<T>;
  } catch {
    throw new ToolError('backend_error', `${prom.label} answered with something that is not JSON`);
  }
  if (body.status !== 'success') {
    throw new ToolError('backend_error', `${prom.label} refused the query: ${body.error ?? 'unknown error'}`);
  }
  return { data: body.data as T, warnings: body.warnings ?? [] };
}

/** One Prometheus HTTP API call, unwrapped from its envelope. */
export async function promApi<T>(
  prom: HttpBackend,
  path: string,
  query: RequestOptions['query'],
  signal: AbortSignal,
): Promise<{ data: T; warnings: string[] }> {
  return parseEnvelope<T>(prom, await promBody(prom, path, query, signal));
}

/** Alertmanager API v2 (JSON, errors as plain text or a JSON string). */
export async function alertmanagerApi<T>(
  am: HttpBackend,
  path: string,
  opts: RequestOptions & { signal: AbortSignal },
): Promise<T> {
  return am.json<T>(`api/v2/${path.replace(/^\//, '')}`, opts);
}

/** Numbers as a person reads them: 3 significant digits, k/M/G for large ones, no float noise. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e15 || a < 1e-3) return v.toExponential(2);
  for (const [size, suffix] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e4, 'k'],
  ] as const) {
    if (a >= size) return `${trim((v / size).toPrecision(3))}${suffix}`;
  }
  return trim(v.toPrecision(3));
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${trim(x.toPrecision(3))} ${units[i]}`;
}

export function pct(ratio: number): string {
  return Number.isFinite(ratio) ? `${trim((ratio * 100).toPrecision(3))}%` : 'n/a';
}

/** A sample value: Prometheus sends them as strings ("NaN", "+Inf" included). */
export function sampleValue(s: string): number {
  return Number(s === '+Inf' ? Number.POSITIVE_INFINITY : s === '-Inf' ? Number.NEGATIVE_INFINITY : s);
}

/** JSON cannot carry NaN or infinities: they travel as Prometheus writes them. */
export function jsonValue(v: number): number | string {
  return Number.isFinite(v) ? v : num(v);
}

/** `{job="api", pod="api-1"}`; the metric name in front when present. */
export function formatLabels(labels: Labels, omit: ReadonlySet<string> = new Set()): string {
  const name = omit.has('__name__') ? undefined : labels.__name__;
  const body = Object.entries(labels)
    .filter(([k]) => k !== '__name__' && !omit.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  if (name) return body ? `${name}{${body}}` : name;
  return `{${body}}`;
}

/** Labels with the same value on every series: said once, left out of each row. */
export function commonLabels(all: Labels[]): Labels {
  if (all.length < 2) return {};
  const first = all[0]!;
  const common: Labels = {};
  for (const [k, v] of Object.entries(first)) if (all.every((l) => l[k] === v)) common[k] = v;
  return common;
}

/** A PromQL string literal. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** A regular expression that matches `text` literally (RE2 syntax, as Prometheus uses). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
