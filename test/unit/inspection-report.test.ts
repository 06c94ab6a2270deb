import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeReader } from '../../tools/clients/kube-raw.js';
import { shippedChecks } from '../../tools/inspection/check.js';
import { escapeHtml, renderHtml } from '../../tools/inspection/html.js';
import type { CheckResult, Finding, Report } from '../../tools/inspection/model.js';
import { computeScores, diffReports } from '../../tools/inspection/report.js';
import { findingId, formatValue, grade, runChecks } from '../../tools/inspection/runner.js';
import { checkCitations, templatedSummary } from '../../tools/inspection/summary.js';

const check = (
  id: string,
  scope: CheckResult['scope'],
  status: CheckResult['status'],
  severity?: Finding['severity'],
  weight = 1,
): CheckResult => ({
  id,
  title: id,
  scope,
  status,
  weight,
  findings: status === 'failed' ? 1 : 0,
  ...(severity ? { severity, bySeverity: { [severity]: 1 } } : {}),
  durationMs: 1,
});

const finding = (
  checkId: string,
  subject: string,
  severity: Finding['severity'],
  scope: Finding['scope'] = 'cluster',
): Finding => ({
  id: findingId(checkId, subject),
  checkId,
  title: checkId,
  scope,
  severity,
  subject,
  value: 97,
  threshold: 95,
  op: '>=',
  unit: 'percent',
  message: `${subject} is 97% full`,
  remediation: 'Remove old data.',
  evidence: { query: 'up', labels: { instance: subject } },
});

describe('scores', () => {
  it('follow the documented formula per scope and overall; unevaluated checks do not count', () => {
    const checks = [
      check('a', 'host', 'passed'),
      check('b', 'host', 'failed', 'critical', 2),
      check('c', 'host', 'failed', 'warning'),
      check('d', 'host', 'no_data'),
      check('e', 'cluster', 'passed'),
      check('f', 'cluster', 'failed', 'info'),
      check('g', 'database', 'skipped'),
    ];
    const s = computeScores(checks, ['host', 'cluster', 'database']);
    // host: weight 4, penalty 2×1 + 0.5 = 2.5 → 100 × (1 − 2.5/4) = 37.5 → 38
    expect(s.byScope.host).toMatchObject({
      score: 38,
      grade: 'F',
      evaluated: 3,
      failed: 2,
      critical: 1,
      warning: 1,
    });
    // cluster: weight 2, penalty 0.1 → 95
    expect(s.byScope.cluster).toMatchObject({ score: 95, grade: 'A' });
    expect(s.byScope.database).toMatchObject({ score: null, grade: '-', evaluated: 0 });
    // overall: weight 6, penalty 2.6 → 56.67 → 57
    expect(s).toMatchObject({ overall: 57, grade: 'F' });
  });
});

describe('grading a value against bands', () => {
  it('takes the worst band crossed, in the band’s direction', () => {
    const c = { bands: { op: '<', warning: 30, critical: 7 } } as never;
    expect(grade(c, 3)).toEqual({ severity: 'critical', threshold: 7 });
    expect(grade(c, 20)).toEqual({ severity: 'warning', threshold: 30 });
    expect(grade(c, 31)).toBeUndefined();
    expect(grade(c, Number.NaN)).toBeUndefined();
    expect(formatValue(0.0712, 'ratio')).toBe('7.1%');
    expect(formatValue(3 * 1024 ** 3, 'bytes')).toBe('3 GiB');
    expect(formatValue(0.25, 'seconds')).toBe('250 ms');
  });
});

