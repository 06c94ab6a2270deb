// Inspections against the real test cluster (problems planted in this file's own namespace and one
// node of its own) and a real Prometheus scraping a real node_exporter and the test exporter.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyV1Api } from '@kubernetes/client-node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { hashToken } from '../../mcp/auth.js';
import { buildMcpServer } from '../../mcp/server.js';
import { silentLogger } from '../../tools/core/logger.js';
import { renderHtml } from '../../tools/inspection/html.js';
import type { Report } from '../../tools/inspection/model.js';
import { findingId } from '../../tools/inspection/runner.js';
import { type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import { openInChromium } from '../support/chromium.js';
import { baseEnv, runKubemate } from '../support/cli.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  testKubeconfig,
  uniqueName,
  waitFor,
  waitForDeploymentReady,
} from '../support/kube.js';
import { countColour, decodePng } from '../support/png.js';

const ns = uniqueName('insp');
const healthyNs = uniqueName('insp-ok');
// Only in Prometheus: a namespace of someone else's with failing requests, which an inspection
// scoped to `ns` must not report.
const otherNs = uniqueName('insp-other');
const node = uniqueName('insp-node');
const principal = { id: 'alice', groups: ['ops'], source: 'mcp-stdio' as const };
const checksDir = mkdtempSync(join(tmpdir(), 'insp-checks-'));
const certDir = mkdtempSync(join(tmpdir(), 'insp-certs-'));
let stack: PrometheusStack;
let app: App;
let env: Record<string, string>;

