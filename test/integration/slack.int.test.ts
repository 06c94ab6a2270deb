import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import type { Config } from '../../app/config.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { SlackBot } from '../../bots/slack/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import { type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitForRunningPods,
} from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { MemoryAudit } from '../support/pipeline.js';
import {
  BOT_TOKEN,
  buttonPress,
  eventCallback,
  type SlackServer,
  signed,
  startSlackServer,
} from '../support/slack-server.js';

const SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0OPS';
const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;
const ns = uniqueName('slack');
let slack: SlackServer;
let ollama: ScriptedOllama;
let cfg: Config;
let app: App;
let bot: SlackBot;
let server: FastifyInstance;
let prometheus: PrometheusStack;
const audit = new MemoryAudit();

const replicas = async () =>
  (await adminClients().apps.readNamespacedDeployment({ namespace: ns, name: 'api' })).spec?.replicas;

function deliver(body: string, contentType: string, headers = signed(SECRET, body)) {
  return server.inject({
    method: 'POST',
    url: '/slack/events',
    headers: { 'content-type': contentType, ...headers },
    payload: body,
  });
}
const deliverEvent = (body: string, extra: Record<string, string> = {}) =>
  deliver(body, 'application/json', { ...signed(SECRET, body), ...extra });
const press = (body: string) => deliver(body, 'application/x-www-form-urlencoded');
async function settle() {
  await bot.http?.idle();
  await bot.core.settled();
  await bot.outbox.drained();
}
const inThread = (thread: string) => slack.messages.filter((m) => m.thread_ts === thread);

function openBot() {
  const bots = buildBots(app);
  return bots.slack!;
}

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  prometheus = await startPrometheusStack();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_OBSERVABILITY__PROMETHEUS: [{ url: prometheus.prometheusUrl, timeoutSeconds: 5 }],
    KUBEMATE_BOTS__SLACK__ENABLED: 'true',
    KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
    KUBEMATE_BOTS__SLACK__SIGNING_SECRET: SECRET,
    KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
    KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.05',
    // The conversations here happen in a channel no binding lists.
    KUBEMATE_BOTS__SLACK__DEFAULT_ALLOW_WRITES: 'true',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  bot = openBot();
  await bot.start();
  server = await buildHttpServer(app, { slack: bot });
});

afterAll(async () => {
  await server?.close();
  await bot?.stop();
  app?.close();
  await ollama?.close();
  await slack?.close();
  await prometheus?.stop();
  await deleteNamespace(ns);
});

