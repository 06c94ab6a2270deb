// Five-field cron expressions (minute hour day-of-month month day-of-week) evaluated in an IANA time
// zone. Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists, and names (JAN, MON).
// As in Vixie cron, when both day-of-month and day-of-week are restricted, either may match.
// A wall-clock time skipped by a daylight-saving change does not fire; one repeated fires once.

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const NAMES: Record<number, string[]> = {
  3: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  4: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};

export class CronError extends Error {}

export interface Cron {
  expression: string;
  timeZone: string;
  /** The first firing strictly after `after` (ms since the epoch). */
  next(after: number): number;
  /** The last firing at or before `at`, searching back at most `withinMs`. */
  previous(at: number, withinMs: number): number | undefined;
}

function parseField(text: string, index: number): Set<number> {
  const f = FIELDS[index]!;
  const out = new Set<number>();
  const value = (s: string): number => {
    const named = NAMES[index]?.indexOf(s.toUpperCase());
    if (named !== undefined && named >= 0) return named + (index === 3 ? 1 : 0);
    if (!/^\d+$/.test(s)) throw new CronError(`${f.name}: '${s}' is not a number`);
    const n = Number(s);
    if (n < f.min || n > f.max) throw new CronError(`${f.name}: ${n} is outside ${f.min}-${f.max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(`${f.name}: bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.max];
    else if (range?.includes('-')) {
      const [a, b] = range.split('-');
      [lo, hi] = [value(a ?? ''), value(b ?? '')];
      if (lo > hi) throw new CronError(`${f.name}: range '${range}' runs backwards`);
    } else {
      lo = value(range ?? '');
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(index === 4 && v === 7 ? 0 : v);
  }
  return out;
}

function zoneParts(fmt: Intl.DateTimeFormat, t: number) {
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const weekday = new Date(Date.UTC(p.year!, p.month! - 1, p.day!)).getUTCDay();
  return { month: p.month!, day: p.day!, hour: p.hour! % 24, minute: p.minute!, weekday };
}

export function parseCron(expression: string, timeZone = 'UTC'): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new CronError(
      `'${expression}' has ${fields.length} fields; give five: minute hour day-of-month month day-of-week (e.g. "0 8 * * 1-5")`,
    );
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  } catch {
    throw new CronError(`unknown time zone '${timeZone}'; give an IANA name such as Asia/Shanghai or UTC`);
  }
  const [minutes, hours, doms, months, dows] = fields.map((f, i) => parseField(f, i)) as Set<number>[];
  const domAny = fields[2] === '*';
  const dowAny = fields[4] === '*';
  const dayMatches = (p: ReturnType<typeof zoneParts>) => {
    if (!months!.has(p.month)) return false;
    const dom = doms!.has(p.day);
    const dow = dows!.has(p.weekday);
    if (domAny || dowAny) return dom && dow;
    return dom || dow;
  };
  const MIN = 60_000;
  const matches = (t: number): boolean => {
    const p = zoneParts(fmt, t);
    if (!dayMatches(p) || !hours!.has(p.hour) || !minutes!.has(p.minute)) return false;
    // A wall-clock minute repeated when clocks go back fires only the first time.
    const before = zoneParts(fmt, t - 60 * MIN);
    return !(before.hour === p.hour && before.minute === p.minute && before.day === p.day);
  };
  const HORIZON = 5 * 366 * 24 * 60 * MIN; // five years: a valid expression fires well within it
  return {
    expression,
    timeZone,
    next(after: number): number {
      let t = Math.floor(after / MIN) * MIN + MIN;
      const stop = after + HORIZON;
      while (t <= stop) {
        const p = zoneParts(fmt, t);
        if (!dayMatches(p)) t += ((23 - p.hour) * 60 + (60 - p.minute)) * MIN;
        else if (!hours!.has(p.hour)) t += (60 - p.minute) * MIN;
        else if (!minutes!.has(p.minute) || !matches(t)) t += MIN;
        else return t;
      }
      throw new CronError(`'${expression}' never fires (e.g. February 30th)`);
    },
    previous(at: number, withinMs: number): number | undefined {
      let t = Math.floor(at / MIN) * MIN;
      const stop = at - withinMs;
      for (; t >= stop; ) {
        const p = zoneParts(fmt, t);
        if (!dayMatches(p)) t -= (p.hour * 60 + p.minute + 1) * MIN;
        else if (!hours!.has(p.hour)) t -= (p.minute + 1) * MIN;
        else if (!minutes!.has(p.minute) || !matches(t)) t -= MIN;
        else return t;
      }
      return undefined;
    },
  };
}
