// WeCom intelligent robot (智能机器人) over its long connection, end to end: Kubemate's own client
// (bots/wecom/long-connection.ts, undici's WebSocket) against a local gateway speaking WeCom's
// documented frames, the chat core and the pipeline on the real test cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { type App, buildApp } from '../../app/wiring.js';
import { createWecomAibot, type WecomAibotBot } from '../../bots/wecom/aibot-bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import { runApprovalScenario } from '../support/approval-scenario.js';
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
  BOT_ID,
  BOT_SECRET,
  type RobotMessage,
  startWecomAibotServer,
  type WecomAibotServer,
} from '../support/wecom-aibot-server.js';
import { buttonKeys as cardKeys, cardVisibleText } from '../support/wecom-server.js';

const GROUP = 'wrkOpsGroup0Kubemate01';
const POLICY = `
version: 1
identities:
  alice: [wecom:alice]
  bob: [wecom:bob]
  carol: [wecom:carol]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
  - subjects: [carol]
    roles: [viewer]
`;
const ns = uniqueName('wecom-ws');
let gw: WecomAibotServer;
let ollama: ScriptedOllama;
let app: App;
let bot: WecomAibotBot;
const audit = new MemoryAudit();

const settle = async () => {
  await bot.core.settled();
  await bot.outbox.drained();
};
const replicas = async (name: string) =>
  (await adminClients().apps.readNamespacedDeployment({ namespace: ns, name })).spec?.replicas;
const texts = (chat: string) =>
  gw
    .chat(chat)
    .filter((m) => m.msgtype !== 'template_card')
    .map((m) => m.content ?? '');
const refusals = (from: number) =>
  audit.records
    .slice(from)
    .filter((r) => r.decision?.rule === 'chat-signature')
    .map((r) => r.decision?.effect === 'deny' && r.decision.reason);
const until = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  gw = await startWecomAibotServer();
  ollama = await startScriptedOllama();
  await createNamespace(ns);
  await createDeployment(ns, 'api', 2);
  await createDeployment(ns, 'web', 1);
  await waitForRunningPods(ns, 'app=api', 2);
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__URL: ollama.url,
    KUBEMATE_BOTS__WECOM__ENABLED: 'true',
    KUBEMATE_BOTS__WECOM__MODE: 'long-connection',
    KUBEMATE_BOTS__WECOM__BOT_ID: BOT_ID,
    KUBEMATE_BOTS__WECOM__SECRET: BOT_SECRET,
    KUBEMATE_BOTS__WECOM__URL: gw.url,
    KUBEMATE_BOTS__WECOM__ALLOW_WRITES: 'true',
    KUBEMATE_BOTS__WECOM__PER_USER_INTERVAL_SECONDS: '0',
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  const built = buildBots(app).wecom!;
  if (built.mode !== 'long-connection') throw new Error('expected the long-connection bot');
  bot = built;
  await bot.start();
});

afterAll(async () => {
  await bot?.stop();
  app?.close();
  await ollama?.close();
  await gw?.close();
  await deleteNamespace(ns);
});

/** The card (and the full text sent before it) for a ticket in a chat. */
function cardIn(chat: string, since: number): { card: RobotMessage; details: string } | undefined {
  const all = gw.chat(chat).slice(since);
  const i = all.findIndex((m) => m.msgtype === 'template_card');
  if (i < 0) return undefined;
  return { card: all[i]!, details: all[i - 1]?.content ?? '' };
}

