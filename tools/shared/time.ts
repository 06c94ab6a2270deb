// Time arguments shared by the toolsets that query a window of data (traces, logs): durations such
// as "1h30m", a lookback, RFC 3339 timestamps, and the window they give.
import { z } from 'zod';
import { ToolError } from '../core/errors.js';

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