/** A self-signed certificate valid for `days` from now (openssl), as PEM cert and key. */
function certificate(cn: string, days: number): { crt: string; key: string } {
  const crt = join(certDir, `${cn}.crt`);
  const key = join(certDir, `${cn}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'ignore' },
  );
  return { crt: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

const certs = {
  soon: certificate('soon.example', 3),
  month: certificate('month.example', 20),
  fine: certificate('fine.example', 400),
};

async function tlsSecret(name: string, c: { crt: string; key: string }) {
  await adminClients().core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(c.crt).toString('base64'),
        'tls.key': Buffer.from(c.key).toString('base64'),
      },
    },
  });
}

async function plant() {
  const { core, apps, kc } = adminClients();
  await createNamespace(ns);
  await createNamespace(healthyNs);
  // Pods that can never be scheduled, on an untagged image, without requests or limits.
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'stuck' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'stuck' } },
        template: {
          metadata: { labels: { app: 'stuck' } },
          spec: {
            nodeSelector: { 'inspection-test': 'nowhere' },
            containers: [{ name: 'main', image: 'registry.local/stuck' }],
          },
        },
      },
    },
  });
  // Two healthy pods behind a budget that allows no disruption at all.
  await createDeployment(ns, 'guarded', 2);
  await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: {
      metadata: { name: 'guarded' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'guarded' } } },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: 'claim' },
      spec: {
        storageClassName: 'no-such-class',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'orphan' },
      spec: { selector: { app: 'nothing-has-this' }, ports: [{ port: 80 }] },
    },
  });
  await tlsSecret('tls-soon', certs.soon);
  await tlsSecret('tls-month', certs.month);
  await tlsSecret('tls-fine', certs.fine);
  // A node of this file's own, cordoned, that no kubelet reports Ready.
  await core.createNode({
    body: {
      metadata: { name: node, labels: { 'kubernetes.io/hostname': node } },
      spec: { unschedulable: true },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'container runtime is down',
            lastHeartbeatTime: new Date(),
            lastTransitionTime: new Date(),
          },
        ],
      },
    },
  });
  await waitForDeploymentReady(ns, 'guarded', 2);
  await waitFor('the disruption budget to count 2 healthy pods', async () => {
    const pdb = await kc
      .makeApiClient(PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ namespace: ns, name: 'guarded' });
    return pdb.status?.currentHealthy === 2 && pdb.status.expectedPods === 2 ? true : undefined;
  });
}

beforeAll(async () => {
  // Checks of this file's own: bands that fire now, on what it planted and on the real node_exporter.
  writeFileSync(
    join(checksDir, 'test.yaml'),
    `id: test.pvcs.pending-now
title: PVCs Pending at all
scope: cluster
analyzer: { name: pvcs-pending }
bands: { op: ">=", warning: 0 }
message: "{{subject}}: {{detail}}"
remediation: Fix the storage class.
---
id: test.host.memory-seen
title: Memory available, always reported
scope: host
promql: 100 * node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes
bands: { op: "<=", warning: 100 }
unit: percent
subject: "{{instance}}"
message: "{{subject}} has {{value}} available"
remediation: Nothing; this check reports the value it reads.
`,
  );
  [stack] = await Promise.all([
    startPrometheusStack({
      exporter: (e) => {
        e.setWorkload({
          namespace: ns,
          workload: 'api',
          naming: 'http',
          pods: ['api-1'],
          rps: 40,
          errorRatio: 0.2,
          latency: { boundsMs: [100, 5000], cumulative: [0.5, 1] },
        });
        e.setWorkload({
          namespace: otherNs,
          workload: 'billing',
          naming: 'http',
          pods: ['billing-1'],
          rps: 40,
          errorRatio: 0.5,
          latency: { boundsMs: [100, 5000], cumulative: [0.5, 1] },
        });
        e.setWorkload({
          namespace: healthyNs,
          workload: 'web',
          naming: 'http',
          pods: ['web-1'],
          rps: 40,
          errorRatio: 0,
          latency: { boundsMs: [50, 100], cumulative: [0.995, 1] },
        });
      },
    }),
    plant(),
  ]);
  const settings = {
    KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, retries: 0 }],
    KUBEMATE_INSPECTIONS__CHECKS_DIR: checksDir,
    KUBEMATE_INSPECTIONS__SUMMARY: 'template',
  };
  app = buildApp(kubemateConfig(settings), silentLogger);
  env = {
    ...baseEnv(),
    KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
    KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'kubemate',
    KUBEMATE_OBSERVABILITY__PROMETHEUS: JSON.stringify(settings.KUBEMATE_OBSERVABILITY__PROMETHEUS),
    KUBEMATE_INSPECTIONS__CHECKS_DIR: checksDir,
    KUBEMATE_INSPECTIONS__SUMMARY: 'template',
    KUBEMATE_LOG__LEVEL: 'silent',
  };
  // Rates need two scrapes of the exporter.
  await waitFor('two scrapes of the test exporter', async () => {
    const r = await fetch(
      `${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent(`count_over_time(http_requests_total{namespace="${ns}"}[1m])`)}`,
    );
    const body = (await r.json()) as { data: { result: Array<{ value: [number, string] }> } };
    return Number(body.data.result[0]?.value[1] ?? 0) >= 3 ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  app?.close();
  await stack?.stop();
  await adminClients()
    .core.deleteNode({ name: node })
    .catch(() => undefined);
  await deleteNamespace(ns);
  await deleteNamespace(healthyNs);
});

async function mcpClient(): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildMcpServer(app.pipeline, principal).connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const stored = async (id: string) => JSON.parse((await app.inspections.get(id))!.body) as Report;
const SCOPES = ['host', 'cluster', 'app', 'database', 'certificates'];
let first: Report;

describe('inspection_run over MCP', () => {
  it('finds every planted problem with its evidence, and reports progress', async () => {
    const client = await mcpClient();
    const progress: Array<{ progress: number; total?: number }> = [];
    const result = (await client.callTool(
      { name: 'inspection_run', arguments: { namespace: ns, scopes: SCOPES } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 60_000 },
    )) as CallToolResult;
    await client.close();
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const s = result.structuredContent as { id: string; stored: boolean };
    expect(s.stored).toBe(true);
    first = await stored(s.id);
    const checks = first.checks;
    // Progress: one notification per check, counting up to the total.
    expect(progress.length).toBe(checks.length);
    expect(progress.at(-1)).toMatchObject({ progress: checks.length, total: checks.length });

    const by = (checkId: string, subject: string) =>
      first.findings.find((f) => f.checkId === checkId && f.subject === subject);
    expect(by('cluster.nodes.conditions', `node/${node}`)).toMatchObject({
      severity: 'critical',
      id: findingId('cluster.nodes.conditions', `node/${node}`),
      evidence: { analyzer: 'node-conditions', detail: 'Ready=False (KubeletNotReady)' },
    });
    expect(by('cluster.nodes.cordoned', `node/${node}`)).toMatchObject({ severity: 'warning' });
    expect(by('cluster.deployments.unavailable', `${ns}/deployment/stuck`)).toMatchObject({
      severity: 'warning',
      value: 2,
      threshold: 1,
      evidence: { detail: '0 of 2 available' },
    });
    expect(by('cluster.deployments.unavailable', `${ns}/deployment/guarded`)).toBeUndefined();
    expect(
      first.findings.filter((f) => f.checkId === 'cluster.images.latest-tag').map((f) => f.evidence.detail),
    ).toEqual(['image registry.local/stuck', 'image registry.local/stuck']);
    expect(by('cluster.pdbs.blocking', `${ns}/pdb/guarded`)).toMatchObject({ severity: 'warning' });
    expect(by('cluster.services.no-endpoints', `${ns}/service/orphan`)).toMatchObject({
      severity: 'warning',
    });
    expect(by('test.pvcs.pending-now', `${ns}/pvc/claim`)).toMatchObject({ severity: 'warning' });
    // The shipped PVC check waits 15 minutes: a fresh claim is not a finding yet.
    expect(first.findings.some((f) => f.checkId === 'cluster.pvcs.pending')).toBe(false);
    expect(first.findings.filter((f) => f.checkId === 'cluster.pods.pending')).toEqual([]);

    // Certificates: 3 days is critical, 20 days a warning, 400 days nothing; only subject and dates leave.
    const soon = by('certificates.tls-secrets.expiry', `${ns}/secret/tls-soon`)!;
    expect(soon).toMatchObject({ severity: 'critical', threshold: 7 });
    expect(soon.value).toBeGreaterThanOrEqual(2.9);
    expect(soon.value).toBeLessThanOrEqual(3);
    expect(soon.evidence.detail).toMatch(/^subject CN=soon\.example; valid \d{4}-.* to \d{4}-/);
    expect(by('certificates.tls-secrets.expiry', `${ns}/secret/tls-month`)).toMatchObject({
      severity: 'warning',
      threshold: 30,
    });
    expect(by('certificates.tls-secrets.expiry', `${ns}/secret/tls-fine`)).toBeUndefined();
    const all = JSON.stringify(first);
    for (const c of Object.values(certs)) {
      expect(all).not.toContain(c.crt.split('\n')[1]);
      expect(all).not.toContain(c.key.split('\n')[1]);
    }
    expect(all).not.toContain('PRIVATE KEY');
    expect(checks.find((c) => c.id === 'certificates.apiserver.expiry')).toMatchObject({ status: 'passed' });
    expect(checks.find((c) => c.id === 'cluster.control-plane.ready')).toMatchObject({ status: 'passed' });

    // Applications, from the real Prometheus: 20 % errors and a p99 of about 4.9 s are critical.
    const errors = by('app.http.error-rate', ns)!;
    expect(errors).toMatchObject({
      severity: 'critical',
      threshold: 0.05,
      evidence: { labels: { namespace: ns } },
    });
    expect(errors.value).toBeCloseTo(0.2, 2);
    expect(errors.evidence.query).toContain('http_requests_total');
    const p99 = by('app.http.p99-latency', ns)!;
    expect(p99.severity).toBe('critical');
    expect(p99.value).toBeCloseTo(4.902, 1);
    expect(by('app.http.error-rate', healthyNs)).toBeUndefined();
    // Scoped to ns: another namespace's failing requests are not this report's (see the next test
    // for the same check finding them cluster-wide), and no finding belongs to another namespace.
    expect(by('app.http.error-rate', otherNs)).toBeUndefined();
    expect(by('app.http.p99-latency', otherNs)).toBeUndefined();
    expect(first.findings.filter((f) => f.namespace !== undefined && f.namespace !== ns)).toEqual([]);
    expect(
      first.findings.filter((f) => f.evidence.labels?.namespace && f.evidence.labels.namespace !== ns),
    ).toEqual([]);

    // Hosts, from the real node_exporter: the value is what Prometheus itself computes.
    const mem = first.findings.find((f) => f.checkId === 'test.host.memory-seen')!;
    const direct = await fetch(
      // At the instant the inspection evaluated its queries: the report's own time.
      `${stack.prometheusUrl}/api/v1/query?time=${Date.parse(first.createdAt) / 1000}&query=${encodeURIComponent('100 * node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes')}`,
    ).then(
      (r) =>
        r.json() as Promise<{
          data: { result: Array<{ metric: { instance: string }; value: [number, string] }> };
        }>,
    );
    expect(mem.subject).toBe(direct.data.result[0]!.metric.instance);
    expect(mem.value).toBe(Number(direct.data.result[0]!.value[1]));
    for (const id of ['host.disk.space', 'host.memory.available', 'host.load', 'host.exporter.down']) {
      expect(['passed', 'failed'], id).toContain(checks.find((c) => c.id === id)!.status);
    }
    expect(checks.find((c) => c.id === 'host.exporter.down')!.status).toBe('passed');
    // Nothing scrapes a database here: those checks say there is no data, and do not count.
    expect(checks.find((c) => c.id === 'database.postgres.up')).toMatchObject({ status: 'no_data' });
    expect(first.scores.byScope.database).toMatchObject({ score: null, evaluated: 0 });
    expect(first.scores.byScope.certificates!.critical).toBe(1);
    expect(first.scores.overall).toBeLessThan(100);

    // The templated summary cites findings by id and says it is the first report.
    expect(first.summary.author).toBe('template');
    expect(first.summary.text).toContain('This is the first report of its kind');
    expect(first.summary.text).toContain(`[${soon.id}] CRITICAL`);
  });

  it('reads PromQL series of every namespace cluster-wide, and of none but its own when scoped', async () => {
    const run = (args: Record<string, unknown>) =>
      app.pipeline.invoke('inspection_run', { checks: ['app.http.error-rate'], ...args }, principal);
    const wide = await run({});
    expect(wide.isError, wide.text).toBe(false);
    const subjects = (await stored(String(wide.structured!.id))).findings.map((f) => f.subject);
    expect(subjects).toContain(otherNs);
    expect(subjects).toContain(ns);
    // A namespace with series of other namespaces only: no data, saying why; not a pass.
    const scoped = await run({ namespace: uniqueName('insp-none') });
    expect(scoped.isError, scoped.text).toBe(false);
    const report = await stored(String(scoped.structured!.id));
    expect(report.findings).toEqual([]);
    expect(report.checks[0]).toMatchObject({ status: 'no_data' });
    expect(report.checks[0]!.reason).toMatch(
      /^no series of namespace insp-none-\S+ \(\d+ of other namespaces left out\)$/,
    );
  });

  it('diffs against the previous report: a fixed problem is resolved, the rest persist', async () => {
    await adminClients().core.deleteNamespacedSecret({ namespace: ns, name: 'tls-soon' });
    await tlsSecret('tls-new', certs.soon);
    const r = await app.pipeline.invoke('inspection_run', { namespace: ns, scopes: SCOPES }, principal);
    expect(r.isError, r.text).toBe(false);
    const second = await stored(String(r.structured!.id));
    const soonId = findingId('certificates.tls-secrets.expiry', `${ns}/secret/tls-soon`);
    const newId = findingId('certificates.tls-secrets.expiry', `${ns}/secret/tls-new`);
    expect(second.diff!.previousId).toBe(first.id);
    // Nodes are shared with other tests' files; this file's own namespace changed by exactly one.
    const mine = (ids: string[]) =>
      ids.filter((id) => second.findings.find((f) => f.id === id)?.subject.startsWith(`${ns}/`));
    expect(mine(second.diff!.new)).toEqual([newId]);
    expect(second.diff!.resolved.filter((x) => x.subject.startsWith(`${ns}/`)).map((x) => x.id)).toEqual([
      soonId,
    ]);
    expect(second.diff!.persisting).toContain(findingId('cluster.nodes.conditions', `node/${node}`));
    expect(second.summary.text).toContain('Since the previous report');
    expect(second.summary.text).toMatch(/\d+ new findings?, \d+ resolved, \d+ persisting/);
  });

  it('lists and reads kept reports, filtered; a bad id or scope is refused clearly and nothing is stored', async () => {
    const before = await app.inspections.count();
    const list = await app.pipeline.invoke('inspection_reports_list', { limit: 5 }, principal);
    const reports = (list.structured as { reports: Array<{ id: string }> }).reports;
    expect(reports[reports.length - 1]!.id).toBe(first.id);
    const got = await app.pipeline.invoke(
      'inspection_report_get',
      { id: first.id, severity: 'critical', scope: 'certificates' },
      principal,
    );
    expect(got.isError).toBe(false);
    expect(
      (got.structured as { findings: Array<{ subject: string }> }).findings.map((f) => f.subject),
    ).toEqual([`${ns}/secret/tls-soon`]);
    expect(got.text).toContain('evidence: analyzer tls-secrets-expiry; subject CN=soon.example');
    const bad = await app.pipeline.invoke('inspection_run', { scopes: ['hosts'] }, principal);
    expect(bad.status).toBe('invalid');
    expect(bad.text).toContain(
      'scopes.0: Invalid option: expected one of "host"|"cluster"|"app"|"database"|"certificates"|"models"',
    );
    const unknown = await app.pipeline.invoke('inspection_run', { checks: ['no.such.check'] }, principal);
    expect(unknown.text).toContain('unknown check id(s): no.such.check');
    const missing = await app.pipeline.invoke(
      'inspection_report_get',
      { id: 'insp_20200101000000_abcdef' },
      principal,
    );
    expect(missing).toMatchObject({ status: 'error', errorCode: 'not_found' });
    expect(await app.inspections.count()).toBe(before);
  });
});

describe('kubemate inspect', () => {
  it('prints the JSON report, writes a self-contained HTML page and shows progress', async () => {
    const html = join(mkdtempSync(join(tmpdir(), 'insp-html-')), 'report.html');
    const r = await runKubemate(
      ['inspect', '--namespace', ns, '--scope', 'cluster,certificates', '--html', html, '--json'],
      env,
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.scopes).toEqual(['cluster', 'certificates']);
    expect(report.findings.some((f) => f.subject === `${ns}/secret/tls-month`)).toBe(true);
    expect(r.stderr).toMatch(/inspect \[#+\] \d+\/\d+ checked/);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain(`id="${findingId('certificates.tls-secrets.expiry', `${ns}/secret/tls-month`)}"`);
    expect(page).not.toMatch(/<script|<link|(src|href)="http/);
  });

  it('validates a folder of checks, naming each problem, with exit code 1', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'insp-bad-'));
    writeFileSync(
      join(bad, 'x.yaml'),
      'id: x.y\ntitle: missing query\nscope: app\nseverity: warning\nmessage: hello\nremediation: fix it\n',
    );
    const r = await runKubemate(['inspect', 'checks', 'validate', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('x.yaml (document 1, x.y): promql: give exactly one of promql');
    const good = await runKubemate(['inspect', 'checks', 'validate', checksDir], env);
    expect(good).toMatchObject({ code: 0, stdout: `2 check(s) valid in ${checksDir}\n` });
  });
});

describe('/reports under kubemate serve', () => {
  it('serves reports to the people the policy lets read inspections, and no one else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'insp-policy-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
roles:
  inspection-reader:
    - toolsets: [inspection]
      verbs: [read]
bindings:
  - subjects: [group:auditors]
    roles: [inspection-reader]
`,
    );
    const served = buildApp(
      kubemateConfig({
        KUBEMATE_POLICY__FILE: policy,
        KUBEMATE_AUTH__TOKENS: [
          {
            name: 'auditor',
            sha256: hashToken('kmt_auditor-token'),
            principal: { id: 'audrey', groups: ['auditors'] },
          },
          { name: 'dev', sha256: hashToken('kmt_dev-token'), principal: { id: 'dan', groups: ['devs'] } },
        ],
        KUBEMATE_INSPECTIONS__SUMMARY: 'template',
      }),
      silentLogger,
    );
    const http = await buildHttpServer(served);
    try {
      const run = await served.pipeline.invoke(
        'inspection_run',
        { namespace: ns, scopes: ['certificates'] },
        { id: 'audrey', groups: ['auditors'], source: 'mcp-http' },
      );
      expect(run.isError, run.text).toBe(false);
      const id = String(run.structured!.id);
      const as = (token?: string) => (token ? { authorization: `Bearer ${token}` } : {});
      const page = await http.inject({ url: `/reports/${id}`, headers: as('kmt_auditor-token') });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
      expect(page.body).toContain(
        `id="${findingId('certificates.tls-secrets.expiry', `${ns}/secret/tls-month`)}"`,
      );
      const json = await http.inject({ url: `/reports/${id}.json`, headers: as('kmt_auditor-token') });
      expect((JSON.parse(json.body) as Report).id).toBe(id);
      const list = await http.inject({ url: '/reports', headers: as('kmt_auditor-token') });
      expect(list.body).toContain(`href="/reports/${id}"`);
      const denied = await http.inject({ url: `/reports/${id}`, headers: as('kmt_dev-token') });
      expect(denied.statusCode).toBe(403);
      expect(denied.body).toContain('denied');
      expect(denied.body).not.toContain('tls-month');
      expect((await http.inject({ url: '/reports', headers: as('kmt_dev-token') })).statusCode).toBe(403);
      expect((await http.inject({ url: `/reports/${id}` })).statusCode).toBe(401);
      const missing = await http.inject({
        url: '/reports/insp_20200101000000_abcdef',
        headers: as('kmt_auditor-token'),
      });
      expect(missing.statusCode).toBe(404);
      expect(
        (await http.inject({ url: '/reports/..%2Fetc', headers: as('kmt_auditor-token') })).statusCode,
      ).toBe(404);
    } finally {
      await http.close();
      served.close();
    }
  });
});

