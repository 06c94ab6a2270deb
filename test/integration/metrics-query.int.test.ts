import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { buildMcpServer } from '../../mcp/server.js';
import { silentLogger } from '../../tools/core/logger.js';
import { readMatrix } from '../../tools/metrics/matrix-parse.js';
import { type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import { baseEnv, runKubemate } from '../support/cli.js';
import { kubemateConfig, testKubeconfig, waitFor } from '../support/kube.js';
import { MemoryAudit } from '../support/pipeline.js';
import { decodePng, PNG_SIGNATURE } from '../support/png.js';
import { who } from '../support/policy.js';

const alice = who('local:alice', [], 'cli');
let stack: PrometheusStack;
let app: App;
const audit = new MemoryAudit();

const latency = { boundsMs: [10, 50, 100, 250, 1000], cumulative: [0.2, 0.5, 0.9, 0.99, 1] };

function appFor(prometheusUrl: string, alertmanagerUrl: string, timeoutSeconds = 5): App {
  return buildApp(
    kubemateConfig({
      KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: prometheusUrl, timeoutSeconds, retries: 0 }],
      KUBEMATE_OBSERVABILITY__ALERTMANAGER: [{ url: alertmanagerUrl, timeoutSeconds, retries: 0 }],
    }),
    silentLogger,
    { audit },
  );
}

/** Straight to Prometheus' HTTP API, for the raw data the tools' answers are checked against. */
async function raw<T>(path: string, params: Record<string, string | number>): Promise<T> {
  const url = new URL(path, stack.prometheusUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  return (await (await fetch(url)).json()) as T;
}

/** The state letter of /proc/PID/stat: R running, S sleeping, T stopped. */
function processState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
}

const call = (tool: string, args: Record<string, unknown>) => app.pipeline.invoke(tool, args, alice);

beforeAll(async () => {
  stack = await startPrometheusStack({
    exporter: (e) => {
      // Three pods with different loads, so the series differ and have an order.
      e.setWorkload({
        namespace: 'shop',
        workload: 'api',
        naming: 'linkerd',
        pods: ['api-7d9f8c6b5-aaaaa', 'api-7d9f8c6b5-bbbbb', 'api-7d9f8c6b5-ccccc'],
        rps: 30,
        errorRatio: 0.02,
        latency,
      });
    },
  });
  app = appFor(stack.prometheusUrl, stack.alertmanagerUrl);
  // enough samples for rate() over 5s windows
  await new Promise((r) => setTimeout(r, 8000));
});

afterAll(async () => {
  app?.close();
  await stack?.stop();
});

describe('promql_query', () => {
  it('returns the series sorted by value with exact totals, matching Prometheus', async () => {
    const time = Math.floor(Date.now() / 1000) - 1;
    const query = 'sum by (pod, classification) (rate(response_total[5s]))';
    const r = await call('promql_query', { query, time });
    expect(r.status, r.text).toBe('success');
    const direct = await raw<{
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    }>('/api/v1/query', { query, time });
    const expected = direct.data.result.map((s) => Number(s.value[1])).sort((a, b) => b - a);
    const s = r.structured as { total: number; sum: number; max: number; items: Array<{ value: number }> };
    expect(s.total).toBe(direct.data.result.length);
    expect(s.items.map((i) => i.value)).toEqual(expected);
    expect(s.sum).toBeCloseTo(
      expected.reduce((a, b) => a + b, 0),
      9,
    );
    expect(s.max).toBe(expected[0]);
    expect(r.text).toMatch(/^6 series at .* from Prometheus 'default' at http:\/\/127\.0\.0\.1:\d+: sum /);
  });

  it("passes Prometheus's own message through for a syntax error", async () => {
    const query = 'sum(rate(response_total[5m])';
    const direct = await raw<{ error: string }>('/api/v1/query', { query });
    const r = await call('promql_query', { query });
    expect(r.status).toBe('error');
    expect(r.errorCode).toBe('backend_error');
    expect(direct.error).toMatch(/parse error/);
    expect(r.text).toContain(direct.error);
    expect(r.text).toContain(`Prometheus 'default' at ${stack.prometheusUrl}`);
  });
});

