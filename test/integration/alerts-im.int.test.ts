// Alert triage on Feishu and DingTalk: Alertmanager's v4 webhook posted to /api/alerts of the
// in-process app, routed by labels to a Feishu chat (threads, card buttons) and to a DingTalk group
// (no threads: everything in the group, naming the alert group; buttons on an action card, pressed
// over Stream mode); the local Feishu and DingTalk servers speak the platforms' wire formats;
// enrichment reads the real test cluster.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupIdOf } from '../../alerts/store.js';
import { type Alerts, buildAlerts } from '../../app/alerts.js';
import { buildBots } from '../../app/bots.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { DingtalkBot } from '../../bots/dingtalk/bot.js';
import type { FeishuBot } from '../../bots/feishu/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import {
  ACTION_CARD_TEMPLATE,
  actionCardPress,
  CARD_TEMPLATE,
  CLIENT_ID,
  CLIENT_SECRET,
  type DingtalkServer,
  startDingtalkServer,
} from '../support/dingtalk-server.js';
import {
  APP_ID,
  APP_SECRET,
  cardAction,
  cardButtons,
  cardText,
  ENCRYPT_KEY,
  type FeishuServer,
  feishuDelivery,
  startFeishuServer,
  VERIFICATION_TOKEN,
} from '../support/feishu-server.js';
import { createNamespace, deleteNamespace, kubemateConfig, uniqueName } from '../support/kube.js';
import { MemoryAudit } from '../support/pipeline.js';

const TOKEN = 'alertmanager-webhook-token-for-im-tests';
const CHAT = 'oc_alertschat01';
const GROUP = 'cidAlertsGroup0Kubemate==';
const POLICY = `
version: 1
identities:
  triage: [alert:triage]
  alice: [feishu:ou_alice, dingtalk:alice01]
  mallory: [feishu:ou_mallory, dingtalk:mallory02]
bindings:
  - subjects: [triage, alice]
    roles: [viewer]
`;
const ns = uniqueName('alerts-im');
let feishu: FeishuServer;
let dt: DingtalkServer;
let app: App;
let fs: FeishuBot;
let ding: DingtalkBot;
let alerts: Alerts;
let server: FastifyInstance;
const audit = new MemoryAudit();

const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms = 30_000) => {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

async function settle() {
  await alerts.service.settled();
  for (const bot of [fs, ding]) {
    await bot.core.settled();
    await bot.outbox.drained();
  }
}

/** Alertmanager's webhook (payload version 4) for one firing alert of a team. */
function webhook(alertname: string, team: string) {
  const labels = { alertname, namespace: ns, severity: 'critical', team, deployment: 'api' };
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}", namespace="${ns}"}`,
    status: 'firing',
    receiver: 'kubemate',
    groupLabels: { alertname, namespace: ns },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager',
    truncatedAlerts: 0,
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: `${ns}/api is down` },
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus/graph',
        fingerprint: createFingerprint(alertname),
      },
    ],
  };
}
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const createFingerprint = (s: string) => Buffer.from(s).toString('hex').slice(0, 16).padEnd(16, '0');

const postAlerts = (body: unknown) =>
  server.inject({
    method: 'POST',
    url: '/api/alerts',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    payload: JSON.stringify(body),
  });

