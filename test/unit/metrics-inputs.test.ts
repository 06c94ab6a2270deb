import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../tools/core/invoke.js';
import { metricsTools } from '../../tools/metrics/index.js';
import { formatMatcher, parseMatcher } from '../../tools/metrics/matchers.js';
import {
  defaultStep,
  formatDuration,
  parseDuration,
  parseTime,
  resolveRange,
} from '../../tools/metrics/time.js';

const tool = (name: string) => metricsTools.find((t) => t.name === name)!;

function problems(name: string, args: unknown): string {
  const r = tool(name).input.safeParse(args);
  return r.success ? '' : describeIssues(r.error);
}

describe('durations and times', () => {
  it('parses Prometheus durations', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2d')).toBe(172_800);
    expect(parseDuration('1w')).toBe(604_800);
    expect(parseDuration('500ms')).toBe(0.5);
    for (const bad of ['', '5', '1 hour', 'm5', '5M', '1m1h', '-5m', '0s'])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('formats durations the short way', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(86_400 + 61)).toBe('1d1m1s');
    expect(formatDuration(0.25)).toBe('250ms');
  });

  it('parses RFC3339 and unix times', () => {
    expect(parseTime('2024-05-01T12:00:00Z')).toBe(1_714_564_800);
    expect(parseTime('2024-05-01T14:00:00+02:00')).toBe(1_714_564_800);
    expect(parseTime('2024-05-01T12:00:00.5Z')).toBe(1_714_564_800.5);
    expect(parseTime('1714564800')).toBe(1_714_564_800);
    expect(parseTime(1_714_564_800)).toBe(1_714_564_800);
    for (const bad of ['yesterday', '2024-05-01', '2024-13-01T00:00:00Z', '12:00'])
      expect(parseTime(bad)).toBeUndefined();
  });

  it('the default step keeps a series at about 300 points or fewer, on a round step', () => {
    for (const range of [60, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400]) {
      const step = defaultStep(range);
      expect(range / step).toBeLessThanOrEqual(300);
      expect(range / step).toBeGreaterThanOrEqual(60);
    }
    expect(defaultStep(3600)).toBe(15);
  });

  it('resolves a window from lookback (default 1h) or start/end', () => {
    expect(resolveRange({ lookback: '6h', end: 100_000 })).toEqual({
      start: 100_000 - 21_600,
      end: 100_000,
      step: 120,
    });
    expect(resolveRange({ end: 7200 })).toEqual({ start: 3600, end: 7200, step: 15 });
    expect(resolveRange({ start: '1970-01-01T00:00:00Z', end: 600, step: '1m' })).toEqual({
      start: 0,
      end: 600,
      step: 60,
    });
  });
});

describe('promql_query_range input', () => {
  it('accepts a plain query with defaults', () => {
    const r = tool('promql_query_range').input.safeParse({ query: 'up' });
    expect(r.success).toBe(true);
    expect(r.data).toMatchObject({ query: 'up', chart: false, chartSeries: 6 });
  });

  it('says what is wrong with each bad argument', () => {
    expect(problems('promql_query_range', { query: '  ' })).toMatch(/^query: must be a PromQL expression/);
    expect(problems('promql_query_range', { query: 'up', lookback: '1 hour' })).toBe(
      'lookback: must be a duration such as 30s, 5m, 1h, 1h30m or 7d',
    );
    expect(problems('promql_query_range', { query: 'up', start: 'yesterday' })).toMatch(
      /^start: must be an RFC3339 time/,
    );
    expect(problems('promql_query_range', { query: 'up', start: 1000, lookback: '1h' })).toBe(
      'lookback: give start or lookback, not both',
    );
    expect(problems('promql_query_range', { query: 'up', start: 2000, end: 1000 })).toMatch(
      /^start: start \(.*\) must be before end/,
    );
    expect(problems('promql_query_range', { query: 'up', lookback: '30d', step: '1m' })).toMatch(
      /^step: a step of 1m over 30d gives 43201 points per series; Prometheus allows 11000: give a step of at least 3m56s/,
    );
    expect(problems('promql_query_range', { query: 'up', chartSeries: 50 })).toMatch(/^chartSeries: /);
  });
});

describe('silence inputs', () => {
  it('parses the four matcher operators and quoted values', () => {
    expect(parseMatcher('alertname="HighErrorRate"')).toEqual({
      name: 'alertname',
      value: 'HighErrorRate',
      isRegex: false,
      isEqual: true,
    });
    expect(parseMatcher('namespace =~ "pay.*"')).toEqual({
      name: 'namespace',
      value: 'pay.*',
      isRegex: true,
      isEqual: true,
    });
    expect(parseMatcher('severity!=info')).toEqual({
      name: 'severity',
      value: 'info',
      isRegex: false,
      isEqual: false,
    });
    expect(parseMatcher('pod!~"a\\"b"')).toEqual({
      name: 'pod',
      value: 'a"b',
      isRegex: true,
      isEqual: false,
    });
    expect(formatMatcher(parseMatcher('pod!~"a\\"b"') as never)).toBe('pod!~"a\\"b"');
  });

  it('refuses malformed matchers, bad regexes, silly durations and empty comments', () => {
    const base = { matchers: ['alertname="X"'], duration: '2h', comment: 'deploy window' };
    expect(problems('silence_create', base)).toBe('');
    expect(problems('silence_create', { ...base, matchers: ['alertname~"X"'] })).toMatch(
      /^matchers\.0: 'alertname~"X"' is not a matcher; write name="value"/,
    );
    expect(problems('silence_create', { ...base, matchers: ['pod=~"(unclosed"'] })).toMatch(
      /regular expression does not compile/,
    );
    expect(problems('silence_create', { ...base, matchers: [] })).toMatch(
      /^matchers: give at least one matcher/,
    );
    expect(problems('silence_create', { ...base, duration: '90d' })).toBe('duration: must be at most 30d');
    expect(problems('silence_create', { ...base, duration: '10s' })).toBe('duration: must be at least 1m');
    expect(problems('silence_create', { ...base, comment: ' ' })).toMatch(/^comment: say why/);
    expect(problems('silence_expire', { id: 'abc' })).toMatch(/^id: must be a silence id/);
  });

  it('golden signals and discovery refuse bad names', () => {
    expect(problems('workload_golden_signals', { namespace: 'Pay_ments', workload: 'api' })).toMatch(
      /^namespace: must be a Kubernetes namespace name/,
    );
    expect(problems('workload_golden_signals', { namespace: 'p', workload: 'api', window: '1s' })).toBe(
      'window: must be at least 2s',
    );
    expect(problems('metrics_label_values', { label: 'app.kubernetes.io/name' })).toMatch(
      /^label: must be a Prometheus label name/,
    );
    expect(problems('metrics_series', { match: [] })).toMatch(/^match: /);
  });
});
