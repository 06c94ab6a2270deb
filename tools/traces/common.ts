import { z } from 'zod';
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

export { clipLine as clip, plural } from '../shared/text.js';
export { durationMs, lookbackArg, timestampArg, timeWindow } from '../shared/time.js';
