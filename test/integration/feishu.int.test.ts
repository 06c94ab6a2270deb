// Feishu/Lark webhook mode end to end: deliveries as Feishu sends them (encrypted, signed) to
// Kubemate's fastify route under `kubemate serve`, the chat core and the pipeline on the real test
// cluster, and replies and cards through the local Feishu Open API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
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
  ENCRYPT_KEY,
  type FeishuMessage,
  type FeishuServer,
  feishuDelivery,
  messageReceived,
  startFeishuServer,
  VERIFICATION_TOKEN,
} from '../support/feishu-server.js';
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

const CHAT = 'oc_opschat01';
const POLICY = `
version: 1
identities:
  alice: [feishu:ou_alice]
  bob: [feishu:ou_bob]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;
const ns = uniqueName('feishu');
let feishu: FeishuServer;
let ollama: ScriptedOllama;
let app: App;
let bot: FeishuBot;
let server: FastifyInstance;
const audit = new MemoryAudit();

const deliver = ({ body, headers }: { body: string; headers: Record<string, string> }) =>
  server.inject({ method: 'POST', url: '/feishu/events', headers, payload: body });
async function settle() {
  await bot.core.settled();
  await bot.outbox.drained();
}
/** A person writes in the chat: the message exists on Feishu, and its event is delivered. */
async function say(o: Parameters<typeof messageReceived>[0]) {
  const payload = messageReceived(o);
  feishu.sent(payload);
  const res = await deliver(feishuDelivery(payload));
  return { res, messageId: payload.event.message.message_id, payload };
}

beforeAll(async () => {
  feishu = await startFeishuServer();
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_BOTS__FEISHU__ENABLED: 'true',
    KUBEMATE_BOTS__FEISHU__APP_ID: APP_ID,
    KUBEMATE_BOTS__FEISHU__APP_SECRET: APP_SECRET,
    KUBEMATE_BOTS__FEISHU__ENCRYPT_KEY: ENCRYPT_KEY,
    KUBEMATE_BOTS__FEISHU__VERIFICATION_TOKEN: VERIFICATION_TOKEN,
    KUBEMATE_BOTS__FEISHU__API_URL: feishu.apiUrl,
    KUBEMATE_BOTS__FEISHU__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__FEISHU__DEFAULT_ALLOW_WRITES: 'true',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  bot = buildBots(app).feishu!;
  await bot.start();
  server = await buildHttpServer(app, { feishu: bot });
});

afterAll(async () => {
  await server?.close();
  await bot?.stop();
  app?.close();
  await ollama?.close();
  await feishu?.close();
  await deleteNamespace(ns);
});

describe('Feishu approvals on the real cluster', () => {
  it('alice asks in a group, her own Approve is refused, bob approves once: 4 replicas, card and audit show it', async () => {
    let asked = '';
    let card: FeishuMessage | undefined;
    await runApprovalScenario({
      platform: 'feishu',
      ns,
      ollama,
      audit,
      requester: 'ou_alice',
      approver: 'ou_bob',
      async ask(user, text) {
        const r = await say({ user, chat: CHAT, text });
        expect(r.res.statusCode).toBe(200);
        asked = r.messageId;
      },
      settle,
      cardText() {
        card ??= feishu.thread(asked).find((m) => cardButtons(m.content).length > 0);
        return card && cardText(card.content);
      },
      buttons: () => (card ? cardButtons(card.content).map((v) => v.kubemate as 'approve' | 'reject') : []),
      async press(user, action) {
        const value = buttonValue(card!, action);
        expect((await deliver(feishuDelivery(cardAction({ user, message: card!, value })))).statusCode).toBe(
          200,
        );
      },
      replies: () => feishu.thread(asked).map((m) => cardText(m.content)),
    });
    // Feishu's own: the card is an interactive reply in the thread, shown green once executed.
    expect(card!.msg_type).toBe('interactive');
    expect(card!.root_id).toBe(asked);
    expect(cardText(card!.content)).toContain('申请人 Requested by: alice');
    expect((card!.content.header as { template: string }).template).toBe('green');
  });
});

describe('Feishu delivery and verification', () => {
  it('answers the url_verification challenge Feishu sends when the request URL is saved', async () => {
    const res = await deliver(
      feishuDelivery(
        { type: 'url_verification', challenge: 'ch-42', token: VERIFICATION_TOKEN },
        { unsigned: true },
      ),
    );
    expect([res.statusCode, res.json()]).toEqual([200, { challenge: 'ch-42' }]);
  });

  it('refuses forged, stale, undecryptable and foreign deliveries: nothing runs, each is audited', async () => {
    const before = feishu.calls.length;
    const auditBefore = audit.records.length;
    const payload = () => messageReceived({ user: 'ou_bob', chat: CHAT, text: `pods ${ns}` });
    const answers = await Promise.all([
      deliver(feishuDelivery(payload(), { signKey: 'not-the-key' })),
      deliver(feishuDelivery(payload(), { timestamp: Math.floor(Date.now() / 1000) - 600 })),
      deliver(feishuDelivery(payload(), { encryptKey: 'another-key', signKey: ENCRYPT_KEY })),
      deliver(
        feishuDelivery(
          messageReceived({ user: 'ou_bob', chat: CHAT, text: 'help', appId: 'cli_someoneelse' }),
        ),
      ),
      deliver({ body: JSON.stringify(payload()), headers: { 'content-type': 'application/json' } }),
    ]);
    expect(answers.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 400]);
    await settle();
    expect(feishu.calls.length).toBe(before);
    const refused = audit.records.slice(auditBefore);
    expect(
      refused.every((r) => r.decision?.rule === 'chat-signature' && r.principal.id === 'feishu:unverified'),
    ).toBe(true);
    expect(refused.map((r) => r.decision?.effect === 'deny' && r.decision.reason).sort()).toEqual([
      'bad ciphertext',
      'bad signature',
      'stale timestamp',
      'unencrypted body',
      'wrong app id',
    ]);
    expect(refused.some((r) => r.tool === 'pods_list')).toBe(false);
  });

  it('refuses a body over a megabyte before reading it', async () => {
    const res = await server.inject({
      method: 'POST',
      url: '/feishu/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ encrypt: 'A'.repeat(1100 * 1024) }),
    });
    expect(res.statusCode).toBe(413);
  });

  it('handles a delivery Feishu repeats (same event id) once', async () => {
    const payload = messageReceived({ user: 'ou_bob', chat: CHAT, text: 'help', eventId: 'ev_repeat_1' });
    feishu.sent(payload);
    const id = payload.event.message.message_id;
    await deliver(feishuDelivery(payload));
    await deliver(feishuDelivery(payload));
    await settle();
    expect(feishu.thread(id).filter((m) => m.message_id !== id)).toHaveLength(1);
  });

  it('refuses an unknown user politely, says how to be added, and audits it', async () => {
    const asked = await say({ user: 'ou_mallory', chat: CHAT, text: `pods ${ns}` });
    await settle();
    const replies = feishu.thread(asked.messageId).filter((m) => m.message_id !== asked.messageId);
    expect(replies).toHaveLength(1);
    expect(cardText(replies[0]!.content)).toContain('`feishu:ou_mallory` under `identities`');
    expect(
      audit.records.some(
        (r) => r.principal.id === 'feishu:ou_mallory' && r.decision?.rule === 'chat-unknown-identity',
      ),
    ).toBe(true);
    expect(audit.records.some((r) => r.principal.id === 'feishu:ou_mallory' && r.tool === 'pods_list')).toBe(
      false,
    );
  });

  it('runs `pods NAMESPACE` in a DM without the model, as the person, through the pipeline', async () => {
    const asked = await say({
      user: 'ou_bob',
      chat: 'oc_dmbob',
      chatType: 'p2p',
      text: `pods ${ns}`,
      mentionBot: false,
    });
    await settle();
    const replies = feishu.thread(asked.messageId).filter((m) => m.message_id !== asked.messageId);
    expect(replies.map((m) => m.chat_id)).toEqual(['oc_dmbob']);
    expect(cardText(replies[0]!.content)).toMatch(/4 pods in namespace/);
    expect(
      audit.records.some(
        (r) => r.tool === 'pods_list' && r.principal.id === 'feishu:ou_bob' && r.kind === 'result',
      ),
    ).toBe(true);
  });
});