describe('WeCom intelligent robot over the long connection, on the real cluster', () => {
  it('subscribes with the bot id and secret', () => {
    expect(gw.subscribes).toEqual([{ botId: BOT_ID, ok: true }]);
    expect(bot.connection.state).toBe('subscribed');
  });

  it('alice asks in a group, her own Approve is refused, bob approves once: 4 replicas, card updated, audit shows wecom', async () => {
    const since = gw.chat(GROUP).length;
    let asked = '';
    await runApprovalScenario({
      platform: 'wecom',
      ns,
      ollama,
      audit,
      requester: 'alice',
      approver: 'bob',
      async ask(user, text) {
        asked = gw.pushMessage({ user, group: GROUP, text }).reqId;
        await until(() => gw.answered(asked));
      },
      settle,
      cardText() {
        const c = cardIn(GROUP, since);
        return c && `${c.details}\n${cardVisibleText(c.card.card)}`;
      },
      buttons: () =>
        cardKeys(cardIn(GROUP, since)?.card.card).map((k) => k.split(':')[0] as 'approve' | 'reject'),
      async press(user, action) {
        const { card } = cardIn(GROUP, since)!;
        const key = cardKeys(card.card).find((k) => k.startsWith(`${action}:`))!;
        const reqId = gw.pushCardPress({ user, group: GROUP, taskId: card.taskId!, key });
        await until(() => gw.answered(reqId));
      },
      replies: () => texts(GROUP).slice(0),
    });
    // What WeCom itself sees: the first reply was a stream on the question's req_id, refreshed in
    // place and finished; the card a reply on it too, updated in place on the presses' req_ids.
    const said = gw.chat(GROUP).slice(since);
    const first = said[0]!;
    expect([first.via, first.msgtype, first.finished]).toEqual(['respond', 'stream', true]);
    expect(first.history[0]).toBe('Working on it…');
    const { card } = cardIn(GROUP, since)!;
    expect(card.via).toBe('respond');
    expect(card.history.length).toBeGreaterThanOrEqual(3);
    expect(card.card!.replace_text).toBe('已执行');
    expect(said.every((m) => m.via === 'respond')).toBe(true);
    expect(gw.received.some((f) => f.cmd === 'aibot_respond_msg' && f.headers?.req_id === asked)).toBe(true);
  });

  it('answers a message WeCom delivers twice (same msgid) once, in a single chat', async () => {
    const before = texts('bob').length;
    const once = gw.pushMessage({ user: 'bob', text: 'help', msgid: 'CAIQrepeatedmsgid0001' });
    const again = gw.pushMessage({ user: 'bob', text: 'help', msgid: 'CAIQrepeatedmsgid0001' });
    await until(() => gw.answered(once.reqId));
    // The repeat is read (a later frame on the socket is answered) and dropped by the core's dedupe.
    const probe = gw.pushMessage({ user: 'bob', text: 'help' });
    await until(() => gw.answered(probe.reqId));
    await settle();
    expect(gw.answered(again.reqId)).toBe(false);
    expect(
      texts('bob')
        .slice(before)
        .filter((t) => t.startsWith('Ask me anything')),
    ).toHaveLength(2);
  });

  it('refuses malformed and oversized frames and a foreign robot, audits them, and keeps serving', async () => {
    const from = audit.records.length;
    const shown = gw.messages.length;
    gw.sendRaw('{"cmd":"aibot_msg_callback",');
    gw.sendRaw(JSON.stringify({ cmd: 'aibot_msg_callback', headers: {}, body: {} }));
    gw.sendRaw(
      JSON.stringify({
        cmd: 'aibot_msg_callback',
        headers: { req_id: 'r-foreign' },
        body: {
          msgid: 'CAIQforeign01',
          aibotid: 'aibSomeOtherRobot',
          chattype: 'single',
          from: { userid: 'bob' },
          msgtype: 'text',
          text: { content: `pods ${ns}` },
        },
      }),
    );
    await until(() => refusals(from).length === 3);
    expect(bot.connection.state).toBe('subscribed');
    // Above the 1 MiB limit: refused unparsed, on the same connection.
    gw.sendRaw(
      JSON.stringify({
        cmd: 'aibot_msg_callback',
        headers: { req_id: 'r-big' },
        body: { pad: 'x'.repeat(1_100_000) },
      }),
    );
    await until(() => refusals(from).length === 4);
    expect(gw.opened()).toBe(1);
    expect(refusals(from)).toEqual([
      'frame is not JSON',
      'malformed frame',
      'wrong bot id',
      'oversized frame',
    ]);
    expect(audit.records.slice(from).every((r) => r.principal.id === 'wecom:unverified')).toBe(true);
    await settle();
    expect(gw.messages.length).toBe(shown);
    expect(audit.records.slice(from).some((r) => r.tool === 'pods_list')).toBe(false);
    // Still serving after all of it.
    gw.pushMessage({ user: 'bob', text: `pods ${ns}` });
    await until(() => texts('bob').some((t) => /pods in namespace/.test(t)), 10_000);
  });

  it('refuses presses that may not decide: a viewer, a stranger, a made-up ticket, a decided ticket; nothing runs', async () => {
    ollama.setChat(() => ({
      toolCalls: [{ name: 'deployment_scale', arguments: { namespace: ns, name: 'web', replicas: 5 } }],
    }));
    const since = gw.chat(GROUP).length;
    const asked = gw.pushMessage({ user: 'alice', group: GROUP, text: `把 ${ns}/web 扩容到 5 个副本` });
    await until(() => gw.answered(asked.reqId));
    await until(() => cardIn(GROUP, since) !== undefined, 20_000);
    await settle();
    const { card } = cardIn(GROUP, since)!;
    const [approve, reject] = cardKeys(card.card);
    const from = audit.records.length;

    const byCarol = gw.pushCardPress({ user: 'carol', group: GROUP, taskId: card.taskId!, key: approve! });
    await until(() => gw.answered(byCarol));
    await settle();
    expect(cardVisibleText(card.card)).toContain("carol's approve was refused");
    gw.pushCardPress({ user: 'mallory', group: GROUP, taskId: card.taskId!, key: approve! });
    gw.pushCardPress({ user: 'bob', group: GROUP, taskId: card.taskId!, key: 'approve:apr_made_up_0001' });
    gw.pushCardPress({ user: 'bob', group: GROUP, taskId: 'km-not-our-card', key: approve! });
    const strangerAudited = () =>
      audit.records.some(
        (r) => r.principal.id === 'wecom:mallory' && r.decision?.rule === 'chat-unknown-identity',
      );
    await until(() => strangerAudited() && refusals(from).length === 2);
    await settle();
    expect(await replicas('web')).toBe(1);
    const added = audit.records.slice(from);
    expect(added.some((r) => r.principal.id === 'wecom:carol' && r.outcome === 'denied')).toBe(true);
    expect(
      added.some((r) => r.principal.id === 'wecom:mallory' && r.decision?.rule === 'chat-unknown-identity'),
    ).toBe(true);
    expect(refusals(from)).toEqual([
      "card press on a card that is not the ticket's",
      "card press on a card that is not the ticket's",
    ]);

    // alice withdraws it; bob's Approve afterwards decides nothing.
    const withdrawn = gw.pushCardPress({ user: 'alice', group: GROUP, taskId: card.taskId!, key: reject! });
    await until(() => gw.answered(withdrawn));
    await settle();
    expect(cardVisibleText(card.card)).toContain('已拒绝 rejected');
    const late = gw.pushCardPress({ user: 'bob', group: GROUP, taskId: card.taskId!, key: approve! });
    await until(() => gw.answered(late));
    await settle();
    expect(cardVisibleText(card.card)).toContain("bob's approve was refused");
    expect(await replicas('web')).toBe(1);
    expect(
      audit.records.some(
        (r) =>
          r.tool === 'deployment_scale' &&
          r.kind === 'result' &&
          r.outcome === 'success' &&
          JSON.stringify(r.args).includes('"web"'),
      ),
    ).toBe(false);
  });
});