beforeAll(async () => {
  feishu = await startFeishuServer();
  dt = await startDingtalkServer();
  await createNamespace(ns);
  const cfg = kubemateConfig({
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LLM__PROVIDER: 'none',
    KUBEMATE_BOTS__FEISHU__ENABLED: 'true',
    KUBEMATE_BOTS__FEISHU__APP_ID: APP_ID,
    KUBEMATE_BOTS__FEISHU__APP_SECRET: APP_SECRET,
    KUBEMATE_BOTS__FEISHU__ENCRYPT_KEY: ENCRYPT_KEY,
    KUBEMATE_BOTS__FEISHU__VERIFICATION_TOKEN: VERIFICATION_TOKEN,
    KUBEMATE_BOTS__FEISHU__API_URL: feishu.apiUrl,
    KUBEMATE_BOTS__FEISHU__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__DINGTALK__ENABLED: 'true',
    KUBEMATE_BOTS__DINGTALK__MODE: 'stream',
    KUBEMATE_BOTS__DINGTALK__ACTION_CARD_TEMPLATE_ID: ACTION_CARD_TEMPLATE,
    KUBEMATE_BOTS__DINGTALK__CLIENT_ID: CLIENT_ID,
    KUBEMATE_BOTS__DINGTALK__CLIENT_SECRET: CLIENT_SECRET,
    KUBEMATE_BOTS__DINGTALK__CARD_TEMPLATE_ID: CARD_TEMPLATE,
    KUBEMATE_BOTS__DINGTALK__API_URL: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__WEBHOOK_ORIGIN: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_ALERTS__ENABLED: 'true',
    KUBEMATE_ALERTS__TOKEN: TOKEN,
    KUBEMATE_ALERTS__ROUTES: [
      { matchers: ['team="payments"'], channel: CHAT, platform: 'feishu' },
      { matchers: ['team="ledger"'], channel: GROUP, platform: 'dingtalk' },
    ],
  });
  const policyFile = join(cfg.dataDir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  app = buildApp({ ...cfg, policy: { ...cfg.policy, file: policyFile } }, silentLogger, { audit });
  const bots = buildBots(app);
  fs = bots.feishu!;
  ding = bots.dingtalk!;
  await fs.start();
  const connected = dt.connected();
  await ding.start();
  await connected;
  alerts = buildAlerts(app, bots)!;
  await alerts.service.start();
  server = await buildHttpServer(app, bots, alerts);
}, 60_000);

afterAll(async () => {
  await alerts?.close();
  await server?.close();
  await fs?.stop();
  await ding?.stop();
  app?.close();
  await feishu?.close();
  await dt?.close();
  await deleteNamespace(ns);
});

/**
 * Acknowledge pressed by a stranger, by a person the policy lists without the role, then by one
 * allowed: the first two refused (audited, nothing recorded), the last recorded and audited.
 */
async function pressAcknowledge(o: {
  platform: string;
  users: { stranger: string; refused: string; allowed: string };
  groupId: string;
  press: (user: string) => Promise<void>;
  said: (re: RegExp) => unknown[];
  /** What each answer of the alert handler starts with (a regex source). */
  answer: string;
}) {
  const audited = (user: string, match: (r: (typeof audit.records)[number]) => boolean) =>
    audit.records.some((r) => r.principal.id === `${o.platform}:${user}` && match(r));
  await o.press(o.users.stranger);
  await o.press(o.users.refused);
  expect(o.said(/I don't know who you are/)).toHaveLength(1);
  expect(o.said(new RegExp(`^${o.answer}mallory: you may not act on alerts`))).toHaveLength(1);
  expect(audited(o.users.stranger, (r) => r.decision?.rule === 'chat-unknown-identity')).toBe(true);
  expect(audited(o.users.refused, (r) => r.tool === 'chat:alert_ack' && r.outcome === 'denied')).toBe(true);
  expect((await alerts.store.groupById(o.groupId))!.ackBy).toBeUndefined();

  await o.press(o.users.allowed);
  expect((await alerts.store.groupById(o.groupId))!.ackBy).toBe('alice');
  expect(o.said(new RegExp(`^${o.answer}alice took this alert group`))).toHaveLength(1);
  expect(audited(o.users.allowed, (r) => r.tool === 'chat:alert_ack' && r.outcome === 'success')).toBe(true);
}

describe('alert routes to Feishu and DingTalk', () => {
  it('Feishu: the summary card with buttons, triage in its thread; an allowed press acknowledges, audited, a stranger and a person without the role are refused', async () => {
    const alertname = 'KubemateImFeishuDown';
    expect((await postAlerts(webhook(alertname, 'payments'))).statusCode).toBe(200);
    const groupId = groupIdOf(`{}:{alertname="${alertname}", namespace="${ns}"}`);
    const root = () =>
      feishu.messages.find(
        (m) => m.chat_id === CHAT && !m.root_id && cardText(m.content).includes(alertname),
      );
    await waitFor('the summary card', () => root() !== undefined);
    await waitFor(
      'the triage in the thread',
      async () =>
        (await alerts.store.queue.get((await alerts.store.groupById(groupId))!.groupKey))?.state === 'done',
    );
    await settle();
    const thread = () => feishu.messages.filter((m) => m.root_id === root()!.message_id);
    const said = (re: RegExp) => thread().filter((m) => re.test(cardText(m.content)));

    expect(cardText(root()!.content)).toMatch(new RegExp(`^\\[FIRING\\] CRITICAL ${alertname} in ${ns}`));
    expect(cardText(root()!.content)).toContain(`Group ${groupId}`);
    const buttons = cardButtons(root()!.content);
    expect(buttons.map((b) => b.action)).toEqual([
      'alert_investigate',
      'alert_silence_1h',
      'alert_silence_4h',
      'alert_ack',
      'alert_runbook',
    ]);
    expect(new Set(buttons.map((b) => b.arg))).toEqual(new Set([groupId]));
    expect(said(/^Firing since .*is down/)).toHaveLength(1);
    // No model: the facts read from the cluster as the triage principal, saying so.
    expect(said(/^Enrichment \(no model is configured/)).toHaveLength(1);
    expect(
      audit.records.some((r) => r.principal.id === 'alert:triage' && r.tool === 'workload_describe'),
    ).toBe(true);
    // Nothing about this group went to the DingTalk group.
    expect(dt.texts.some((t) => t.text.includes(alertname))).toBe(false);

    const ack = buttons.find((b) => b.action === 'alert_ack')!;
    const press = async (user: string) => {
      const res = await server.inject({
        method: 'POST',
        url: '/feishu/events',
        ...(() => {
          const d = feishuDelivery(cardAction({ user, message: root()!, value: ack }));
          return { headers: d.headers, payload: d.body };
        })(),
      });
      expect(res.statusCode).toBe(200);
      await settle();
    };

    await pressAcknowledge({
      platform: 'feishu',
      users: { stranger: 'ou_stranger', refused: 'ou_mallory', allowed: 'ou_alice' },
      groupId,
      press,
      said,
      answer: '',
    });
    // The summary card was patched in place, not posted again.
    expect(cardText(root()!.history.at(-1)!)).toContain('acknowledged by alice');
    expect(feishu.messages.filter((m) => !m.root_id && cardText(m.content).includes(alertname))).toHaveLength(
      1,
    );
  }, 60_000);

  it('DingTalk, which has no threads: an action card summary, line and triage in the group naming the alert group; a press acknowledges, a stranger is refused', async () => {
    const alertname = 'KubemateImDingtalkDown';
    const payload = webhook(alertname, 'ledger');
    expect((await postAlerts(payload)).statusCode).toBe(200);
    const groupId = groupIdOf(payload.groupKey);
    await waitFor(
      'the triage',
      async () => (await alerts.store.queue.get(payload.groupKey))?.state === 'done',
    );
    await settle();
    const summaries = () =>
      [...dt.cards.values()].filter(
        (c) => c.templateId === ACTION_CARD_TEMPLATE && c.params.text?.includes(groupId),
      );
    expect(summaries()).toHaveLength(1);
    const card = summaries()[0]!;
    expect(card.space).toBe(`IM_GROUP.${GROUP}`);
    expect(card.callbackType).toBe('STREAM');
    expect(card.params.text).toMatch(new RegExp(`^\\[FIRING\\] CRITICAL ${alertname} in ${ns}`));
    // Redrawn in place once triaged.
    expect(card.params.text).toMatch(/triaged \(enrichment below\)/);
    expect([1, 2, 3, 4, 5].map((i) => [card.params[`action_${i}`], card.params[`arg_${i}`]])).toEqual([
      ['alert_investigate', groupId],
      ['alert_silence_1h', groupId],
      ['alert_silence_4h', groupId],
      ['alert_ack', groupId],
      ['alert_runbook', groupId],
    ]);
    const tag = literal(`[${groupId} ${alertname} in ${ns}]`);
    const said = (re: RegExp) => dt.texts.filter((t) => t.channel === GROUP && re.test(t.text));
    expect(said(new RegExp(`^${tag}\\nFiring since`))).toHaveLength(1);
    expect(said(new RegExp(`^${tag}\\nEnrichment \\(no model is configured`))).toHaveLength(1);
    expect(feishu.messages.some((m) => cardText(m.content).includes(alertname))).toBe(false);

    const press = async (user: string) => {
      const ack = await dt.pushCardPress(actionCardPress({ user, card, slot: 4 }));
      expect(ack.code).toBe(200);
      await settle();
    };
    await pressAcknowledge({
      platform: 'dingtalk',
      users: { stranger: 'stranger09', refused: 'mallory02', allowed: 'alice01' },
      groupId,
      press,
      said,
      // No threads: each answer names the group.
      answer: `${tag}\\n`,
    });
    expect(dt.cards.get(card.outTrackId)!.params.text).toContain('acknowledged by alice');

    // A repeated delivery posts nothing new: no second card, no second line.
    const before = dt.texts.length;
    expect((await postAlerts(payload)).statusCode).toBe(200);
    await settle();
    expect(dt.texts.length).toBe(before);
    expect(summaries()).toHaveLength(1);
  }, 60_000);
});
