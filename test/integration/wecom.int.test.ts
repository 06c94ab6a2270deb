// WeCom (self-built app) end to end: callbacks as WeCom sends them (encrypted XML, msg_signature)
// to Kubemate's fastify route under `kubemate serve`, the chat core and the pipeline on the real
// test cluster, and replies and template cards through the local WeCom server API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { WecomBot } from '../../bots/wecom/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import { runApprovalScenario } from '../support/approval-scenario.js';
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
import {
  AES_KEY,
  AGENT_ID,
  buttonKeys,
  CORP_ID,
  cardVisibleText,
  SECRET,
  startWecomServer,
  TOKEN,
  textMessage,
  type WecomServer,
  wecomCallback,
} from '../support/wecom-server.js';

const POLICY = `
version: 1
identities:
  alice: [wecom:alice]
  bob: [wecom:bob]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
`;
const ns = uniqueName('wecom');
let wecom: WecomServer;
let ollama: ScriptedOllama;
let app: App;
let bot: WecomBot;
let server: FastifyInstance;
const audit = new MemoryAudit();

const post = ({ query, body }: { query: Record<string, string>; body: string }) =>
  server.inject({
    method: 'POST',
    url: `/wecom/callback?${new URLSearchParams(query)}`,
    headers: { 'content-type': 'text/xml' },
    payload: body,
  });
async function settle() {
  await bot.core.settled();
  await bot.outbox.drained();
}
const texts = (user: string) =>
  wecom
    .inbox(user)
    .filter((m) => m.msgtype === 'text')
    .map((m) => m.text!);

beforeAll(async () => {
  wecom = await startWecomServer();
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await waitForRunningPods(ns, 'app=api', 2);
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_BOTS__WECOM__ENABLED: 'true',
    KUBEMATE_BOTS__WECOM__CORP_ID: CORP_ID,
    KUBEMATE_BOTS__WECOM__AGENT_ID: String(AGENT_ID),
    KUBEMATE_BOTS__WECOM__SECRET: SECRET,
    KUBEMATE_BOTS__WECOM__TOKEN: TOKEN,
    KUBEMATE_BOTS__WECOM__ENCODING_AES_KEY: AES_KEY,
    KUBEMATE_BOTS__WECOM__API_URL: wecom.apiUrl,
    KUBEMATE_BOTS__WECOM__APPROVERS: ['bob'],
    KUBEMATE_BOTS__WECOM__ALLOW_WRITES: 'true',
    KUBEMATE_BOTS__WECOM__PER_USER_INTERVAL_SECONDS: '0',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  bot = buildBots(app).wecom as WecomBot;
  await bot.start();
  server = await buildHttpServer(app, { wecom: bot });
});

afterAll(async () => {
  await server?.close();
  await bot?.stop();
  app?.close();
  await ollama?.close();
  await wecom?.close();
  await deleteNamespace(ns);
});

describe('WeCom approvals on the real cluster', () => {
  it('alice asks, her own Approve is refused, bob approves from his card once: 4 replicas, card updated, audit shows wecom', async () => {
    const card = () => wecom.messages.find((m) => m.msgtype === 'template_card');
    const key = (action: 'approve' | 'reject') =>
      buttonKeys(card()?.card).find((k) => k.startsWith(`${action}:`))!;
    const answers: number[] = [];
    await runApprovalScenario({
      platform: 'wecom',
      ns,
      ollama,
      audit,
      requester: 'alice',
      approver: 'bob',
      async ask(user, text) {
        const r = await post(wecomCallback(textMessage({ user, text })));
        answers.push(r.statusCode);
        expect(r.body).toBe('');
      },
      settle,
      cardText() {
        const c = card();
        const details = texts('bob').find((t) => t.startsWith('审批 Approval'));
        return c && `${details}\n${cardVisibleText(c.card)}`;
      },
      buttons: () => buttonKeys(card()?.card).map((k) => k.split(':')[0] as 'approve' | 'reject'),
      async press(user, action) {
        // Each press is its own event with its own response code, as WeCom sends them.
        answers.push((await post(wecomCallback(wecom.press(user, card()!, key(action))))).statusCode);
      },
      replies: () => texts('alice'),
    });
    // What WeCom itself sees: every callback answered at once, the card sent to the requester and
    // the approvers after its full text, and updated in place with the presses' response codes.
    expect(answers).toEqual([200, 200, 200, 200]);
    expect(card()!.touser).toEqual(['alice', 'bob']);
    const details = texts('bob').find((t) => t.startsWith('审批 Approval'))!;
    expect(details).toContain('申请人 Requested by: alice');
    expect(card()!.history.length).toBeGreaterThanOrEqual(3);
    expect(card()!.card!.replace_text).toBe('已执行');
  });
});

