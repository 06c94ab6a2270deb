import { statfsSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  expectedQuantile,
  type PrometheusStack,
  startPrometheusStack,
  type WorkloadSpec,
} from '../env/prometheus.js';
import { kubemateConfig } from '../support/kube.js';
import { who } from '../support/policy.js';

const alice = who('local:alice', [], 'cli');
const NS = 'payments';

const linkerd: WorkloadSpec = {
  namespace: NS,
  workload: 'ledger',
  naming: 'linkerd',
  pods: ['ledger-6b8d9f7c5-k2x9p', 'ledger-6b8d9f7c5-m4n7q'],
  rps: 24,
  errorRatio: 0.125,
  latency: { boundsMs: [10, 50, 100, 250, 1000], cumulative: [0.3, 0.6, 0.92, 0.985, 1] },
  cpu: { cores: 0.6, limitCores: 2 },
  memory: { bytes: 384 * 2 ** 20, limitBytes: 1024 * 2 ** 20 },
};
const httpCode: WorkloadSpec = {
  namespace: NS,
  workload: 'gateway',
  naming: 'http',
  statusLabel: 'code',
  pods: ['gateway-7c9d5b6f4-a1b2c'],
  rps: 8,
  errorRatio: 0.05,
  latency: { boundsMs: [5, 25, 100, 500], cumulative: [0.4, 0.8, 0.97, 1] },
  cpu: { cores: 0.25, limitCores: 0.5 },
  memory: { bytes: 100 * 2 ** 20, limitBytes: 256 * 2 ** 20 },
};
const httpStatus: WorkloadSpec = {
  ...httpCode,
  workload: 'billing',
  statusLabel: 'status',
  pods: ['billing-0', 'billing-1'],
  rps: 3,
  errorRatio: 0.2,
  cpu: undefined,
  memory: undefined,
};

let stack: PrometheusStack;
let app: App;

beforeAll(async () => {
  stack = await startPrometheusStack({
    exporter: (e) => {
      for (const w of [linkerd, httpCode, httpStatus]) e.setWorkload(w);
    },
  });
  app = buildApp(
    kubemateConfig({ KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: stack.prometheusUrl, timeoutSeconds: 5 }] }),
    silentLogger,
  );
  // more history than the 5s rate window
  await new Promise((r) => setTimeout(r, 9000));
});

afterAll(async () => {
  app?.close();
  await stack?.stop();
});

interface Golden {
  family: string;
  metrics: string[];
  selector?: string;
  statusLabel?: string;
  signals: {
    requestRate?: number;
    errorRatio?: number;
    errorRate?: number;
    latencyMs: { p50?: number; p95?: number; p99?: number };
    cpu: { usedCores?: number; limitCores?: number; ratio?: number };
    memory: { usedBytes?: number; limitBytes?: number; ratio?: number };
  };
  queries: Record<string, string>;
  notFound: string[];
}

async function golden(workload: string) {
  const r = await app.pipeline.invoke(
    'workload_golden_signals',
    { namespace: NS, workload, window: '5s' },
    alice,
  );
  return { r, g: r.structured as unknown as Golden };
}

/** Within `pct` percent of what the exporter emitted (rate() extrapolates over irregular scrapes). */
function near(actual: number | undefined, expected: number, pct = 3) {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual((Math.abs(expected) * pct) / 100 + 1e-9);
}

function checkAgainstSpec(g: Golden, spec: WorkloadSpec) {
  near(g.signals.requestRate, spec.rps);
  near(g.signals.errorRatio, spec.errorRatio);
  near(g.signals.errorRate, spec.rps * spec.errorRatio);
  for (const [q, key] of [
    [0.5, 'p50'],
    [0.95, 'p95'],
    [0.99, 'p99'],
  ] as const) {
    near(g.signals.latencyMs[key], expectedQuantile(q, spec.latency));
  }
  if (spec.cpu) {
    near(g.signals.cpu.usedCores, spec.cpu.cores);
    expect(g.signals.cpu.limitCores).toBeCloseTo(spec.cpu.limitCores, 9);
    near(g.signals.cpu.ratio, spec.cpu.cores / spec.cpu.limitCores);
  }
  if (spec.memory) {
    expect(g.signals.memory.usedBytes).toBeCloseTo(spec.memory.bytes, 3);
    expect(g.signals.memory.limitBytes).toBeCloseTo(spec.memory.limitBytes, 3);
    expect(g.signals.memory.ratio).toBeCloseTo(spec.memory.bytes / spec.memory.limitBytes, 9);
  }
}

