// `/kubemate inspect` in Slack, end to end: a signed slash command to Kubemate's own HTTP server,
// the real Slack bot (Bolt, chat core, outbox), the pipeline as the person who asked, a real
// inspection of this file's own namespace on the test cluster, and the reply on the local Slack
// server. A person the policy does not let read inspections is refused, and the refusal is audited.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { SlackBot } from '../../bots/slack/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import type { Report } from '../../tools/inspection/model.js';
import { findingId } from '../../tools/inspection/runner.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
} from '../support/kube.js';
import { MemoryAudit } from '../support/pipeline.js';
import { BOT_TOKEN, type SlackServer, signed, startSlackServer } from '../support/slack-server.js';

const SECRET = 'slack-signing-secret-for-inspect-tests';
const CHANNEL = 'C0INSPCHAT';
// Alice may read inspections; bob may read the cluster, but not run inspections.
const POLICY = `
version: 1
roles:
  inspector:
    - toolsets: [inspection]
      verbs: [read]
  cluster-reader:
    - toolsets: [cluster]
      verbs: [read]
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
bindings:
  - subjects: [alice]
    roles: [inspector]
  - subjects: [bob]
    roles: [cluster-reader]
`;
const ns = uniqueName('insp-chat');
const audit = new MemoryAudit();
let slack: SlackServer;
let app: App;
let bot: SlackBot;
let server: FastifyInstance;
let trigger = 0;

/** A slash command as Slack sends it: a signed form post to /slack/events. */
async function slash(user: string, text: string) {
  const body = new URLSearchParams({
    token: 'legacy',
    team_id: 'T0TEST',
    api_app_id: 'A0TEST',
    command: '/kubemate',
    text,
    user_id: user,
    channel_id: CHANNEL,
    trigger_id: `trig.inspect.${++trigger}.${Date.now()}`,
    response_url: 'http://127.0.0.1:9/unused',
  }).toString();
  const res = await server.inject({
    method: 'POST',
    url: '/slack/events',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...signed(SECRET, body) },
    payload: body,
  });
  await bot.http?.idle();
  await bot.core.settled();
  await bot.outbox.drained();
  return res;
}
const posted = () => slack.messages.filter((m) => m.channel === CHANNEL);

beforeAll(async () => {
  slack = await startSlackServer();
  await createNamespace(ns);
  await adminClients().core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'lonely' }, spec: { selector: { app: 'none-here' }, ports: [{ port: 80 }] } },
  });
  const cfg = kubemateConfig({
    KUBEMATE_INSPECTIONS__SUMMARY: 'template',
    KUBEMATE_BOTS__SLACK__ENABLED: 'true',
    KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
    KUBEMATE_BOTS__SLACK__SIGNING_SECRET: SECRET,
    KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
    KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.01',
    // The channel is bound to this file's namespace: inspections from it look at nothing else.
    KUBEMATE_BOTS__SLACK__CHANNELS: [{ id: CHANNEL, namespace: ns }],
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  bot = buildBots(app).slack!;
  await bot.start();
  server = await buildHttpServer(app, { slack: bot });
});

afterAll(async () => {
  await server?.close();
  await bot?.stop();
  app?.close();
  await slack?.close();
  await deleteNamespace(ns);
});

describe('/kubemate inspect in Slack', () => {
  it('runs an inspection of the channel’s namespace as the person who asked, and posts its summary', async () => {
    const res = await slash('UALICE', 'inspect cluster');
    expect(res.statusCode).toBe(200);
    const reports = (await app.inspections.list({ limit: 10 })).filter((r) => r.by === 'slack:UALICE');
    expect(reports).toHaveLength(1);
    const report = JSON.parse((await app.inspections.get(reports[0]!.id))!.body) as Report;
    expect(report).toMatchObject({ namespace: ns, scopes: ['cluster'], trigger: { by: 'slack:UALICE' } });
    const lonely = findingId('cluster.services.no-endpoints', `${ns}/service/lonely`);
    expect(report.findings.map((f) => f.id)).toContain(lonely);
    // Nothing of another namespace in a report asked for from this channel.
    expect(report.findings.filter((f) => f.namespace !== undefined && f.namespace !== ns)).toEqual([]);

    const replies = posted();
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(`Inspection of kubemate/${ns} (cluster)`);
    expect(replies[0]!.text).toContain(`[${lonely}]`);
    expect(replies[0]!.text).toContain(`Report ${report.id}`);
    const run = audit.records.filter((r) => r.tool === 'inspection_run' && r.principal.id === 'slack:UALICE');
    expect(run.map((r) => [r.kind, r.outcome ?? r.decision?.effect])).toContainEqual(['result', 'success']);
    expect(run.every((r) => r.principal.source === 'chat')).toBe(true);
  });

  it('refuses a person without inspection rights, runs nothing, and audits the refusal', async () => {
    const before = await app.inspections.count();
    const already = posted().length;
    const res = await slash('UBOB', 'inspect cluster');
    expect(res.statusCode).toBe(200);
    expect(await app.inspections.count()).toBe(before);
    const replies = posted().slice(already);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toMatch(/denied/i);
    expect(replies[0]!.text).not.toContain('lonely');
    const bobs = audit.records.filter((r) => r.tool === 'inspection_run' && r.principal.id === 'slack:UBOB');
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((r) => r.outcome === 'denied' || r.decision?.effect === 'deny')).toBe(true);
    expect(bobs.some((r) => r.decision?.effect === 'deny')).toBe(true);
    expect(bobs.some((r) => r.outcome === 'success')).toBe(false);
  });

  it('refuses an unknown scope with the tool’s own message, and stores nothing', async () => {
    const before = await app.inspections.count();
    const already = posted().length;
    await slash('UALICE', 'inspect hosts');
    expect(await app.inspections.count()).toBe(before);
    const replies = posted().slice(already);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('scopes.0: Invalid option');
  });
});
