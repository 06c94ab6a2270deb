// A scheduled inspection plan posting to all four chat platforms on a controlled clock. The plan is
// read from configuration like any other; runs are real inspections of this file's own namespace on
// the test cluster, through the pipeline, with a summary written in Chinese by a scripted model;
// posts go through each platform's real bot (chat core, durable outbox, transport) to the local
// Slack, Feishu, DingTalk and WeCom servers, which speak the platforms' wire formats and enforce
// their limits (WeCom text 2,048 bytes, Feishu cards 30 KB, uploaded keys that must exist).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { ConfigError } from '../../app/config.js';
import { InspectionScheduler } from '../../app/inspection-schedules.js';
import { chatPoster } from '../../app/inspection-serve.js';
import { type Plan, planSchema } from '../../app/inspections-config.js';
import { type App, buildApp } from '../../app/wiring.js';
import type { DingtalkBot } from '../../bots/dingtalk/bot.js';
import type { FeishuBot } from '../../bots/feishu/bot.js';
import type { SlackBot } from '../../bots/slack/bot.js';
import type { WecomBot } from '../../bots/wecom/bot.js';
import { silentLogger } from '../../tools/core/logger.js';
import type { Report } from '../../tools/inspection/model.js';
import {
  CARD_TEMPLATE,
  CLIENT_ID,
  CLIENT_SECRET,
  type DingtalkServer,
  startDingtalkServer,
} from '../support/dingtalk-server.js';
import {
  APP_ID,
  APP_SECRET,
  cardText,
  ENCRYPT_KEY,
  type FeishuServer,
  startFeishuServer,
  VERIFICATION_TOKEN,
} from '../support/feishu-server.js';
import {
  adminClients,
  createNamespace,
  deleteNamespace,
  kubemateConfig,
  uniqueName,
} from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { BOT_TOKEN, type SlackServer, startSlackServer } from '../support/slack-server.js';
import {
  AES_KEY,
  AGENT_ID,
  CORP_ID,
  SECRET,
  startWecomServer,
  TOKEN,
  type WecomServer,
} from '../support/wecom-server.js';

const ns = uniqueName('insp-im');
const SLACK = 'C0INSPALL';
const CHAT = 'oc_inspectall01';
const GROUP = 'cidInspectAll0Kubemate==';
const PERSON = 'opsduty';
const PLAN = 'daily-all';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

let slack: SlackServer;
let feishu: FeishuServer;
let dt: DingtalkServer;
let wecom: WecomServer;
let model: ScriptedOllama;
let app: App;
let bots: { slack: SlackBot; feishu: FeishuBot; dingtalk: DingtalkBot; wecom: WecomBot };
let scheduler: InspectionScheduler;
let now = Date.parse('2026-12-06T12:00:00Z');

/** The model's summary: four paragraphs of one long line each, every sentence citing the finding. */
const chineseSummary = (id: string) =>
  Array.from({ length: 4 }, (_, p) =>
    Array.from(
      { length: 30 },
      (_, i) => `第 ${p * 30 + i + 1} 条：服务 lonely 没有任何端点 [${id}]，请检查它的选择器。`,
    ).join(''),
  ).join('\n\n');