describe('Slack approvals on the real cluster', () => {
  it('alice asks in a thread, her own Approve is refused, bob approves once: 4 replicas, card and audit show it', async () => {
    ollama.setChat((r) => {
      const tools = r.messages
        .filter((m) => m.role === 'tool')
        .map((m) => m.content)
        .join('\n');
      if (tools.includes('approved by bob')) return { content: 'Scaled as approved.' };
      return {
        toolCalls: [{ name: 'deployment_scale', arguments: { namespace: ns, name: 'api', replicas: 4 } }],
      };
    });
    const thread = '1700000000.000100';
    const asked = await deliverEvent(
      eventCallback({
        type: 'app_mention',
        user: 'UALICE',
        text: `<@UBOT> scale ${ns}/api to 4 replicas`,
        channel: CHANNEL,
        ts: '1700000000.000200',
        thread_ts: thread,
        event_ts: '1700000000.000200',
      }),
    );
    expect(asked.statusCode).toBe(200);
    await settle();
    const card = inThread(thread).find((m) => m.blocks?.some((b) => b.type === 'actions'))!;
    expect(card, JSON.stringify(inThread(thread))).toBeDefined();
    const cardText = JSON.stringify(card.blocks);
    expect(cardText).toContain(`deployment_scale`);
    expect(cardText).toContain(`from 2 to 4 replicas`);
    expect(cardText).toContain('*Requested by:* alice');
    expect(cardText).toContain('*Expires:*');

    expect((await press(buttonPress('UALICE', card, 'approve', '1700000001.000001'))).statusCode).toBe(200);
    await settle();
    expect(JSON.stringify(card.blocks)).toContain('alice requested this call and cannot approve it');
    expect(await replicas()).toBe(2);

    // bob double-clicks: two presses, two action_ts; the ticket runs once.
    const [a, b] = await Promise.all([
      press(buttonPress('UBOB', card, 'approve', '1700000002.000001')),
      press(buttonPress('UBOB', card, 'approve', '1700000002.000002')),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    await settle();
    expect(await replicas()).toBe(4);
    const final = JSON.stringify(card.blocks);
    expect(final).toContain('*Status:* executed');
    expect(final).toMatch(/Approved by bob at \d{4}-/);
    expect(final).not.toContain('"type":"actions"');
    expect(inThread(thread).some((m) => m.text.includes('Scaled as approved.'))).toBe(true);

    const scaleResults = audit.records.filter(
      (r) => r.tool === 'deployment_scale' && r.kind === 'result' && r.outcome === 'success',
    );
    expect(scaleResults).toHaveLength(1);
    expect(
      audit.records.some(
        (r) =>
          r.tool === 'deployment_scale' &&
          r.outcome === 'approval_required' &&
          r.principal.id === 'slack:UALICE' &&
          r.principal.source === 'agent' &&
          r.principal.via === 'chat',
      ),
    ).toBe(true);
    const approvals = audit.records.filter((r) => r.kind === 'approval' && r.tool === 'deployment_scale');
    expect(
      approvals.filter((r) => r.outcome === 'success').map((r) => [r.principal.id, r.principal.source]),
    ).toEqual([['slack:UBOB', 'chat']]);
    expect(approvals.some((r) => r.outcome === 'denied' && r.principal.id === 'slack:UALICE')).toBe(true);
  });
});

describe('Slack delivery and verification', () => {
  it('refuses a forged signature and a stale timestamp with 401, and audits both', async () => {
    const body = eventCallback({
      type: 'app_mention',
      user: 'UALICE',
      text: '<@UBOT> help',
      channel: CHANNEL,
      ts: '1700000100.000001',
    });
    const before = slack.calls.length;
    const forged = await deliverEvent(body, signed('not-the-secret', body));
    const stale = await deliverEvent(body, signed(SECRET, body, Math.floor(Date.now() / 1000) - 600));
    expect([forged.statusCode, stale.statusCode]).toEqual([401, 401]);
    await settle();
    expect(slack.calls.length).toBe(before);
    const refused = audit.records.filter((r) => r.decision?.rule === 'chat-signature');
    expect(refused.map((r) => r.decision?.effect === 'deny' && r.decision.reason)).toEqual([
      expect.stringMatching(/signature mismatch/),
      expect.stringMatching(/stale/),
    ]);
  });

  it('answers 400 to a signed body that is not a Slack event', async () => {
    const res = await deliverEvent(JSON.stringify({ type: 'nonsense' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^invalid request: not a Slack event/);
  });

  it('handles an event Slack retries once', async () => {
    const body = eventCallback(
      {
        type: 'app_mention',
        user: 'UALICE',
        text: '<@UBOT> help',
        channel: CHANNEL,
        ts: '1700000200.000001',
      },
      'EvRETRY1',
    );
    await deliverEvent(body);
    await deliverEvent(body, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
    await settle();
    expect(inThread('1700000200.000001').filter((m) => m.text.startsWith('Ask me anything'))).toHaveLength(1);
  });

  it('refuses an unknown user politely, says how to be added, and audits it', async () => {
    const body = eventCallback({
      type: 'app_mention',
      user: 'UMALLORY',
      text: `<@UBOT> pods ${ns}`,
      channel: CHANNEL,
      ts: '1700000300.000001',
    });
    await deliverEvent(body);
    await settle();
    const reply = inThread('1700000300.000001');
    expect(reply).toHaveLength(1);
    expect(reply[0]!.text).toContain('`slack:UMALLORY` under `identities`');
    expect(
      audit.records.some(
        (r) => r.principal.id === 'slack:UMALLORY' && r.decision?.rule === 'chat-unknown-identity',
      ),
    ).toBe(true);
    expect(audit.records.some((r) => r.principal.id === 'slack:UMALLORY' && r.tool === 'pods_list')).toBe(
      false,
    );
  });

  it('runs `pods NAMESPACE` without the model, as the person, through the pipeline', async () => {
    const body = eventCallback({
      type: 'app_mention',
      user: 'UBOB',
      text: `<@UBOT> pods ${ns}`,
      channel: CHANNEL,
      ts: '1700000400.000001',
    });
    await deliverEvent(body);
    await settle();
    expect(inThread('1700000400.000001')[0]!.text).toMatch(/4 pods in namespace/);
    expect(
      audit.records.some(
        (r) => r.tool === 'pods_list' && r.principal.id === 'slack:UBOB' && r.kind === 'result',
      ),
    ).toBe(true);
  });

  it('answers `chart` from the real Prometheus with the PNG chart shared in the thread', async () => {
    const ts = '1700000450.000001';
    await deliverEvent(
      eventCallback({ type: 'app_mention', user: 'UBOB', text: '<@UBOT> chart 5m up', channel: CHANNEL, ts }),
    );
    await settle();
    const reply = inThread(ts);
    expect(reply).toHaveLength(1);
    expect(reply[0]!.text).toMatch(/\d+ series, \d+ points/);
    const shared = slack.files.filter((f) => f.thread_ts === ts);
    expect(shared.map((f) => [f.channel, f.title, f.filename])).toEqual([[CHANNEL, 'up', 'chart-1.png']]);
    expect(shared[0]!.bytes!.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(
      audit.records.some(
        (r) =>
          r.tool === 'promql_query_range' &&
          r.kind === 'result' &&
          r.principal.id === 'slack:UBOB' &&
          r.images === 1,
      ),
    ).toBe(true);
  });

  it('loses no message when Slack answers 429 (Retry-After) and 500, and honours Retry-After', async () => {
    slack.failNext('chat.postMessage', 429, 1);
    slack.failNext('chat.postMessage', 500);
    const body = eventCallback({
      type: 'app_mention',
      user: 'UBOB',
      text: '<@UBOT> help',
      channel: 'C0RATE',
      ts: '1700000500.000001',
    });
    await deliverEvent(body);
    await settle();
    const tries = slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === 'C0RATE');
    expect(tries.map((c) => c.status)).toEqual([429, 500, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(slack.messages.filter((m) => m.channel === 'C0RATE')).toHaveLength(1);
  });

  it('delivers after a restart what was still in the outbox', async () => {
    slack.failNext('chat.postMessage', 429, 2);
    const body = eventCallback({
      type: 'app_mention',
      user: 'UBOB',
      text: '<@UBOT> help',
      channel: 'C0RESTART',
      ts: '1700000600.000001',
    });
    await deliverEvent(body);
    await bot.core.settled();
    await new Promise((r) => setTimeout(r, 200));
    expect(slack.messages.filter((m) => m.channel === 'C0RESTART')).toHaveLength(0);
    await server.close();
    await bot.stop(); // the process goes away with the message still pending
    bot = openBot();
    await bot.start();
    server = await buildHttpServer(app, { slack: bot });
    await settle();
    expect(slack.messages.filter((m) => m.channel === 'C0RESTART').map((m) => m.text)).toEqual([
      expect.stringMatching(/^Ask me anything/),
    ]);
  });
});
