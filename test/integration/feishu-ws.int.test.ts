// Feishu/Lark long connection end to end: the SDK's WSClient against a local Feishu that speaks
// the endpoint request and the pbbp2 protobuf frames, the chat core and the pipeline on the real
// test cluster, replies and cards through the local Feishu Open API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { FeishuBot } from '../../bots/feishu/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import { runApprovalScenario } from '../support/approval-scenario.js';
import {
  APP_ID,
  APP_SECRET,
  buttonValue,
  cardAction,
  cardButtons,
  cardText,
  type FeishuMessage,
  type FeishuServer,
  messageReceived,
  startFeishuServer,
} from '../support/feishu-server.js';
import { attachLongConnection } from '../support/feishu-ws.js';
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

const CHAT = 'oc_wsopschat01';
const POLICY = `
version: 1
identities:
  alice: [feishu:ou_alice]
  bob: [feishu:ou_bob]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;
const ns = uniqueName('feishu-ws');
let feishu: FeishuServer;
let ws: ReturnType<typeof attachLongConnection>;
let ollama: ScriptedOllama;
let app: App;
let bot: FeishuBot;
const audit = new MemoryAudit();

const settle = async () => {
  await bot.core.settled();
  await bot.outbox.drained();
};

beforeAll(async () => {
  feishu = await startFeishuServer();
  ws = attachLongConnection(feishu);
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_BOTS__FEISHU__ENABLED: 'true',
    KUBEMATE_BOTS__FEISHU__MODE: 'long-connection',
    KUBEMATE_BOTS__FEISHU__APP_ID: APP_ID,
    KUBEMATE_BOTS__FEISHU__APP_SECRET: APP_SECRET,
    KUBEMATE_BOTS__FEISHU__API_URL: feishu.apiUrl,
    KUBEMATE_BOTS__FEISHU__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__FEISHU__DEFAULT_ALLOW_WRITES: 'true',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  bot = buildBots(app).feishu!;
  const connected = ws.connected();
  await bot.start();
  await connected;
});

afterAll(async () => {
  await bot?.stop();
  app?.close();
  ws?.close();
  await ollama?.close();
  await feishu?.close();
  await deleteNamespace(ns);
});

describe('Feishu long connection (the SDK WSClient) on the real cluster', () => {
  it('opens the socket with the app id and secret, and its pings are answered', () => {
    expect(feishu.calls.some((c) => c.path === '/callback/ws/endpoint' && c.code === 0)).toBe(true);
    expect(ws.pings()).toBeGreaterThanOrEqual(1);
  });

  it('alice asks in a group, her own Approve is refused, bob approves once: 4 replicas, card updated, audit shows feishu', async () => {
    let asked = '';
    let card: FeishuMessage | undefined;
    const answers: Array<{ code: number; data?: unknown }> = [];
    await runApprovalScenario({
      platform: 'feishu',
      ns,
      ollama,
      audit,
      requester: 'ou_alice',
      approver: 'ou_bob',
      async ask(user, text) {
        const payload = messageReceived({ user, chat: CHAT, text });
        feishu.sent(payload);
        asked = payload.event.message.message_id;
        answers.push(await ws.push(payload));
      },
      settle,
      cardText() {
        card ??= feishu.thread(asked).find((m) => cardButtons(m.content).length > 0);
        return card && cardText(card.content);
      },
      buttons: () => (card ? cardButtons(card.content).map((v) => v.kubemate as 'approve' | 'reject') : []),
      async press(user, action) {
        const value = buttonValue(card!, action);
        answers.push(await ws.push(cardAction({ user, message: card!, value })));
      },
      replies: () => feishu.thread(asked).map((m) => cardText(m.content)),
    });
    // Every frame answered 200; a card press answers with the toast Feishu shows.
    expect(answers.map((a) => a.code)).toEqual([200, 200, 200, 200]);
    expect(answers[1]!.data).toEqual({ toast: { type: 'info', content: '已收到 Received' } });
    expect(card!.root_id).toBe(asked);
    expect((card!.content.header as { template: string }).template).toBe('green');
  });

  it('refuses an event for another app over the socket: nothing runs, it is audited', async () => {
    const before = feishu.messages.length;
    const auditBefore = audit.records.length;
    const answer = await ws.push(
      messageReceived({ user: 'ou_bob', chat: CHAT, text: `pods ${ns}`, appId: 'cli_0000000000000000' }),
    );
    expect(answer.code).toBe(200);
    await settle();
    expect(feishu.messages.length).toBe(before);
    const added = audit.records.slice(auditBefore);
    expect(added.map((r) => r.decision?.effect === 'deny' && r.decision.reason)).toEqual(['wrong app id']);
  });

  it('refuses an event frame without an event id: nothing runs, it is audited', async () => {
    const before = feishu.messages.length;
    const auditBefore = audit.records.length;
    const payload = messageReceived({ user: 'ou_bob', chat: CHAT, text: `pods ${ns}` });
    const { event_id: _dropped, ...header } = payload.header;
    await ws.push({ ...payload, header });
    await settle();
    expect(feishu.messages.length).toBe(before);
    const added = audit.records.slice(auditBefore);
    expect(added.map((r) => r.decision?.effect === 'deny' && r.decision.reason)).toEqual([
      'long-connection event without event_id, event_type or app_id',
    ]);
  });

  it('handles an event Feishu delivers twice (same event id) once', async () => {
    const payload = messageReceived({ user: 'ou_bob', chat: CHAT, text: 'help', eventId: 'ev_ws_repeat_1' });
    feishu.sent(payload);
    await ws.push(payload);
    await ws.push(payload);
    await settle();
    const id = payload.event.message.message_id;
    expect(feishu.thread(id).filter((m) => m.message_id !== id)).toHaveLength(1);
  });
});