describe('workload_golden_signals', () => {
  it('reads Linkerd proxy metrics: the values the exporter emitted', async () => {
    const { r, g } = await golden('ledger');
    expect(r.status, r.text).toBe('success');
    expect(g.family).toBe('linkerd');
    expect(g.metrics).toEqual(['request_total', 'response_total', 'response_latency_ms_bucket']);
    expect(g.selector).toBe(`{namespace="${NS}", direction="inbound", deployment="ledger"}`);
    checkAgainstSpec(g, linkerd);
    expect(g.notFound).toEqual([]);
    expect(r.text).toContain(
      'from Linkerd proxy metrics (request_total, response_total, response_latency_ms_bucket)',
    );
    expect(r.text).toContain(`requestRate: ${g.queries.requestRate}`);
  });

  it('reads common HTTP metrics with a code label, found by pod name', async () => {
    const { r, g } = await golden('gateway');
    expect(g.family).toBe('http');
    expect(g.statusLabel).toBe('code');
    expect(g.selector).toContain('pod=~"gateway-');
    checkAgainstSpec(g, httpCode);
    expect(r.text).toContain('5xx by label code');
  });

  it('reads HTTP metrics with a status label (StatefulSet pods), saturation not found and said so', async () => {
    const { r, g } = await golden('billing');
    expect(g.family).toBe('http');
    expect(g.statusLabel).toBe('status');
    checkAgainstSpec(g, httpStatus);
    expect(g.notFound).toEqual(['cpuUsed', 'cpuLimit', 'memoryUsed', 'memoryLimit']);
    expect(r.text).toContain('CPU           no data (no limit found)');
  });

  it('the PromQL it shows gives the values it reports', async () => {
    const { g } = await golden('ledger');
    for (const [name, query] of Object.entries(g.queries)) {
      const url = new URL('/api/v1/query', stack.prometheusUrl);
      url.searchParams.set('query', query);
      const body = (await (await fetch(url)).json()) as {
        data: { result: Array<{ value: [number, string] }> };
      };
      const value = Number(body.data.result[0]!.value[1]);
      const reported = {
        requestRate: g.signals.requestRate,
        errorRatio: g.signals.errorRatio,
        latencyP50: g.signals.latencyMs.p50,
        latencyP95: g.signals.latencyMs.p95,
        latencyP99: g.signals.latencyMs.p99,
        cpuUsed: g.signals.cpu.usedCores,
        cpuLimit: g.signals.cpu.limitCores,
        memoryUsed: g.signals.memory.usedBytes,
        memoryLimit: g.signals.memory.limitBytes,
      }[name];
      near(reported, value, 5);
    }
  });

  it('says clearly when there are no request metrics for the workload', async () => {
    const { r, g } = await golden('nothing-here');
    expect(r.status).toBe('no_data');
    expect(g.family).toBe('none');
    expect(r.text).toContain(
      `No request metrics found for ${NS}/nothing-here: looked for Linkerd proxy metrics`,
    );
    expect(r.text).toContain('and common HTTP server metrics (http_requests_total');
  });
});

describe('node_usage', () => {
  interface NodeItem {
    node: string;
    instance: string;
    cores: number;
    cpuRatio: number;
    memTotalBytes: number;
    memUsedBytes: number;
    disks: Array<{ mountpoint: string; sizeBytes: number; usedBytes: number; ratio: number }>;
    netRxBytesPerSecond?: number;
  }

  it("reads this machine's node_exporter, named by node_uname_info", async () => {
    const r = await app.pipeline.invoke('node_usage', {}, alice);
    expect(r.status, r.text).toBe('success');
    const [item] = (r.structured as { items: NodeItem[] }).items;
    expect(item!.node).toBe(os.hostname());
    expect(item!.instance).toBe(new URL(stack.nodeExporterUrl).host);
    expect(item!.cores).toBe(os.cpus().length);
    expect(item!.memTotalBytes).toBe(os.totalmem());
    expect(item!.cpuRatio).toBeGreaterThanOrEqual(0);
    expect(item!.cpuRatio).toBeLessThanOrEqual(1);
    expect(item!.memUsedBytes).toBeGreaterThan(0);
    expect(item!.memUsedBytes).toBeLessThan(os.totalmem());
    const root = item!.disks.find((d) => d.mountpoint === '/')!;
    const fs = statfsSync('/');
    expect(root.sizeBytes).toBe(fs.blocks * fs.bsize);
    expect(root.ratio).toBeCloseTo(root.usedBytes / root.sizeBytes, 9);
    const ratios = item!.disks.map((d) => d.ratio);
    expect(ratios).toEqual([...ratios].sort((a, b) => b - a));
    expect(r.text).toMatch(/^1 node \(node_exporter via Prometheus 'default'/);
    expect(r.text).toContain(`${os.hostname()} `);
  });

  it('filters by node name, and names the known nodes when the filter matches none', async () => {
    const byName = await app.pipeline.invoke('node_usage', { node: os.hostname() }, alice);
    expect((byName.structured as { total: number }).total).toBe(1);
    const none = await app.pipeline.invoke('node_usage', { node: 'no-such-node' }, alice);
    expect(none.status).toBe('no_data');
    expect(none.text).toContain(`No node 'no-such-node' in node_exporter metrics of Prometheus 'default'`);
    expect(none.text).toContain(`known: ${os.hostname()}`);
  });
});
