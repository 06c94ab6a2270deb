import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildLogQL, labelNames, logqlString, regexEscape } from '../../tools/logs/logql.js';
import { selectEntries } from '../env/loki/evaluate.js';
import { type LogExpr, parseLogQL } from '../env/loki/logql.js';

const promtail = labelNames(['namespace', 'pod', 'container', 'app', 'job', 'node_name']);

describe('LogQL string literals', () => {
  it('escapes quotes, backslashes and control characters as Go string literals', () => {
    expect(logqlString('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(logqlString('a\tb\nc\r')).toBe('"a\\tb\\nc\\r"');
    expect(logqlString('bell\x07')).toBe('"bell\\x07"');
    expect(logqlString('C:\\temp\\new')).toBe('"C:\\\\temp\\\\new"');
  });

  it('round-trips any text through a Go-semantics LogQL parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        fc.pre(text.length > 0);
        const expr = parseLogQL(`{app="x"} |= ${logqlString(text)}`) as LogExpr;
        const stage = expr.stages[0];
        return stage?.kind === 'line' && stage.op === '|=' && stage.value === text;
      }),
      { numRuns: 200 },
    );
  }, 30_000);

  it('escapes regex metacharacters so the text matches only itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 5 }), (text, other) => {
        const re = new RegExp(`^${regexEscape(text)}$`);
        expect(re.test(text)).toBe(true);
        if (other !== text) expect(re.test(other)).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(regexEscape('api.v1+(x)')).toBe('api\\.v1\\+\\(x\\)');
  });
});

describe('buildLogQL', () => {
  it('builds a selector from Kubernetes fields and line filters from text', () => {
    expect(
      buildLogQL({ namespace: 'payments', pod: 'api', container: 'server', contains: ['timeout'] }, promtail),
    ).toBe('{namespace="payments", pod=~"api.*", container="server"} |= "timeout"');
  });

  it('quotes what the user typed: quotes, backslashes and regex characters in text and pod prefixes', () => {
    const q = buildLogQL(
      { namespace: 'payments', pod: 'api.v1', contains: ['path "C:\\tmp"'], excludes: ['\\health'] },
      promtail,
    );
    expect(q).toBe('{namespace="payments", pod=~"api\\\\.v1.*"} |= "path \\"C:\\\\tmp\\"" != "\\\\health"');
    const expr = parseLogQL(q) as LogExpr;
    expect(expr.matchers[1]).toMatchObject({ name: 'pod', op: '=~', value: 'api\\.v1.*' });
    expect(expr.stages).toMatchObject([
      { kind: 'line', op: '|=', value: 'path "C:\\tmp"' },
      { kind: 'line', op: '!=', value: '\\health' },
    ]);
  });

  it('finds exactly the lines containing the text, whatever characters it has', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.boolean(), (needle, ignoreCase) => {
        const lines = [`before ${needle} after`, 'unrelated line', `${needle.toUpperCase()}!`];
        const stream = {
          labels: { namespace: 'ns' },
          entries: lines.map((line, i) => ({ ts: BigInt(i + 1), line })),
        };
        const expr = parseLogQL(
          buildLogQL({ namespace: 'ns', contains: [needle], ignoreCase }, promtail),
        ) as LogExpr;
        const got = selectEntries([stream], expr, 0n, 10n).map((e) => e.line);
        const want = lines.filter((l) =>
          ignoreCase ? l.toLowerCase().includes(needle.toLowerCase()) : l.includes(needle),
        );
        // Case folding of non-ASCII letters may differ between engines; compare on ASCII only.
        fc.pre(!ignoreCase || /^[\x20-\x7e]*$/.test(needle));
        expect(got).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });

  it("uses the installation's own label names", () => {
    const otel = labelNames([
      'k8s_namespace_name',
      'k8s_pod_name',
      'k8s_container_name',
      'service_name',
      'severity_text',
    ]);
    expect(buildLogQL({ namespace: 'shop', app: 'cart', level: 'error' }, otel)).toBe(
      '{k8s_namespace_name="shop", service_name="cart", severity_text=~"(?i)(error|err|fatal|panic|critical|crit|alert|emerg|emergency|severe|dpanic)"}',
    );
  });

  it('matches the level as a word in the line when there is no level label', () => {
    const q = buildLogQL({ namespace: 'shop', level: 'error' }, promtail);
    expect(q).toBe('{namespace="shop"} |~ "(?i)\\\\b(error|err|fatal|panic|critical|exception)\\\\b"');
    const expr = parseLogQL(q) as LogExpr;
    const stream = {
      labels: { namespace: 'shop' },
      entries: ['ERROR db down', 'user errorless', 'panic: nil map', 'all good'].map((line, i) => ({
        ts: BigInt(i),
        line,
      })),
    };
    expect(selectEntries([stream], expr, 0n, 10n).map((e) => e.line)).toEqual([
      'ERROR db down',
      'panic: nil map',
    ]);
  });

  it('adds extra exact label matches and a regex, case-insensitively when asked', () => {
    expect(
      buildLogQL({ labels: { job: 'payments/api' }, regex: 'status=5\\d\\d', ignoreCase: true }, promtail),
    ).toBe('{job="payments/api"} |~ "(?i)status=5\\\\d\\\\d"');
  });
});