describe('diff and summary', () => {
  const a = finding('host.disk.space', 'n1 /', 'critical', 'host');
  const b = finding('cluster.pods.pending', 'ns/p', 'warning');
  const c = finding('cluster.pods.pending', 'ns/q', 'warning');
  const prev = {
    id: 'insp_1',
    createdAt: '2026-12-06T08:00:00.000Z',
    findings: [a, b],
    scores: { overall: 70, grade: 'C', byScope: {} },
  };
  const base: Omit<Report, 'summary'> = {
    id: 'insp_2',
    createdAt: '2026-12-07T08:00:00.000Z',
    durationMs: 5,
    cluster: 'prod',
    scopes: ['host', 'cluster'],
    trigger: { by: 'local:alice' },
    checks: [
      check('host.disk.space', 'host', 'failed', 'critical'),
      check('cluster.pods.pending', 'cluster', 'failed', 'warning'),
    ],
    findings: [a, c],
    scores: { overall: 60, grade: 'D', byScope: {} },
  };

  it('finds new, resolved and persisting findings by their stable ids, and the trend', () => {
    const d = diffReports(prev, base);
    expect(d).toMatchObject({
      previousId: 'insp_1',
      new: [c.id],
      persisting: [a.id],
      scoreBefore: 70,
      scoreAfter: 60,
      trend: 'worse',
    });
    expect(d.resolved).toEqual([
      { id: b.id, checkId: 'cluster.pods.pending', subject: 'ns/p', severity: 'warning' },
    ]);
    expect(findingId('host.disk.space', 'n1 /')).toBe(a.id);
    expect(a.id).toMatch(/^F-[0-9a-f]{8}$/);
  });

  it('templates a summary citing findings by id, with the diff', () => {
    const text = templatedSummary({ ...base, diff: diffReports(prev, base) });
    expect(text).toContain(
      'Inspection of prod (host, cluster) at 2026-12-07T08:00:00.000Z: score 60/100 (grade D)',
    );
    expect(text).toContain('1 critical finding, 1 warning');
    expect(text).toContain('1 new finding, 1 resolved, 1 persisting. Score 70 → 60 (worse).');
    expect(text).toContain(`- [${a.id}] CRITICAL n1 / is 97% full (threshold >= 95%). Fix: Remove old data.`);
  });

  it('accepts a model summary only when every cited id is in the report and at least one is cited', () => {
    expect(checkCitations(`Disk full [${a.id}].`, base)).toEqual({ ok: true });
    expect(checkCitations('All is well.', base)).toMatchObject({
      ok: false,
      reason: 'cites no finding by id',
    });
    expect(checkCitations(`See [${a.id}] and [F-00000000].`, base)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('F-00000000'),
    });
  });

  it('renders self-contained HTML with everything escaped', () => {
    const evil = { ...a, message: '<script>alert(1)</script>', subject: '"><img src=x onerror=alert(1)>' };
    const html = renderHtml(
      { ...base, findings: [evil], summary: { text: 'ok <b>', author: 'template' } },
      {
        history: [
          { createdAt: 'x', score: 50 },
          { createdAt: 'y', score: 60 },
        ],
      },
    );
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml('<script>alert(1)</script>'));
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toContain('@media print');
  });
});

describe('the runner on a large cluster', () => {
  it('keeps the worst findings of a check and exact counts', async () => {
    const pods = Array.from({ length: 250 }, (_, i) => ({
      metadata: {
        name: `p-${String(i).padStart(3, '0')}`,
        namespace: 'big',
        creationTimestamp: '2026-12-07T00:00:00Z',
      },
      spec: { containers: [{ name: 'main', image: 'registry.local/app:1' }] },
      status: { phase: 'Running' },
    }));
    // An API server that serves the pods in two pages, read by the real KubeReader.
    const pages: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const cont = url.searchParams.get('continue') ?? '';
      pages.push(`${url.pathname}?${cont}`);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          cont
            ? { kind: 'PodList', metadata: {}, items: pods.slice(200) }
            : { kind: 'PodList', metadata: { continue: 'next' }, items: pods.slice(0, 200) },
        ),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const raw = new KubeReader(kc);
    const cluster = { name: 'c', server: 'https://127.0.0.1:1', raw } as never;
    const check = shippedChecks().find((c) => c.id === 'cluster.containers.no-requests')!;
    const out = await runChecks({
      checks: [check],
      cluster,
      now: Date.now(),
      signal: new AbortController().signal,
      maxFindingsPerCheck: 200,
    }).finally(() => {
      raw.close();
      server.close();
    });
    expect(pages).toEqual(['/api/v1/pods?', '/api/v1/pods?next']);
    expect(out.checks[0]).toMatchObject({ status: 'failed', findings: 250, bySeverity: { warning: 250 } });
    expect(out.findings).toHaveLength(200);
    expect(out.findings[0]!.subject).toBe('big/p-000');
  });
});