describe('WeCom delivery and verification', () => {
  it('verifies the callback URL with GET: the decrypted echostr, nothing else', async () => {
    const c = wecomCallback('1288432023552776189');
    const encrypted = /<Encrypt><!\[CDATA\[(.*?)\]\]>/.exec(c.body)![1]!;
    const { verify } = await import('../support/wecom-verify.js');
    const q = verify(encrypted);
    const res = await server.inject({ method: 'GET', url: `/wecom/callback?${new URLSearchParams(q)}` });
    expect([res.statusCode, res.body]).toEqual([200, '1288432023552776189']);
    const forged = await server.inject({
      method: 'GET',
      url: `/wecom/callback?${new URLSearchParams({ ...q, msg_signature: '0'.repeat(40) })}`,
    });
    expect([forged.statusCode, forged.body]).toEqual([401, '']);
  });

  it('refuses forged, stale, undecryptable and foreign callbacks: nothing runs, each is audited', async () => {
    const before = wecom.calls.length;
    const auditBefore = audit.records.length;
    const msg = () => textMessage({ user: 'bob', text: `pods ${ns}` });
    const answers = await Promise.all([
      post(wecomCallback(msg(), { token: 'not-the-token' })),
      post(wecomCallback(msg(), { timestamp: Math.floor(Date.now() / 1000) - 600 })),
      post(wecomCallback(msg(), { aesKey: 'b'.repeat(43) })),
      post(wecomCallback(msg(), { corpId: 'ww9999999999999999' })),
      post(wecomCallback(textMessage({ user: 'bob', text: 'help', agentId: 7 }))),
    ]);
    expect(answers.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 401]);
    await settle();
    expect(wecom.calls.length).toBe(before);
    const refused = audit.records.slice(auditBefore);
    expect(refused.map((r) => r.decision?.effect === 'deny' && r.decision.reason).sort()).toEqual([
      'bad ciphertext',
      'bad signature',
      'stale timestamp',
      'wrong agent id',
      'wrong corp id',
    ]);
    expect(
      refused.every((r) => r.principal.id === 'wecom:unverified' && r.decision?.rule === 'chat-signature'),
    ).toBe(true);
  });

  it('answers a callback WeCom repeats (same MsgId) once', async () => {
    const inner = textMessage({ user: 'bob', text: 'help', msgId: '6001' });
    await post(wecomCallback(inner));
    await post(wecomCallback(inner));
    await settle();
    expect(texts('bob').filter((t) => t.startsWith('Ask me anything'))).toHaveLength(1);
  });

  it('refuses an unknown user politely, says how to be added, and audits it', async () => {
    await post(wecomCallback(textMessage({ user: 'mallory', text: `pods ${ns}` })));
    await settle();
    expect(texts('mallory')).toEqual([expect.stringContaining('`wecom:mallory` under `identities`')]);
    expect(
      audit.records.some(
        (r) => r.principal.id === 'wecom:mallory' && r.decision?.rule === 'chat-unknown-identity',
      ),
    ).toBe(true);
    expect(audit.records.some((r) => r.principal.id === 'wecom:mallory' && r.tool === 'pods_list')).toBe(
      false,
    );
  });

  it('runs `pods NAMESPACE` without the model, as the person, through the pipeline', async () => {
    await post(wecomCallback(textMessage({ user: 'bob', text: `pods ${ns}` })));
    await settle();
    expect(texts('bob').some((t) => /4 pods in namespace/.test(t))).toBe(true);
    expect(
      audit.records.some(
        (r) => r.tool === 'pods_list' && r.principal.id === 'wecom:bob' && r.kind === 'result',
      ),
    ).toBe(true);
  });
});