beforeAll(async () => {
  await createNamespace(ns);
  await adminClients().core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'lonely' }, spec: { selector: { app: 'none-here' }, ports: [{ port: 80 }] } },
  });
  [slack, feishu, dt, wecom] = await Promise.all([
    startSlackServer(),
    startFeishuServer(),
    startDingtalkServer(),
    startWecomServer(),
  ]);
  model = await startScriptedOllama({
    chat: (request) => {
      // Reads the facts it was given, as a model would, and cites the Service's finding.
      const prompt = request.messages.map((m) => m.content).join('\n');
      const facts = JSON.parse(prompt.slice(prompt.indexOf('{'))) as {
        findings: Array<{ id: string; subject: string }>;
      };
      return {
        content: chineseSummary(facts.findings.find((f) => f.subject === `${ns}/service/lonely`)!.id),
      };
    },
  });
  const cfg = kubemateConfig({
    KUBEMATE_LLM__URL: model.url,
    KUBEMATE_LLM__MODEL: 'llama3.1:8b',
    KUBEMATE_BOTS__SLACK__ENABLED: 'true',
    KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
    KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'slack-signing-secret-for-tests',
    KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
    KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.01',
    KUBEMATE_BOTS__FEISHU__ENABLED: 'true',
    KUBEMATE_BOTS__FEISHU__APP_ID: APP_ID,
    KUBEMATE_BOTS__FEISHU__APP_SECRET: APP_SECRET,
    KUBEMATE_BOTS__FEISHU__ENCRYPT_KEY: ENCRYPT_KEY,
    KUBEMATE_BOTS__FEISHU__VERIFICATION_TOKEN: VERIFICATION_TOKEN,
    KUBEMATE_BOTS__FEISHU__API_URL: feishu.apiUrl,
    KUBEMATE_BOTS__FEISHU__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__DINGTALK__ENABLED: 'true',
    KUBEMATE_BOTS__DINGTALK__MODE: 'http',
    KUBEMATE_BOTS__DINGTALK__CLIENT_ID: CLIENT_ID,
    KUBEMATE_BOTS__DINGTALK__CLIENT_SECRET: CLIENT_SECRET,
    KUBEMATE_BOTS__DINGTALK__CARD_TEMPLATE_ID: CARD_TEMPLATE,
    KUBEMATE_BOTS__DINGTALK__API_URL: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__WEBHOOK_ORIGIN: dt.apiUrl,
    KUBEMATE_BOTS__DINGTALK__PER_CHAT_INTERVAL_SECONDS: '0',
    KUBEMATE_BOTS__WECOM__ENABLED: 'true',
    KUBEMATE_BOTS__WECOM__CORP_ID: CORP_ID,
    KUBEMATE_BOTS__WECOM__AGENT_ID: String(AGENT_ID),
    KUBEMATE_BOTS__WECOM__SECRET: SECRET,
    KUBEMATE_BOTS__WECOM__TOKEN: TOKEN,
    KUBEMATE_BOTS__WECOM__ENCODING_AES_KEY: AES_KEY,
    KUBEMATE_BOTS__WECOM__API_URL: wecom.apiUrl,
    KUBEMATE_BOTS__WECOM__PER_USER_INTERVAL_SECONDS: '0',
    KUBEMATE_INSPECTIONS__PUBLIC_URL: 'https://kubemate.test',
    KUBEMATE_INSPECTIONS__PLANS: [
      {
        name: PLAN,
        cron: '0 8 * * *',
        timeZone: 'Asia/Shanghai',
        scopes: ['cluster'],
        namespace: ns,
        channels: [`slack:${SLACK}`, `feishu:${CHAT}`, `dingtalk:${GROUP}`, `wecom:${PERSON}`],
      },
    ],
  });
  app = buildApp(cfg, silentLogger);
  const built = buildBots(app);
  bots = {
    slack: built.slack!,
    feishu: built.feishu!,
    dingtalk: built.dingtalk!,
    wecom: built.wecom as WecomBot,
  };
  for (const bot of Object.values(bots)) await bot.start();
  scheduler = schedulerOf(app.config.inspections.plans, (id) => `https://kubemate.test/reports/${id}`);
}, 60_000);

/** A scheduler on the test's clock posting through the four bots; report links only with `reportUrl`. */
const schedulerOf = (plans: Plan[], reportUrl?: (id: string) => string) =>
  new InspectionScheduler({
    plans,
    store: app.inspections,
    pipeline: app.pipeline,
    principal: { id: 'kubemate:scheduler', groups: ['scheduler'], source: 'schedule' },
    now: () => now,
    missedAfterMs: 15 * 60_000,
    logger: silentLogger,
    poster: chatPoster(bots),
    ...(reportUrl ? { reportUrl } : {}),
  });

afterAll(async () => {
  await scheduler?.stop();
  for (const bot of Object.values(bots ?? {})) await bot.stop();
  app?.close();
  await Promise.all([slack?.close(), feishu?.close(), dt?.close(), wecom?.close(), model?.close()]);
  await deleteNamespace(ns);
});

async function settled() {
  await scheduler.idle();
  for (const bot of Object.values(bots)) await bot.outbox.drained();
}

