// DingTalk end to end: Stream mode through the official `dingtalk-stream` SDK against a local
// gateway speaking the Stream protocol, and the HTTP robot callback under Kubemate's fastify routes;
// the chat core and the pipeline on the real test cluster; cards and replies through the local
// OpenAPI and session webhooks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { DingtalkBot } from '../../bots/dingtalk/bot.js';
import { TOPIC_CARD, TOPIC_ROBOT } from '../../bots/dingtalk/inbound.js';
import { silentLogger } from '../../tools/core/logger.js';
import { runApprovalScenario } from '../support/approval-scenario.js';
import {
  CARD_TEMPLATE,
  CLIENT_ID,
  CLIENT_SECRET,
  cardButtons,
  cardPress,
  type DingtalkCard,
  type DingtalkServer,
  httpCallback,
  robotMessage,
  startDingtalkServer,
} from '../support/dingtalk-server.js';
import {
  createDeployment,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
  waitForRunningPods,
} from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { MemoryAudit } from '../support/pipeline.js';

const GROUP = 'cidOpsGroup0Kubemate01==';
const POLICY = `
version: 1
identities:
  alice: [dingtalk:alice01]
  bob: [dingtalk:bob02]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;
const ns = uniqueName('dingtalk');
let dt: DingtalkServer;
let ollama: ScriptedOllama;

interface Rig {
  app: App;
  bot: DingtalkBot;
  audit: MemoryAudit;
  server?: FastifyInstance;
}
let stream: Rig;
let http: Rig;

async function rig(mode: 'stream' | 'http'): Promise<Rig> {
  const audit = new MemoryAudit();
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_BOTS__DINGTALK__ENABLED: 'true',
    KUBEMATE_BOTS__DINGTALK__MODE: mode,
    KUBEMATE_BOTS__DINGTALK__CLIENT_ID: CLIENT_ID,
    KUBEMATE_BOTS__DINGTALK__CLIENT_SECRET: CLIENT_SECRET,
    KUBEMATE_BOTS__DINGTALK__CARD_TEMPLATE_ID: CARD_TEMPLATE,
    KUBEMATE_BOTS__DINGTALK__API_URL: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__WEBHOOK_ORIGIN: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__DINGTALK__DEFAULT_ALLOW_WRITES: 'true',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  const bot = buildBots(app).dingtalk!;
  await bot.start();
  const server = mode === 'http' ? await buildHttpServer(app, { dingtalk: bot }) : undefined;
  return { app, bot, audit, ...(server ? { server } : {}) };
}

const settle = async (r: Rig) => {
  await r.bot.core.settled();
  await r.bot.outbox.drained();
};
const said = (channel: string) => dt.texts.filter((t) => t.channel === channel);

beforeAll(async () => {
  dt = await startDingtalkServer();
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  const connected = dt.connected();
  stream = await rig('stream');
  await connected;
  http = await rig('http');
});

afterAll(async () => {
  for (const r of [stream, http]) {
    await r?.server?.close();
    await r?.bot.stop();
    r?.app.close();
  }
  await ollama?.close();
  await dt?.close();
  await deleteNamespace(ns);
});

describe('DingTalk Stream mode (the dingtalk-stream SDK) on the real cluster', () => {
  it('opens the connection through the gateway with its subscriptions and echoes pings', async () => {
    expect(dt.subscriptions).toEqual(
      expect.arrayContaining([
        { type: 'CALLBACK', topic: TOPIC_ROBOT },
        { type: 'CALLBACK', topic: TOPIC_CARD },
      ]),
    );
    const pong = await dt.ping();
    expect(pong.code).toBe(200);
  });

  it('alice asks in a group, her own Approve is refused, bob approves once: 4 replicas, card updated, audit shows dingtalk', async () => {
    const before = dt.acks.length;
    let card: DingtalkCard | undefined;
    const frames: Array<Promise<{ code: number }>> = [];
    await runApprovalScenario({
      platform: 'dingtalk',
      ns,
      ollama,
      audit: stream.audit,
      requester: 'alice01',
      approver: 'bob02',
      async ask(user, text) {
        const ack = await dt.pushMessage(robotMessage({ server: dt, user, group: GROUP, text }));
        frames.push(Promise.resolve(ack));
      },
      settle: () => settle(stream),
      cardText() {
        card ??= [...dt.cards.values()].find((c) => c.space === `IM_GROUP.${GROUP}`);
        return card && Object.values(card.params).join('\n');
      },
      buttons: () => (card ? cardButtons(card) : []),
      async press(user, action) {
        frames.push(dt.pushCardPress(cardPress({ user, card: card!, action })));
        await frames.at(-1);
      },
      replies: () => said(GROUP).map((t) => t.text),
    });
    // What DingTalk itself sees: every frame ACKed, the card created for Stream callbacks and
    // updated in place, the answer sent through the message's session webhook.
    expect((await Promise.all(frames)).map((a) => a.code)).toEqual([200, 200, 200, 200]);
    expect(dt.acks.length - before).toBe(4);
    expect(card!.callbackType).toBe('STREAM');
    expect(card!.history.length).toBeGreaterThanOrEqual(3);
    expect(card!.params.status).toBe('已执行 executed');
    expect(said(GROUP).find((t) => t.text.includes('Scaled as approved.'))?.via).toBe('webhook');
  });

  it('runs a frame DingTalk delivers again (no ACK seen) once', async () => {
    const ack = await dt.pushMessage(
      robotMessage({ server: dt, user: 'bob02', group: GROUP, text: 'help', msgId: 'msgRepeat0001' }),
    );
    const first = dt.acks.at(-1)!.headers.messageId!;
    expect(ack.code).toBe(200);
    await dt.redeliver(first);
    // A second delivery of the same message under a new frame id: DingTalk's retry after a reconnect.
    await dt.pushMessage(
      robotMessage({ server: dt, user: 'bob02', group: GROUP, text: 'help', msgId: 'msgRepeat0001' }),
    );
    await settle(stream);
    expect(said(GROUP).filter((t) => t.text.includes('approve ID'))).toHaveLength(1);
  });

  it("refuses a message for another robot and a press on a card that is not the ticket's: nothing runs", async () => {
    const auditBefore = stream.audit.records.length;
    const textsBefore = dt.texts.length;
    await dt.pushMessage(
      robotMessage({
        server: dt,
        user: 'bob02',
        group: GROUP,
        text: `pods ${ns}`,
        robotCode: 'dingotherrobot',
      }),
    );
    const ticket = [...dt.cards.values()].find((c) => c.space === `IM_GROUP.${GROUP}`)!;
    const forged: DingtalkCard = { ...ticket, outTrackId: 'km_not_the_card' };
    await dt.pushCardPress(cardPress({ user: 'bob02', card: forged, action: 'reject' }));
    await settle(stream);
    expect(dt.texts.length).toBe(textsBefore);
    const added = stream.audit.records.slice(auditBefore);
    // Both refusals are audited: the message for another robot, and the press on a forged card.
    expect(added.map((r) => r.decision?.effect === 'deny' && r.decision.reason)).toEqual([
      'wrong robot',
      'approval press on a card that is not the one posted for its ticket',
    ]);
    expect(added.every((r) => r.principal.id === 'dingtalk:unverified')).toBe(true);
  });
});

describe('DingTalk HTTP robot callback', () => {
  const post = (d: { body: string; headers: Record<string, string> }) =>
    http.server!.inject({ method: 'POST', url: '/dingtalk/callback', headers: d.headers, payload: d.body });

  it('runs `pods NAMESPACE` in a one-to-one chat as the person, answered through the session webhook', async () => {
    const res = await post(httpCallback(robotMessage({ server: dt, user: 'bob02', text: `pods ${ns}` })));
    expect([res.statusCode, res.json()]).toEqual([200, {}]);
    await settle(http);
    const replies = said('dm:bob02');
    expect(replies.map((t) => t.via)).toEqual(['webhook']);
    expect(replies[0]!.text).toMatch(/pods in namespace/);
    expect(
      http.audit.records.some(
        (r) => r.tool === 'pods_list' && r.principal.id === 'dingtalk:bob02' && r.kind === 'result',
      ),
    ).toBe(true);
  });

  it('refuses forged, stale, unsigned, foreign and malformed callbacks: nothing runs, each is audited', async () => {
    const textsBefore = dt.texts.length;
    const auditBefore = http.audit.records.length;
    const message = () => robotMessage({ server: dt, user: 'bob02', text: `pods ${ns}` });
    const unsigned = httpCallback(message());
    const answers = await Promise.all([
      post(httpCallback(message(), { secret: 'not-the-secret' })),
      post(httpCallback(message(), { timestamp: Date.now() - 3600_000 })),
      post({ body: unsigned.body, headers: { 'content-type': 'application/json' } }),
      post(
        httpCallback(robotMessage({ server: dt, user: 'bob02', text: 'help', robotCode: 'dingotherrobot' })),
      ),
      post({ ...httpCallback({}), body: '{"msgId": "m1", "text": ' }),
      post(httpCallback({ msgId: 'm2', msgtype: 'text' })),
    ]);
    expect(answers.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 400, 400]);
    expect(answers[5]!.json().error).toMatch(/not a DingTalk robot message \(conversationId/);
    await settle(http);
    expect(dt.texts.length).toBe(textsBefore);
    const refused = http.audit.records.slice(auditBefore);
    expect(
      refused.every((r) => r.decision?.rule === 'chat-signature' && r.principal.id === 'dingtalk:unverified'),
    ).toBe(true);
    expect(refused.map((r) => r.decision?.effect === 'deny' && r.decision.reason).sort()).toEqual([
      'bad signature',
      'body is not JSON',
      'not a robot message',
      'stale timestamp',
      'unsigned request',
      'wrong robot',
    ]);
  });

  it('refuses a body over a megabyte before reading it, and one over 256 KiB after', async () => {
    const huge = await http.server!.inject({
      method: 'POST',
      url: '/dingtalk/callback',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'A'.repeat(1100 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
    const big = await post(httpCallback({ text: { content: 'A'.repeat(300 * 1024) } }));
    expect(big.statusCode).toBe(413);
  });

  it('handles a callback DingTalk repeats (same msgId) once', async () => {
    const m = robotMessage({
      server: dt,
      user: 'bob02',
      group: 'cidHttpGroup02==',
      text: 'help',
      msgId: 'msgHttpRepeat1',
    });
    await post(httpCallback(m));
    await post(httpCallback(m));
    await settle(http);
    expect(said('cidHttpGroup02==')).toHaveLength(1);
  });

  it('never calls a session webhook outside DingTalk: the reply goes through the OpenAPI and the refusal is audited', async () => {
    const auditBefore = http.audit.records.length;
    const m = robotMessage({
      server: dt,
      user: 'bob02',
      group: 'cidHttpGroup03==',
      text: 'help',
      session: {
        sessionWebhook: 'http://169.254.169.254/latest/meta-data',
        sessionWebhookExpiredTime: Date.now() + 600_000,
      },
    });
    expect((await post(httpCallback(m))).statusCode).toBe(200);
    await settle(http);
    expect(said('cidHttpGroup03==').map((t) => t.via)).toEqual(['openapi']);
    expect(
      http.audit.records
        .slice(auditBefore)
        .some(
          (r) => r.decision?.effect === 'deny' && r.decision.reason === 'session webhook outside DingTalk',
        ),
    ).toBe(true);
  });

  it('delivers the approval card without buttons in HTTP mode and says how to decide by command', async () => {
    ollama.setChat(() => ({
      toolCalls: [{ name: 'deployment_scale', arguments: { namespace: ns, name: 'api', replicas: 3 } }],
    }));
    await post(
      httpCallback(
        robotMessage({
          server: dt,
          user: 'alice01',
          group: 'cidHttpGroup04==',
          text: `把 ${ns}/api 扩容到 3 个副本`,
        }),
      ),
    );
    await settle(http);
    const card = [...dt.cards.values()].find((c) => c.space === 'IM_GROUP.cidHttpGroup04==')!;
    expect(card).toBeDefined();
    expect(card.callbackType).toBeUndefined();
    expect(cardButtons(card)).toEqual([]);
    expect(card.params.notice).toContain(`@kubemate approve ${card.params.ticket}`);
  });
});
