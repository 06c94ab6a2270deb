/**
 * `npm run bench -- canary`: canary_analyze's overhead on a real Prometheus, and canary_list across
 * 500 HTTPRoutes on the real API server (with the real Gateway API, Linkerd, SMI, Flagger and Argo
 * CRDs installed).
 *
 * Overhead of canary_analyze is the call through the pipeline minus the wall-clock span of its
 * Prometheus requests (timed around HttpBackend.request; they run in parallel, so their span, not
 * their sum, is what the call waits for). What remains is Kubemate's own work, the API server reads
 * (discovery, the splits and the Deployments behind the backends) included. canary_list is set
 * against a plain list of the same HTTPRoutes over the same kind of keep-alive connection.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from '../app/config.js';
import { buildApp } from '../app/wiring.js';
import { installCanaryCrds } from '../test/env/canary.js';
import { startCluster } from '../test/env/cluster.js';
import { startPrometheusStack } from '../test/env/prometheus.js';
import { HttpBackend } from '../tools/clients/http-backend.js';
import { KubeReader } from '../tools/clients/kube-raw.js';
import { silentLogger } from '../tools/core/logger.js';
import { fmt, measureInterleaved, percentile } from './stats.js';

const ROUTES = 500;
const ROUNDS = Number(process.env.BENCH_CANARY_ROUNDS ?? 30);
const LIST_NS = 'bench-canary-routes';
const ANALYZE_NS = 'bench-canary-analyze';

async function ensure(raw: KubeReader, path: string, body: unknown): Promise<void> {
  await raw.request('POST', path, { body }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
}

const route = (name: string, stable: number) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name },
  spec: {
    rules: [
      {
        backendRefs: [
          { name: `${name}-stable`, port: 80, weight: stable },
          { name: `${name}-canary`, port: 80, weight: 100 - stable },
        ],
      },
    ],
  },
});

async function workload(raw: KubeReader, ns: string, name: string) {
  await ensure(raw, `/apis/apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: `registry.local/${name}:1` }] },
      },
    },
  });
  await ensure(raw, `/api/v1/namespaces/${ns}/services`, {
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }] },
  });
}

export async function benchCanary(): Promise<string[]> {
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  const cluster = external ? undefined : await startCluster({ nodes: 1 });
  const kubeconfig = external ?? cluster!.kubeconfigPath;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('admin');
  const raw = new KubeReader(kc);
  const stack = await startPrometheusStack({
    exporter: (e) => {
      for (const [w, errors] of [
        ['api-stable', 0.001],
        ['api-canary', 0.002],
      ] as const) {
        e.setWorkload({
          namespace: ANALYZE_NS,
          workload: w,
          naming: 'linkerd',
          pods: [`${w}-5c7d9f8b6-abcde`],
          rps: 50,
          errorRatio: errors,
          latency: { boundsMs: [10, 50, 100, 500], cumulative: [0.5, 0.9, 0.995, 1] },
        });
      }
    },
  });
  const app = buildApp(
    loadConfig({
      env: {
        KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'kubemate-bench-')),
        KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig,
        KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
        KUBEMATE_LOG__LEVEL: 'silent',
        KUBEMATE_OBSERVABILITY__PROMETHEUS: JSON.stringify([
          { url: stack.prometheusUrl, timeoutSeconds: 10 },
        ]),
      },
    }),
    silentLogger,
  );
  const principal = { id: 'local:bench', groups: [], source: 'cli' as const };
  try {
    await installCanaryCrds(kc);
    for (const ns of [LIST_NS, ANALYZE_NS])
      await ensure(raw, '/api/v1/namespaces', { metadata: { name: ns } });
    for (let i = 0; i < ROUTES; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, ROUTES - i) }, (_, k) =>
          ensure(
            raw,
            `/apis/gateway.networking.k8s.io/v1/namespaces/${LIST_NS}/httproutes`,
            route(`r${i + k}`, 90 - ((i + k) % 9) * 10),
          ),
        ),
      );
    }
    await workload(raw, ANALYZE_NS, 'api-stable');
    await workload(raw, ANALYZE_NS, 'api-canary');
    await ensure(
      raw,
      `/apis/gateway.networking.k8s.io/v1/namespaces/${ANALYZE_NS}/httproutes`,
      route('api', 90),
    );
    // History for the 30 s window.
    await new Promise((r) => setTimeout(r, 32_000));

    // ── canary_analyze overhead ─────────────────────────────────────────────────────────────────
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    const request = HttpBackend.prototype.request;
    HttpBackend.prototype.request = async function (this: HttpBackend, ...a: Parameters<typeof request>) {
      first = Math.min(first, performance.now());
      try {
        return await request.apply(this, a);
      } finally {
        last = Math.max(last, performance.now());
      }
    };
    const args = { namespace: ANALYZE_NS, name: 'api', window: '30s' };
    const total: number[] = [];
    const prom: number[] = [];
    const overhead: number[] = [];
    let verdict = '';
    for (let round = -3; round < ROUNDS; round++) {
      first = Number.POSITIVE_INFINITY;
      last = 0;
      const t = performance.now();
      const r = await app.pipeline.invoke('canary_analyze', args, principal);
      const ms = performance.now() - t;
      if (r.status !== 'success') throw new Error(r.text);
      verdict = String(r.structured?.verdict);
      if (round < 0) continue;
      total.push(ms);
      prom.push(last - first);
      overhead.push(ms - (last - first));
    }
    HttpBackend.prototype.request = request;

    // ── canary_list across 500 routes ───────────────────────────────────────────────────────────
    let listed = 0;
    const list = await measureInterleaved(
      {
        kubemate: async () => {
          const r = await app.pipeline.invoke('canary_list', { namespace: LIST_NS }, principal);
          listed = Number((r.structured as { total: number }).total);
        },
        plain: () => raw.list(`/apis/gateway.networking.k8s.io/v1/namespaces/${LIST_NS}/httproutes`, {}),
      },
      ROUNDS,
      3,
    );
    if (listed !== ROUTES) throw new Error(`canary_list found ${listed} canaries, expected ${ROUTES}`);
    const p50 = (x: number[]) => percentile(x, 50);
    const p99 = (x: number[]) => percentile(x, 99);
    return [
      `canary_analyze (6 PromQL queries, verdict ${verdict}), ${ROUNDS} calls:`,
      `  call through the pipeline   p50 ${fmt(p50(total)).padStart(9)}  p99 ${fmt(p99(total)).padStart(9)}`,
      `  Prometheus span             p50 ${fmt(p50(prom)).padStart(9)}  p99 ${fmt(p99(prom)).padStart(9)}`,
      `  Kubemate overhead           p50 ${fmt(p50(overhead)).padStart(9)}  p99 ${fmt(p99(overhead)).padStart(9)}  (target p50 < 150 ms)`,
      `canary_list over ${ROUTES} HTTPRoutes, ${ROUNDS} calls:`,
      `  canary_list                 p50 ${fmt(list.kubemate!.p50).padStart(9)}  p99 ${fmt(list.kubemate!.p99).padStart(9)}  (target < 1 s)`,
      `  plain list of the routes    p50 ${fmt(list.plain!.p50).padStart(9)}  p99 ${fmt(list.plain!.p99).padStart(9)}  ratio ${(list.kubemate!.p50 / list.plain!.p50).toFixed(2)}×`,
    ];
  } finally {
    app.close();
    raw.close();
    await stack.stop();
    await cluster?.stop();
  }
}