describe('WeCom long connection: subscription, reconnects and takeover', () => {
  const robot = (gateway: WecomAibotServer, secret = BOT_SECRET) =>
    createWecomAibot({
      url: gateway.url,
      botId: BOT_ID,
      secret,
      allowWrites: false,
      heartbeatMs: 100,
      backoffBaseMs: 50,
      backoffMaxMs: 400,
      dataDir: mkdtempSync(join(tmpdir(), 'kubemate-robot-')),
      pipeline: app.pipeline,
      agent: () => {
        throw new Error('no agent in these tests');
      },
      audit: new MemoryAudit(),
      logger: silentLogger,
    });

  it('a report (HTML) sent to a chat says the robot cannot send files and where to open it', async () => {
    // WeCom sends only to chats that have talked to the robot.
    gw.pushMessage({ user: 'bob', group: GROUP, text: 'help' });
    await settle();
    await bot.transport.upload(
      { channel: GROUP },
      {
        name: 'insp_1.html',
        title: 'Inspection report',
        mimeType: 'text/html',
        data: Buffer.from('<html></html>').toString('base64'),
      },
    );
    await until(() => texts(GROUP).some((t) => t.includes('insp_1.html')));
    const said = texts(GROUP).find((t) => t.includes('insp_1.html'))!;
    expect(said).toContain('cannot send files');
    expect(said).toContain('/reports');
  });

  it('stops at a wrong secret with an error naming the config keys, and does not retry', async () => {
    const own = await startWecomAibotServer();
    const r = robot(own, 'not-the-secret');
    try {
      await expect(r.start()).rejects.toThrow(/bots\.wecom\.botId and bots\.wecom\.secret/);
      await new Promise((res) => setTimeout(res, 600));
      expect(own.opened()).toBe(1);
      expect(own.subscribes).toEqual([{ botId: BOT_ID, ok: false }]);
      expect(r.connection.state).toBe('stopped');
    } finally {
      await r.stop();
      await own.close();
    }
  });

  it('pings, reconnects with backoff after the gateway drops the socket, and serves again', async () => {
    const own = await startWecomAibotServer();
    const r = robot(own);
    try {
      await r.start();
      await until(() => own.pings() >= 2);
      const again = own.connected();
      own.drop();
      await again;
      expect(own.opened()).toBe(2);
      await until(() => r.connection.state === 'subscribed');
      own.pushMessage({ user: 'dave', text: 'help' });
      await until(() => own.chat('dave').some((m) => m.content?.includes('know who you are')));
    } finally {
      await r.stop();
      await own.close();
    }
  });

  it('stays closed when another connection takes the robot over (disconnected_event), without a fight', async () => {
    const own = await startWecomAibotServer();
    const first = robot(own);
    const second = robot(own);
    try {
      await first.start();
      await second.start();
      await until(() => first.connection.state === 'taken-over');
      await new Promise((res) => setTimeout(res, 800));
      expect(own.opened()).toBe(2);
      expect(second.connection.state).toBe('subscribed');
      expect(own.subscribes.map((s) => s.ok)).toEqual([true, true]);
    } finally {
      await first.stop();
      await second.stop();
      await own.close();
    }
  });
});