describe('promql_query_range', () => {
  it('summarises each series as the raw matrix says: min, avg, max, last, order', async () => {
    const end = Math.floor(Date.now() / 1000) - 1;
    const start = end - 6;
    const r = await call('promql_query_range', {
      query: 'sum by (pod) (request_total)',
      start,
      end,
      step: '1s',
    });
    expect(r.status, r.text).toBe('success');
    const direct = await raw<{
      data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
    }>('/api/v1/query_range', { query: 'sum by (pod) (request_total)', start, end, step: 1 });
    const s = r.structured as {
      seriesTotal: number;
      pointsTotal: number;
      valuesResolution: string;
      commonLabels: Record<string, string>;
      series: Array<{
        labels: Record<string, string>;
        min: number;
        avg: number;
        max: number;
        last: number;
        trend: string;
        values: Array<[number, number]>;
      }>;
    };
    expect(s.seriesTotal).toBe(3);
    expect(s.pointsTotal).toBe(direct.data.result.reduce((n, x) => n + x.values.length, 0));
    expect(s.valuesResolution).toBe('raw');
    for (const series of direct.data.result) {
      const values = series.values.map(([, v]) => Number(v));
      const mine = s.series.find((x) => x.labels.pod === series.metric.pod)!;
      expect(mine, series.metric.pod).toBeDefined();
      expect(mine.min).toBeCloseTo(Math.min(...values), 3);
      expect(mine.max).toBeCloseTo(Math.max(...values), 3);
      expect(mine.last).toBeCloseTo(values.at(-1)!, 3);
      expect(mine.avg).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 3);
      expect(mine.values).toEqual(series.values.map(([t, v]) => [t, Number(v)]));
      // counters only go up: every series rises
      expect(mine.trend).toBe('rising');
    }
    const lasts = s.series.map((x) => x.last);
    expect(lasts).toEqual([...lasts].sort((a, b) => b - a));
    expect(r.text).toMatch(/^3 series, \d+ points \(up to \d+ per series; step 1s/);
    expect(r.text).toContain('Trends: 3 rising, 0 falling, 0 flat');
    // Prometheus' own bytes take the fast reader's path, and it reads them as JSON.parse does.
    const url = new URL('/api/v1/query_range', stack.prometheusUrl);
    for (const [k, v] of Object.entries({ query: 'sum by (pod) (request_total)', start, end, step: 1 })) {
      url.searchParams.set(k, String(v));
    }
    const fast = readMatrix(Buffer.from(await (await fetch(url)).arrayBuffer()))!;
    expect(fast.series.map((x) => Array.from(x.v))).toEqual(
      direct.data.result.map((x) => x.values.map(([, v]) => Number(v))),
    );
  });

  it('refuses bad windows before asking Prometheus', async () => {
    const r = await call('promql_query_range', { query: 'up', lookback: '1 day' });
    expect(r.status).toBe('invalid');
    expect(r.text).toBe(
      'invalid arguments for promql_query_range: lookback: must be a duration such as 30s, 5m, 1h, 1h30m or 7d. Nothing was executed.',
    );
  });

  it('returns the chart as MCP image content through the SDK client, and the audit keeps only a count', async () => {
    const server = buildMcpServer(app.pipeline, who('local:alice', [], 'mcp-stdio'));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    // once it has listed the tools, the client validates structuredContent against each outputSchema
    await client.listTools();
    const result = (await client.callTool({
      name: 'promql_query_range',
      arguments: { query: 'sum by (pod) (rate(request_total[3s]))', lookback: '6s', step: '1s', chart: true },
    })) as CallToolResult;
    await client.close();
    expect(result.isError, JSON.stringify(result.content).slice(0, 300)).toBeFalsy();
    expect(result.content.map((c) => c.type)).toEqual(['text', 'image']);
    const image = result.content[1] as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const png = Buffer.from(image.data, 'base64');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const decoded = decodePng(png);
    expect([decoded.width, decoded.height]).toEqual([png.readUInt32BE(16), png.readUInt32BE(20)]);
    expect(decoded.width).toBe(960);
    const record = audit.records
      .filter((r) => r.tool === 'promql_query_range' && r.kind === 'result')
      .at(-1)!;
    expect(record.images).toBe(1);
    expect(JSON.stringify(record)).not.toContain(image.data.slice(0, 40));
  });
});

