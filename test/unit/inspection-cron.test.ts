import { describe, expect, it } from 'vitest';
import { inspectionsConfigSchema } from '../../app/inspections-config.js';
import { parseCron } from '../../tools/inspection/cron.js';

const iso = (t: number) => new Date(t).toISOString();
const at = (s: string) => Date.parse(s);

describe('cron with a time zone', () => {
  it('fires at 08:00 Shanghai time on weekdays (00:00 UTC)', () => {
    const c = parseCron('0 8 * * 1-5', 'Asia/Shanghai');
    // Friday 2026-12-04 09:00 Shanghai → next is Monday 2026-12-07 08:00 Shanghai
    expect(iso(c.next(at('2026-12-04T01:00:00Z')))).toBe('2026-12-07T00:00:00.000Z');
    expect(iso(c.next(at('2026-12-06T23:59:00Z')))).toBe('2026-12-07T00:00:00.000Z');
    expect(iso(c.next(at('2026-12-07T00:00:00Z')))).toBe('2026-12-08T00:00:00.000Z');
  });

  it('supports steps, lists, ranges and names', () => {
    const c = parseCron('*/15 9-10 * JAN,FEB MON', 'UTC');
    expect(iso(c.next(at('2027-01-01T00:00:00Z')))).toBe('2027-01-04T09:00:00.000Z');
    expect(iso(c.next(at('2027-01-04T09:50:00Z')))).toBe('2027-01-04T10:00:00.000Z');
    expect(iso(c.next(at('2027-01-04T10:45:00Z')))).toBe('2027-01-11T09:00:00.000Z');
  });

  it('either day field matches when both are restricted (as cron does)', () => {
    const c = parseCron('0 0 13 * 5', 'UTC');
    // 2026-12-11 is a Friday, 2026-12-13 the 13th
    expect(iso(c.next(at('2026-12-10T00:00:00Z')))).toBe('2026-12-11T00:00:00.000Z');
    expect(iso(c.next(at('2026-12-11T00:00:00Z')))).toBe('2026-12-13T00:00:00.000Z');
  });

  it('skips a time that a daylight-saving change removes and fires a repeated time once', () => {
    // New York: 2027-03-14 02:30 does not exist; 2027-11-07 01:30 happens twice.
    const spring = parseCron('30 2 * * *', 'America/New_York');
    expect(iso(spring.next(at('2027-03-13T08:00:00Z')))).toBe('2027-03-15T06:30:00.000Z');
    const fall = parseCron('30 1 * * *', 'America/New_York');
    const first = fall.next(at('2027-11-07T04:00:00Z'));
    expect(iso(first)).toBe('2027-11-07T05:30:00.000Z');
    expect(iso(fall.next(first))).toBe('2027-11-08T06:30:00.000Z');
  });

  it('finds the previous firing within a window', () => {
    const c = parseCron('0 */6 * * *', 'UTC');
    expect(iso(c.previous(at('2026-12-07T13:10:00Z'), 86_400_000)!)).toBe('2026-12-07T12:00:00.000Z');
    expect(c.previous(at('2026-12-07T13:10:00Z'), 60_000)).toBeUndefined();
  });

  it('refuses bad expressions and zones with a clear message', () => {
    expect(() => parseCron('0 8 * *')).toThrow(/has 4 fields; give five: minute hour/);
    expect(() => parseCron('61 8 * * *')).toThrow('minute: 61 is outside 0-59');
    expect(() => parseCron('0 8 * * *', 'Mars/Olympus')).toThrow(/unknown time zone 'Mars\/Olympus'/);
    expect(() => parseCron('0 0 30 2 *').next(0)).toThrow(/never fires/);
    // The configuration refuses it at start, rather than the scheduler at its first tick.
    const r = inspectionsConfigSchema.safeParse({ plans: [{ name: 'feb30', cron: '0 0 30 2 *' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/never fires/);
  });
});
