import { z } from 'zod';

/** Prometheus durations: units from largest to smallest, each at most once ("1h30m", "5m", "90s"). */
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_SECONDS = [365 * 86_400, 7 * 86_400, 86_400, 3600, 60, 1, 0.001];

/** Seconds in a Prometheus duration, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  let seconds = 0;
  for (let i = 1; i < m.length; i++) if (m[i]) seconds += Number(m[i]) * UNIT_SECONDS[i - 1]!;
  return seconds > 0 ? seconds : undefined;
}

/** "1h30m", "45s", "2d": the shortest Prometheus form of a number of seconds. */
export function formatDuration(seconds: number): string {
  if (seconds > 0 && seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** Unix seconds from an RFC3339 time or a unix timestamp (seconds), or undefined. */
export function parseTime(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

export function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

export const durationArg = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'must be a duration such as 30s, 5m, 1h, 1h30m or 7d',
  abort: true,
});

export const timeArg = z.union([z.number(), z.string()]).refine((v) => parseTime(v) !== undefined, {
  message: 'must be an RFC3339 time such as 2024-05-01T12:00:00Z, or unix seconds such as 1714564800',
  abort: true,
});

/** Nice steps: the default step is the smallest of these that keeps a series under the point budget. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

export function defaultStep(rangeSeconds: number, maxPoints = 300): number {
  const wanted = rangeSeconds / maxPoints;
  return STEPS.find((s) => s >= wanted) ?? Math.ceil(wanted / 86_400) * 86_400;
}

/** Prometheus refuses range queries over this many points per series. */
export const MAX_POINTS = 11_000;

export interface RangeWindow {
  start: number;
  end: number;
  step: number;
}

/** start/end/step from the arguments: lookback (default 1h) when no start, end defaults to now. */
export function resolveRange(
  args: { start?: string | number; end?: string | number; lookback?: string; step?: string },
  now = Date.now() / 1000,
): RangeWindow {
  const end = args.end !== undefined ? parseTime(args.end)! : now;
  const start =
    args.start !== undefined ? parseTime(args.start)! : end - parseDuration(args.lookback ?? '1h')!;
  const step = args.step ? parseDuration(args.step)! : defaultStep(end - start);
  return { start, end, step };
}

/** Zod check shared by range inputs: a window that makes sense and that Prometheus will serve. */
export function checkRange(
  args: { start?: string | number; end?: string | number; lookback?: string; step?: string },
  ctx: z.RefinementCtx,
): void {
  if (args.start !== undefined && args.lookback !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['lookback'], message: 'give start or lookback, not both' });
    return;
  }
  const times = [args.start, args.end].map((t) => (t === undefined ? 0 : parseTime(t)));
  const durations = [args.lookback, args.step].map((d) => (d === undefined ? 1 : parseDuration(d)));
  if ([...times, ...durations].some((v) => v === undefined)) return; // field errors already say why
  const { start, end, step } = resolveRange(args);
  if (start >= end) {
    ctx.addIssue({
      code: 'custom',
      path: ['start'],
      message: `start (${isoTime(start)}) must be before end (${isoTime(end)})`,
    });
    return;
  }
  const points = Math.floor((end - start) / step) + 1;
  if (points > MAX_POINTS) {
    ctx.addIssue({
      code: 'custom',
      path: ['step'],
      message: `a step of ${formatDuration(step)} over ${formatDuration(end - start)} gives ${points} points per series; Prometheus allows ${MAX_POINTS}: give a step of at least ${formatDuration(Math.ceil((end - start) / (MAX_POINTS - 1)))}`,
    });
  }
}