describe('reports of two clusters', () => {
  it('are read under the policy of the cluster each inspected, never the default one', async () => {
    // Two kubeconfig contexts are two clusters: `kubemate` (the default) and `admin`.
    const dir = mkdtempSync(join(tmpdir(), 'insp-policy-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
roles:
  reader-a:
    - toolsets: [inspection]
      verbs: [read]
      clusters: [kubemate]
  reader-b:
    - toolsets: [inspection]
      verbs: [read]
      clusters: [admin]
bindings:
  - subjects: [group:team-a]
    roles: [reader-a]
  - subjects: [group:team-b]
    roles: [reader-b]
`,
    );
    const served = buildApp(
      kubemateConfig({
        KUBEMATE_POLICY__FILE: policy,
        KUBEMATE_AUTH__TOKENS: [
          { name: 'a', sha256: hashToken('kmt_team-a'), principal: { id: 'ann', groups: ['team-a'] } },
          { name: 'b', sha256: hashToken('kmt_team-b'), principal: { id: 'ben', groups: ['team-b'] } },
        ],
        KUBEMATE_INSPECTIONS__SUMMARY: 'template',
      }),
      silentLogger,
    );
    const ann = { id: 'ann', groups: ['team-a'], source: 'mcp-http' as const };
    const ben = { id: 'ben', groups: ['team-b'], source: 'mcp-http' as const };
    const http = await buildHttpServer(served);
    try {
      const args = { namespace: ns, scopes: ['certificates'] };
      const runA = await served.pipeline.invoke('inspection_run', args, ann);
      const runB = await served.pipeline.invoke('inspection_run', { ...args, cluster: 'admin' }, ben);
      expect(runA.isError, runA.text).toBe(false);
      expect(runB.isError, runB.text).toBe(false);
      const a = String(runA.structured!.id);
      const b = String(runB.structured!.id);
      expect((await served.inspections.get(b))!.meta.cluster).toBe('admin');
      const get = (token: string, url: string) =>
        http.inject({ url, headers: { authorization: `Bearer ${token}` } });

      // Each reads their own cluster's report, as a page, as JSON and through the tool.
      expect((await get('kmt_team-a', `/reports/${a}`)).statusCode).toBe(200);
      expect((await get('kmt_team-b', `/reports/${b}`)).statusCode).toBe(200);
      expect((await get('kmt_team-b', `/reports/${b}.json`)).statusCode).toBe(200);
      const own = await served.pipeline.invoke('inspection_report_get', { id: b }, ben);
      expect(own.isError, own.text).toBe(false);

      // Neither reads the other's, whichever way they ask.
      for (const [token, id] of [
        ['kmt_team-a', b],
        ['kmt_team-b', a],
      ] as const) {
        for (const url of [`/reports/${id}`, `/reports/${id}.json`]) {
          const r = await get(token, url);
          expect(r.statusCode, `${token} ${url}`).toBe(403);
          expect(r.body).not.toContain('tls-month');
        }
      }
      const crossed = await served.pipeline.invoke('inspection_report_get', { id: a }, ben);
      expect(crossed).toMatchObject({ status: 'denied', errorCode: 'forbidden' });
      expect(crossed.text).toContain('kubemate');
      const listed = await served.pipeline.invoke('inspection_reports_list', { cluster: 'admin' }, ann);
      expect(listed.status).toBe('denied');

      // Lists show only the reports of clusters the caller may read.
      const listA = await get('kmt_team-a', '/reports');
      expect(listA.statusCode).toBe(200);
      expect(listA.body).toContain(`href="/reports/${a}"`);
      expect(listA.body).not.toContain(b);
      const listB = await get('kmt_team-b', '/reports?cluster=admin');
      expect(listB.statusCode).toBe(200);
      expect(listB.body).toContain(`href="/reports/${b}"`);
      expect(listB.body).not.toContain(a);
      expect((await get('kmt_team-b', '/reports?cluster=kubemate')).statusCode).toBe(403);
      const tool = await served.pipeline.invoke('inspection_reports_list', { limit: 200 }, ann);
      const ids = (tool.structured as { reports: Array<{ id: string; cluster: string }> }).reports;
      expect(ids.map((r) => r.id)).toContain(a);
      expect(ids.filter((r) => r.cluster !== 'kubemate')).toEqual([]);
    } finally {
      await http.close();
      served.close();
    }
  });
});

describe('the HTML report in headless Chromium', () => {
  it('renders without console errors, shows the findings in severity colours, and prints', async () => {
    const r = await app.pipeline.invoke(
      'inspection_run',
      { namespace: ns, scopes: ['cluster', 'certificates'] },
      principal,
    );
    expect(r.isError, r.text).toBe(false);
    const id = String(r.structured!.id);
    const kept = (await app.inspections.get(id))!;
    const report = JSON.parse(kept.body) as Report;
    const dir = mkdtempSync(join(tmpdir(), 'insp-chromium-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report, { history: await app.inspections.history(kept.meta.kind, 30) }));
    const page = await openInChromium(`file://${file}`);
    try {
      const critical = report.findings.find(
        (f) => f.subject === `node/${node}` && f.checkId === 'cluster.nodes.conditions',
      )!;
      const shown = await page.evaluate<{
        rows: number;
        visible: boolean;
        text: string;
        svgs: number;
      }>(`(() => {
        const row = document.getElementById(${JSON.stringify(critical.id)});
        const box = row ? row.getBoundingClientRect() : { width: 0, height: 0 };
        return {
          rows: document.querySelectorAll('tbody tr[id^="F-"]').length,
          visible: !!row && box.width > 0 && box.height > 0 && getComputedStyle(row).visibility === 'visible',
          text: row ? row.innerText : '',
          svgs: document.querySelectorAll('svg').length,
        };
      })()`);
      expect(shown.rows).toBe(report.findings.length);
      expect(shown.visible).toBe(true);
      // The node controller turns a node no kubelet reports into Unknown after its grace period.
      expect(shown.text).toContain(`node/${node}: ${critical.evidence.detail}`);
      expect(critical.evidence.detail).toMatch(
        /^Ready=(False \(KubeletNotReady\)|Unknown \(NodeStatusUnknown\))$/,
      );
      expect(shown.svgs).toBeGreaterThanOrEqual(2);
      const png = await page.screenshot();
      writeFileSync(join(dir, 'report.png'), png);
      const img = decodePng(png);
      expect([img.width, img.height]).toEqual([1280, 1600]);
      // The critical colour is on screen: badges, the row marker and the score bars.
      expect(countColour(img, '#c62828', undefined, 30)).toBeGreaterThan(200);
      const pdf = await page.pdf();
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      expect(page.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('the browser harness does catch console errors (so an empty list means something)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'insp-chromium-'));
    const file = join(dir, 'bad.html');
    writeFileSync(
      file,
      '<!DOCTYPE html><html><body><script>console.error("broken"); undefinedThing();</script></body></html>',
    );
    const page = await openInChromium(`file://${file}`);
    try {
      expect(page.errors.some((e) => e.includes('broken'))).toBe(true);
      expect(page.errors.some((e) => e.includes('undefinedThing'))).toBe(true);
    } finally {
      await page.close();
    }
  });
});