describe('kubemate tools call (the built CLI)', () => {
  const cli = (args: string[]) =>
    runKubemate(['tools', 'call', ...args], {
      ...baseEnv(),
      KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
      KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
      KUBEMATE_OBSERVABILITY__PROMETHEUS: JSON.stringify([{ url: stack.prometheusUrl, retries: 0 }]),
      KUBEMATE_LOG__LEVEL: 'silent',
    });
  const chartArgs = JSON.stringify({
    query: 'sum by (pod) (rate(request_total[3s]))',
    lookback: '6s',
    step: '1s',
    chart: true,
  });

  it('saves a chart as a PNG file with --images, never overwriting, and says where', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kubemate-images-')), 'charts');
    const first = await cli(['promql_query_range', '--args', chartArgs, '--images', dir]);
    expect(first.code, first.stderr).toBe(0);
    const saved = [...first.stdout.matchAll(/^image saved: (.+\.png)$/gm)].map((m) => m[1]!);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.startsWith(dir)).toBe(true);
    expect(decodePng(readFileSync(saved[0]!)).width).toBe(960);
    const again = await cli(['promql_query_range', '--args', chartArgs, '--images', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const json = JSON.parse(again.stdout) as { images: { file: string; bytes: number; mimeType: string }[] };
    expect(json.images).toHaveLength(1);
    expect(json.images[0]!.mimeType).toBe('image/png');
    expect(readFileSync(json.images[0]!.file).length).toBe(json.images[0]!.bytes);
    expect(readdirSync(dir).sort()).toEqual([basename(saved[0]!), basename(json.images[0]!.file)].sort());
  });

  it('says clearly when the images folder cannot be made, and exits 1', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kubemate-images-')), 'not-a-folder');
    writeFileSync(file, 'x');
    const r = await cli(['promql_query_range', '--args', chartArgs, '--images', join(file, 'charts')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kubemate: cannot save images into .*not-a-folder\/charts: /m);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('without --images, says an image came back and how to save it', async () => {
    const r = await cli(['promql_query_range', '--args', chartArgs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^image \(image\/png, \d+ bytes\) not shown: add --images DIR to save it$/m);
  });
});

describe('discovery', () => {
  it('metrics_series counts what matched, per metric name', async () => {
    const r = await call('metrics_series', {
      match: ['{__name__=~"response_.*", pod="api-7d9f8c6b5-aaaaa"}'],
    });
    const s = r.structured as { total: number; byMetric: Record<string, number> };
    // 2 response_total (success, failure) + 6 buckets + _sum + _count
    expect(s.byMetric).toEqual({
      response_latency_ms_bucket: latency.boundsMs.length + 1,
      response_total: 2,
      response_latency_ms_count: 1,
      response_latency_ms_sum: 1,
    });
    expect(s.total).toBe(latency.boundsMs.length + 5);
  });

  it('metrics_labels and metrics_label_values list what Prometheus has', async () => {
    const labels = await call('metrics_labels', { match: ['request_total'] });
    expect((labels.structured as { items: Array<{ name: string }> }).items.map((i) => i.name)).toEqual([
      '__name__',
      'deployment',
      'direction',
      'instance',
      'job',
      'namespace',
      'pod',
      'tls',
    ]);
    const names = await call('metrics_label_values', { label: '__name__', contains: 'RESPONSE_' });
    const s = names.structured as { total: number; unfiltered: number; items: Array<{ value: string }> };
    expect(s.items.map((i) => i.value)).toEqual([
      'response_latency_ms_bucket',
      'response_latency_ms_count',
      'response_latency_ms_sum',
      'response_total',
    ]);
    const all = await raw<{ data: string[] }>('/api/v1/label/__name__/values', {});
    expect(s.unfiltered).toBeGreaterThanOrEqual(all.data.length - 5);
    // a limit lists fewer, with the totals still exact
    const few = await call('metrics_label_values', { label: '__name__', contains: 'response_', limit: 2 });
    const f = few.structured as { total: number; items: Array<{ value: string }> };
    expect(f.total).toBe(4);
    expect(f.items.map((i) => i.value)).toEqual(['response_latency_ms_bucket', 'response_latency_ms_count']);
    expect(few.text).toContain('Listing the first 2 (limit).');
  });

  it('targets_list puts the down target first with its last error', async () => {
    const r = await call('targets_list', {});
    const s = r.structured as {
      total: number;
      byHealth: Record<string, number>;
      items: Array<{ job: string; health: string; instance: string; lastError?: string }>;
    };
    expect(s.total).toBe(3);
    expect(s.byHealth).toEqual({ up: 2, down: 1 });
    expect(s.items[0]).toMatchObject({
      job: 'unreachable-exporter',
      health: 'down',
      instance: stack.unreachableTarget,
    });
    expect(s.items[0]!.lastError).toMatch(/connection refused/);
    expect(r.text.split('\n')[3]).toMatch(/^down +unreachable-exporter /);
  });
});

describe('a Prometheus that does not answer', () => {
  it('a hung Prometheus gives a timeout error naming it, within its timeoutSeconds', async () => {
    const slowApp = appFor(stack.prometheusUrl, stack.alertmanagerUrl, 1);
    stack.processes.prometheus.kill('SIGSTOP');
    try {
      await waitFor(
        'Prometheus to be stopped',
        async () => (processState(stack.processes.prometheus.pid!) === 'T' ? true : undefined),
        5000,
      );
      const started = Date.now();
      const r = await slowApp.pipeline.invoke('promql_query', { query: 'up' }, alice);
      const took = Date.now() - started;
      expect(r.status).toBe('error');
      expect(r.errorCode).toBe('timeout');
      expect(r.text).toContain(`Prometheus 'default' at ${stack.prometheusUrl} did not answer within 1 s`);
      expect(took).toBeLessThan(2500);
    } finally {
      stack.processes.prometheus.kill('SIGCONT');
      slowApp.close();
    }
  });

  it('a stopped Prometheus is named as unreachable at once', async () => {
    stack.processes.prometheus.kill('SIGTERM');
    await new Promise((r) => stack.processes.prometheus.once('exit', r));
    const started = Date.now();
    const r = await call('promql_query_range', { query: 'up' });
    expect(r.status).toBe('error');
    expect(r.errorCode).toBe('backend_unavailable');
    expect(r.text).toMatch(
      new RegExp(
        `^Prometheus 'default' at ${stack.prometheusUrl.replace(/\./g, '\\.')} is unreachable: ECONNREFUSED`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
