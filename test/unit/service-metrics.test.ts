// Kubemate's own service metrics on /metrics: HTTP requests, audit records, and the queue depths an
// operator watches (approvals pending, chat outbox per platform, alert triage queue), each read from
// the real stores the app wires up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alerts, buildAlerts } from '../../app/alerts.js';
import { type Bots, buildBots } from '../../app/bots.js';
import { loadConfig } from '../../app/config.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { silentLogger } from '../../tools/core/logger.js';
import { type FakeApiServer, startFakeApiServer } from '../support/fake-apiserver.js';

let api: FakeApiServer;
let app: App;
let bots: Bots;
let alerts: Alerts;
let server: FastifyInstance;

beforeAll(async () => {
  api = await startFakeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-service-metrics-'));
  app = buildApp(
    loadConfig({
      env: {
        KUBEMATE_DATA_DIR: dir,
        KUBEMATE_KUBERNETES__KUBECONFIG: api.kubeconfig(dir),
        KUBEMATE_POLICY__FILE: resolve('policy.example.yaml'),
        KUBEMATE_BOTS__SLACK__ENABLED: 'true',
        KUBEMATE_BOTS__SLACK__BOT_TOKEN: 'xoxb-service-metrics-test',
        KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'service-metrics-signing-secret',
        KUBEMATE_BOTS__SLACK__API_URL: 'http://127.0.0.1:9/api/',
        KUBEMATE_ALERTS__ENABLED: 'true',
        KUBEMATE_ALERTS__TOKEN: 'service-metrics-alert-token-0123456789',
        KUBEMATE_LLM__PROVIDER: 'none',
      },
    }),
    silentLogger,
  );
  bots = buildBots(app); // built, not started: what is enqueued stays pending
  alerts = buildAlerts(app, bots)!;
  server = await buildHttpServer(app, bots, alerts);
});
afterAll(async () => {
  await server.close();
  await alerts.close();
  app.close();
  await api.close();
});

const scrape = async () => {
  const r = await server.inject({ method: 'GET', url: '/metrics', headers: { host: 'localhost' } });
  expect(r.statusCode).toBe(200);
  return r.body;
};

/** The value of one series, exactly as written (`name{labels}`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('service metrics on /metrics', () => {
  it('counts HTTP requests by route template and status code, with latency', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await server.inject({ method: 'GET', url: '/healthz', headers: { host: 'localhost' } });
      expect(r.statusCode).toBe(200);
    }
    await server.inject({ method: 'GET', url: '/healthz', headers: { host: 'evil.example' } });
    await server.inject({ method: 'GET', url: '/no/such/route', headers: { host: 'localhost' } });
    const text = await scrape();
    expect(sample(text, 'kubemate_http_requests_total{method="GET",route="/healthz",code="200"}')).toBe(3);
    expect(sample(text, 'kubemate_http_requests_total{method="GET",route="/healthz",code="403"}')).toBe(1);
    expect(sample(text, 'kubemate_http_requests_total{method="GET",route="(unmatched)",code="404"}')).toBe(1);
    expect(sample(text, 'kubemate_http_request_duration_seconds_count{method="GET",route="/healthz"}')).toBe(
      4,
    );
  });

  it('shows a pending approval and the audit records of the decision', async () => {
    const before = await scrape();
    expect(sample(before, 'kubemate_approvals_pending')).toBe(0);
    const decisions = sample(before, 'kubemate_audit_records_total{kind="decision"}') ?? 0;
    const result = await app.pipeline.invoke(
      'pods_delete',
      { namespace: 'service-metrics', name: 'web-0' },
      { id: 'slack:U0789CAROL', groups: [], source: 'chat' },
    );
    expect(result.status).toBe('approval_required');
    const after = await scrape();
    expect(sample(after, 'kubemate_approvals_pending')).toBe(1);
    expect(sample(after, 'kubemate_audit_records_total{kind="decision"}')).toBe(decisions + 1);
  });

  it('reads the Slack outbox depth and the alert triage queue from their stores', async () => {
    const slack = bots.slack!;
    expect(sample(await scrape(), 'kubemate_outbox_pending{platform="slack"}')).toBe(0);
    for (const key of ['m1', 'm2']) {
      await slack.store.enqueue({ op: 'post', place: { channel: 'C0SERVICE' }, message: { text: key }, key });
    }
    await alerts.store.queue.enqueue('service-metrics-group', 1, 100);
    const text = await scrape();
    expect(sample(text, 'kubemate_outbox_pending{platform="slack"}')).toBe(2);
    expect(sample(text, 'kubemate_alert_triage_queued')).toBe(1);
  });
});
