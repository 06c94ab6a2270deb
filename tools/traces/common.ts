import { z } from 'zod';
import { ToolError } from '../core/errors.js';
import { backendReadAnnotations } from '../core/types.js';

export const TOOLSET = 'traces';

export const readAnnotations = backendReadAnnotations;

export const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe(
    "Cluster whose Jaeger to query (a configured Jaeger instance's cluster or name); omit for the default cluster",
  );

export const serviceArg = z.string().min(1).max(256);

/** Go's time.ParseDuration grammar, which Jaeger's minDuration and maxDuration use: "250ms", "1.5s", "1m30s". */
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
export const goDurationArg = z
  .string()
  .regex(GO_DURATION, 'must be a duration such as "250ms", "1.5s" or "2m" (units ns, us, ms, s, m, h)');

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds in a duration such as "1h30m", "250ms" or "2d". */
export function durationMs(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return total;
}

const LOOKBACK = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
export const lookbackArg = z
  .string()
  .regex(LOOKBACK, 'must be a duration such as "15m", "1h", "2d" (units ms, s, m, h, d, w)')
  .refine(
    (s) => durationMs(s) > 0 && durationMs(s) <= 30 * 86_400_000,
    'must be more than 0 and at most 30d',
  );

export const timestampArg = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 timestamp, e.g. 2026-05-01T12:00:00Z');

/** The window [start, end] in epoch milliseconds from lookback/start/end arguments. */
export function timeWindow(
  args: { lookback?: string | undefined; start?: string | undefined; end?: string | undefined },
  defaultLookback: string,
  now = Date.now(),
): { startMs: number; endMs: number } {
  const endMs = args.end ? Date.parse(args.end) : now;
  const startMs = args.start ? Date.parse(args.start) : endMs - durationMs(args.lookback ?? defaultLookback);
  if (startMs >= endMs) {
    throw new ToolError('invalid_arguments', `start (${new Date(startMs).toISOString()}) must be before end`);
  }
  return { startMs, endMs };
}

/** 1.2s, 340ms, 85µs, 2m05s: durations given in microseconds, as Jaeger reports them. */
export function fmtMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  const ms = us / 1000;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

/**
 * One line of at most `max` characters. A cut never leaves half a token or an open quote behind:
 * the redactor recognises `password='…'` and `scheme://user:pass@host` only whole, so a value cut
 * in the middle of one must lose the whole of it.
 */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  cut = space > 0 ? cut.slice(0, space) : '';
  for (const q of ["'", '"', '`']) {
    if ((cut.split(q).length - 1) % 2 === 1) cut = cut.slice(0, cut.lastIndexOf(q));
  }
  return `${cut.trimEnd()}…`;
}

export const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