/** What each platform holds now, in the places the plan names. */
const seen = () => ({
  slack: slack.messages.filter((m) => m.channel === SLACK),
  slackFiles: slack.files.filter((f) => f.channel === SLACK),
  feishu: feishu.messages.filter((m) => m.chat_id === CHAT),
  dingtalk: dt.texts.filter((t) => t.channel === GROUP),
  wecom: wecom.messages.filter((m) => m.touser.includes(PERSON)),
});
const planReports = () => app.inspections.list({ limit: 50, plan: PLAN });
/** Text parts as posted on a platform without threads: the tag and counter line, then the part. */
const untagged = (text: string) => text.replace(/^\[inspection daily-all\](?: \(\d+\/\d+\))?\n/, '');

describe('a plan posting to every platform', () => {
  it('fires at 08:00 Shanghai time and posts its Chinese summary and HTML report on each platform, within its limits', async () => {
    await scheduler.tick();
    now = Date.parse('2026-12-07T00:00:30Z');
    expect((await scheduler.tick())[0]!.ran?.dueAt).toBe('2026-12-07T00:00:00.000Z');
    await settled();
    const [meta] = await planReports();
    const id = meta!.id;
    const report = JSON.parse((await app.inspections.get(id))!.body) as Report;
    expect(report.summary.author).toBe('agent');
    const summary = report.summary.text;
    expect(bytes(summary)).toBeGreaterThan(10_000);
    const head = `Scheduled inspection '${PLAN}' (due 2026-12-07T00:00:00.000Z)`;
    const link = `Full report (HTML): https://kubemate.test/reports/${id}`;
    const s = seen();
    // The parts put back together hold the whole summary (cuts fall between paragraphs and sentences).
    const whole = (parts: string[]) => parts.join('').replaceAll('\n', '');
    const flat = summary.replaceAll('\n', '');
    const citations = (parts: string[]) => parts.flatMap((p) => [...p.matchAll(/\[F-[0-9a-f]{8}\]/g)]).length;

    // Slack: one message (within its limit: the whole text in its sections, `text` being only the
    // notification), then the page as a file in the channel.
    expect(s.slack).toHaveLength(1);
    const sections = (s.slack[0]!.blocks ?? []).map((b) => (b.text as { text: string }).text).join('');
    expect(sections).toContain(head);
    expect(sections).toContain(summary);
    expect(sections).toContain(link);
    expect(s.slackFiles).toHaveLength(1);
    expect(s.slackFiles[0]).toMatchObject({ filename: `${id}.html`, title: `Inspection report ${id}` });
    expect(s.slackFiles[0]!.bytes!.toString('utf8')).toMatch(/^<!DOCTYPE html>/);

    // Feishu: the summary as cards, the second part a reply in the first one's thread, then the
    // page uploaded (im/v1/files) and shared as a file message in the chat.
    const cards = s.feishu.filter((m) => m.msg_type === 'interactive');
    expect(cards).toHaveLength(2);
    expect(cards[0]!.root_id).toBeUndefined();
    expect(cards[1]!.root_id).toBe(cards[0]!.message_id);
    const feishuText = cards.map((c) => cardText(c.content));
    expect(feishuText[0]).toContain(head);
    expect(whole(feishuText)).toContain(flat);
    expect(citations(feishuText)).toBe(120);
    const fileMessage = s.feishu.find((m) => m.msg_type === 'file')!;
    expect(fileMessage.root_id).toBeUndefined();
    const uploaded = feishu.files.get(String(fileMessage.content.file_key))!;
    expect(uploaded).toMatchObject({ name: `${id}.html`, type: 'stream' });
    expect(uploaded.bytes.toString('utf8')).toContain(`id="${report.findings[0]!.id}"`);

    // DingTalk: no threads and no files: every part names the plan, and the report is a link.
    expect(s.dingtalk.length).toBe(2);
    s.dingtalk.forEach((t, i) => {
      expect(t.text.startsWith(`[inspection ${PLAN}] (${i + 1}/2)\n`)).toBe(true);
      expect(bytes(t.text)).toBeLessThanOrEqual(6000);
    });
    const dingText = s.dingtalk.map((t) => untagged(t.text));
    expect(dingText[0]).toContain(head);
    expect(dingText.at(-1)).toContain(link);
    expect(citations(dingText)).toBe(120);
    expect(whole(dingText)).toContain(flat);
    expect(dingText.join('\n')).not.toContain('no inspections.publicUrl');

    // WeCom: text parts within its 2,048 bytes, each naming the plan, then the page as a file.
    const texts = s.wecom.filter((m) => m.msgtype === 'text');
    expect(texts.length).toBeGreaterThanOrEqual(5);
    for (const t of texts) {
      expect(bytes(t.text!)).toBeLessThanOrEqual(2048);
      expect(t.text).toMatch(new RegExp(`^\\[inspection ${PLAN}\\] \\(\\d+/${texts.length}\\)\\n`));
      // A part ends at a sentence mark, a line or a citation's end: none is cut in two.
      expect(t.text!.split('[F-').length).toBe(t.text!.split(/\[F-[0-9a-f]{8}\]/).length);
    }
    const wecomText = texts.map((t) => untagged(t.text!));
    expect(citations(wecomText)).toBe(120);
    expect(whole(wecomText)).toContain(flat);
    const wecomFile = s.wecom.find((m) => m.msgtype === 'file')!;
    expect(s.wecom.at(-1)).toBe(wecomFile);
    expect(wecom.mediaInfo.get(wecomFile.mediaId!)).toEqual({ type: 'file', name: `${id}.html` });
    expect(wecom.media.get(wecomFile.mediaId!)!.toString('utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  it('announces a missed run on each platform', async () => {
    const before = seen();
    now = Date.parse('2026-12-08T00:40:00Z');
    expect((await scheduler.tick())[0]!.missed).toHaveLength(1);
    await settled();
    const after = seen();
    const said =
      "Scheduled inspection 'daily-all' missed a run:\n- due 2026-12-08T00:00:00.000Z: Kubemate could not start it within 15 min of its due time";
    expect(after.slack.slice(before.slack.length).map((m) => m.text)).toEqual([said]);
    expect(after.feishu.slice(before.feishu.length).map((m) => cardText(m.content))).toEqual([said]);
    expect(after.dingtalk.slice(before.dingtalk.length).map((t) => t.text)).toEqual([
      `[inspection ${PLAN}]\n${said}`,
    ]);
    expect(after.wecom.slice(before.wecom.length).map((m) => m.text)).toEqual([
      `[inspection ${PLAN}]\n${said}`,
    ]);
    expect(after.slackFiles).toHaveLength(before.slackFiles.length);
  });

  it('keeps posting to the other platforms while one fails, and the outbox delivers it later', async () => {
    const before = seen();
    // Feishu answers its next three message sends with a server error.
    feishu.failNext('/open-apis/im/v1/messages', 3);
    const since = Date.now();
    now = Date.parse('2026-12-09T00:00:20Z');
    expect((await scheduler.tick())[0]!.ran).toBeDefined();
    await settled();
    const after = seen();
    const id = (await planReports())[0]!.id;
    expect(after.slackFiles.at(-1)!.filename).toBe(`${id}.html`);
    expect(after.dingtalk.length - before.dingtalk.length).toBe(2);
    expect(after.wecom.slice(before.wecom.length).at(-1)!.msgtype).toBe('file');
    // Feishu refused three times; the outbox tried again with backoff, and each part arrived once.
    const sends = feishu.calls.filter((c) => c.path === '/open-apis/im/v1/messages' && c.at >= since);
    expect(sends.map((c) => c.code).slice(0, 4)).toEqual([2200, 2200, 2200, 0]);
    const cards = after.feishu.slice(before.feishu.length).filter((m) => m.msg_type === 'interactive');
    expect(cards).toHaveLength(2);
    expect(after.feishu.slice(before.feishu.length).filter((m) => m.msg_type === 'file')).toHaveLength(1);
    // The others were not held up by it: they were all out before Feishu's first card was taken.
    const firstCard = sends.find((c) => c.code === 0)!.at;
    const othersDone = Math.max(
      ...slack.calls.filter((c) => c.at >= since).map((c) => c.at),
      ...wecom.calls.filter((c) => c.at >= since).map((c) => c.at),
    );
    expect(othersDone).toBeLessThan(firstCard);
  });

  it('says, on a platform that cannot take files, that no public URL is configured to link the report', async () => {
    const quiet = schedulerOf([
      planSchema.parse({
        name: 'nolink',
        cron: '0 9 * * *',
        timeZone: 'Asia/Shanghai',
        scopes: ['cluster'],
        namespace: ns,
        channels: [`dingtalk:${GROUP}`, `wecom:${PERSON}`],
      }),
    ]);
    const before = seen();
    now = Date.parse('2026-12-10T00:30:00Z');
    await quiet.tick();
    now = Date.parse('2026-12-10T01:00:10Z');
    expect((await quiet.tick())[0]!.ran).toBeDefined();
    await quiet.idle();
    await settled();
    const id = (await app.inspections.list({ limit: 5, plan: 'nolink' }))[0]!.id;
    const ding = seen()
      .dingtalk.slice(before.dingtalk.length)
      .map((t) => t.text);
    const note = `(The HTML report ${id} cannot be shared as a file on dingtalk, and no inspections.publicUrl is configured to link it: set it to the address of kubemate serve, or read the report with inspection_report_get.)`;
    // Said once, at the end of the post.
    expect(ding.filter((t) => t.includes(note))).toHaveLength(1);
    expect(ding.at(-1)!.endsWith(note)).toBe(true);
    expect(ding.join('\n')).not.toContain('Full report (HTML)');
    // WeCom takes the file, so it says nothing of the kind.
    const wecomNew = seen().wecom.slice(before.wecom.length);
    expect(wecomNew.map((m) => m.text ?? '').join('\n')).not.toContain('cannot be shared');
    expect(wecomNew.at(-1)!.msgtype).toBe('file');
  });
});

describe('plan channels in configuration', () => {
  const load = (plans: unknown) => () =>
    kubemateConfig({
      KUBEMATE_BOTS__SLACK__ENABLED: 'true',
      KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
      KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'slack-signing-secret-for-tests',
      KUBEMATE_INSPECTIONS__PLANS: plans,
    });
  /** Loading `plans` fails with one line per expected problem; the good Slack channel is not one. */
  const refused = (plans: unknown, expected: string[]) => {
    let lines: string[] = [];
    try {
      load(plans)();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      lines = (e as Error).message.split('\n');
    }
    for (const problem of expected) expect(lines).toContainEqual(expect.stringContaining(problem));
    expect(lines.join('\n')).not.toContain('slack:C0OK0001');
  };

  it('refuses an unknown platform and a malformed id, naming the plan and the form to write', () => {
    refused(
      [{ name: 'morning', cron: '0 8 * * *', channels: ['slack:C0OK0001', 'teams:19abc', 'feishu:chat-1'] }],
      [
        "inspections.plans.0.channels.1: plan 'morning': 'teams:19abc' names no chat platform: write <platform>:<id> with platform one of slack, feishu, dingtalk, wecom",
        "inspections.plans.0.channels.2: plan 'morning': 'feishu:chat-1' is not a feishu place: write a chat id such as feishu:oc_",
      ],
    );
  });

  it('refuses a platform whose bot is not configured, saying how to fix it', () => {
    refused(
      [
        {
          name: 'evening',
          cron: '0 20 * * *',
          channels: ['slack:C0OK0001', 'wecom:zhangsan', 'dingtalk:cidGroup0=='],
        },
      ],
      [
        "inspections.plans.0.channels.1: plan 'evening' posts to wecom:zhangsan, but no wecom bot is configured: add a bots.wecom block with enabled: true (docs/chat-wecom.md), or remove that channel from the plan",
        "inspections.plans.0.channels.2: plan 'evening' posts to dingtalk:cidGroup0==, but no dingtalk bot is configured",
      ],
    );
  });

  it('accepts each platform’s form of a place once its bot is configured', () => {
    const config = load([{ name: 'ok', cron: '0 8 * * *', channels: ['slack:C0OK0001'] }])();
    expect(config.inspections.plans[0]!.channels).toEqual(['slack:C0OK0001']);
    for (const good of [
      'feishu:oc_5ad11d72b8',
      'dingtalk:cidAbc+/=_-',
      'dingtalk:dm:manager4220',
      'wecom:zhang.san|lisi',
    ]) {
      expect(planSchema.safeParse({ name: 'ok', cron: '0 8 * * *', channels: [good] }).success).toBe(true);
    }
  });
});
