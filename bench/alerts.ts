/**
 * `npm run bench -- alerts`: Alertmanager webhook ingest over real HTTP (fastify, bearer check, zod,
 * the SQLite store in one transaction per delivery, presentation through a real chat outbox to a
 * local Slack), alerts per second; the deterministic enrichment of one group on the test cluster
 * (model excluded), p50; and the process's peak RSS while 2,000 alerts in 200 groups come in.
 * Uses the cluster at KUBEMATE_TEST_KUBECONFIG when set, otherwise starts one.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { alertsConfigSchema } from '../alerts/config.js';
import { enrich } from '../alerts/enrich.js';
import { alertsHttpPlugin } from '../alerts/http.js';
import { AlertService } from '../alerts/service.js';
import { openAlertStore } from '../alerts/store.js';
import { alertChat } from '../app/alerts.js';
import { loadConfig } from '../app/config.js';
import { buildApp } from '../app/wiring.js';
import { startCluster } from '../test/env/cluster.js';
import { slackRig } from '../test/support/chat-rig.js';
import { startSlackServer } from '../test/support/slack-server.js';
import { silentLogger } from '../tools/core/logger.js';
import { percentile } from './stats.js';

const TOKEN = 'bench-alertmanager-token';
const TARGET_RATE = 1000;
const TARGET_ENRICH_P50 = 2000;

function payload(group: number, alerts: number, namespace: string) {
  const startsAt = new Date().toISOString();
  return {
    version: '4',
    groupKey: `{}:{alertname="Bench${group % 7}", namespace="${namespace}-${group}"}`,
    status: 'firing',
    receiver: 'kubemate',
    groupLabels: { alertname: `Bench${group % 7}`, namespace: `${namespace}-${group}` },
    commonLabels: { alertname: `Bench${group % 7}`, namespace: `${namespace}-${group}`, severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager',
    truncatedAlerts: 0,
    alerts: Array.from({ length: alerts }, (_, i) => ({
      status: 'firing',
      labels: {
        alertname: `Bench${group % 7}`,
        namespace: `${namespace}-${group}`,
        instance: `host-${i}`,
        severity: 'warning',
      },
      annotations: { summary: `bench alert ${i} of group ${group}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: (group * 100_000 + i).toString(16).padStart(16, '0'),
    })),
  };
}

export async function benchAlerts(): Promise<string[]> {
  const out: string[] = [];
  // Ingest: 200 groups × 10 alerts, over HTTP, into a service posting to a local Slack.
  const slack = await startSlackServer();
  const rig = slackRig({ slack, mode: 'http' });
  await rig.bot.start();
  const store = openAlertStore(
    undefined,
    join(mkdtempSync(join(tmpdir(), 'kubemate-bench-alerts-')), 'alerts.db'),
  );
  const service = new AlertService({
    config: alertsConfigSchema.parse({
      enabled: true,
      token: TOKEN,
      routes: [{ matchers: [], channel: 'C0BENCH', triage: !process.env.BENCH_NO_TRIAGE }],
      triage: { modelRunsPerMinute: 0 },
    }),
    store,
    pipeline: rig.pipeline,
    chats: { slack: alertChat('slack', rig.bot.core) },
    logger: silentLogger,
  });
  await service.start();
  const server = Fastify();
  await server.register(alertsHttpPlugin, { service, store, token: TOKEN, audit: rig.audit });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}/api/alerts`;
  const bodies = Array.from({ length: 200 }, (_, g) => JSON.stringify(payload(g, 10, 'bench')));
  let peakRss = process.memoryUsage().rss;
  const started = performance.now();
  const latencies: number[] = [];
  // Four senders at once, as Alertmanager sends groups in parallel.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const t0 = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        latencies.push(performance.now() - t0);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const rate = 2000 / seconds;
  await service.settled();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const totals = await store.totals();
  out.push(
    `alerts ingest (HTTP, 200 deliveries × 10 alerts, 4 at once): ${rate.toFixed(0)} alerts/s (target > ${TARGET_RATE}; ${(rate / TARGET_RATE).toFixed(2)}× of it), delivery p50 ${percentile(latencies, 50).toFixed(1)} ms p99 ${percentile(latencies, 99).toFixed(1)} ms; stored ${totals.alerts} alerts in ${totals.groups} groups`,
    `alerts storm peak RSS (this process, 2,000 alerts in 200 groups, with the triage of every group): ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  await service.stop();
  await server.close();
  await rig.bot.stop();
  store.close();
  await slack.close();

  // Enrichment of one group on the test cluster (model excluded).
  const external = process.env.KUBEMATE_TEST_KUBECONFIG;
  const cluster = external ? undefined : await startCluster({ nodes: 3 });
  const kubeconfig = external ?? cluster!.kubeconfigPath;
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-bench-enrich-'));
    const policyFile = join(dataDir, 'policy.yaml');
    writeFileSync(
      policyFile,
      'version: 1\nidentities:\n  triage: [alert:triage]\nbindings:\n  - subjects: [triage]\n    roles: [viewer]\n',
    );
    const app = buildApp(
      loadConfig({
        env: {
          KUBEMATE_DATA_DIR: dataDir,
          KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig,
          KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
          KUBEMATE_POLICY__FILE: policyFile,
          KUBEMATE_LOG__LEVEL: 'silent',
        },
      }),
      silentLogger,
    );
    const group = {
      groupKey: 'bench',
      id: 'ag_bench',
      labels: { alertname: 'KubePodCrashLooping', namespace: 'kube-system' },
      status: 'firing' as const,
      severityRank: 0,
      storm: false,
      firstAt: Date.now(),
      updatedAt: Date.now(),
      episode: 0,
    };
    const alerts = [
      {
        fingerprint: 'aa',
        startsAt: new Date().toISOString(),
        status: 'firing' as const,
        labels: {
          alertname: 'KubePodCrashLooping',
          namespace: 'kube-system',
          pod: 'missing-pod',
          node: 'kwok-node-0',
        },
        annotations: { summary: 'pod is crash looping' },
        endsAt: '',
      },
    ];
    const principal = { id: 'alert:triage', groups: [], source: 'alert' as const };
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t0 = performance.now();
      const r = await enrich(app.pipeline, principal, group, alerts);
      times.push(performance.now() - t0);
      if (r.evidence.length < 3) throw new Error('enrichment read less than expected');
    }
    const p50 = percentile(times, 50);
    out.push(
      `alert enrichment of one group on the test cluster (pods_get, nodes_get, warning events, runbooks; model excluded): p50 ${p50.toFixed(1)} ms p99 ${percentile(times, 99).toFixed(1)} ms (target p50 < ${TARGET_ENRICH_P50} ms; ${(p50 / TARGET_ENRICH_P50).toFixed(3)}× of it)`,
    );
    app.close();
  } finally {
    await cluster?.stop();
  }
  return out;
}
