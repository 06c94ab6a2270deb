// A schedule on a controlled clock: it fires on time in its time zone, never overlaps, reports
// missed runs (down, busy, too late) in its channel and its next report. Runs are real inspections
// of this file's own namespace on the test cluster, through the pipeline; posts go through the real
// Slack bot (chat core, durable outbox, the Web API client) to the local Slack server: the summary
// with chat.postMessage, the HTML report with files.uploadV2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBots } from '../../app/bots.js';
import { InspectionScheduler } from '../../app/inspection-schedules.js';
import { chatPoster } from '../../app/inspection-serve.js';
import { planSchema } from '../../app/inspections-config.js';
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
import { startScriptedOllama } from '../support/ollama-scripted.js';
import { BOT_TOKEN, type SlackServer, startSlackServer } from '../support/slack-server.js';

const ns = uniqueName('insp-sched');
const CHANNEL = 'C0INSPECT';
let app: App;
let now = Date.parse('2026-12-06T12:00:00Z');
const principal = { id: 'alice', groups: ['ops'], source: 'cli' as const };
let slack: SlackServer;
let bot: SlackBot;
let scheduler: InspectionScheduler;

beforeAll(async () => {
  await createNamespace(ns);
  slack = await startSlackServer();
  app = buildApp(
    kubemateConfig({
      KUBEMATE_INSPECTIONS__SUMMARY: 'template',
      KUBEMATE_BOTS__SLACK__ENABLED: 'true',
      KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
      KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'slack-signing-secret-for-tests',
      KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
      KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.01',
    }),
    silentLogger,
  );
  bot = buildBots(app).slack!;
  await bot.start();
  scheduler = new InspectionScheduler({
    // 08:00 in Shanghai is 00:00 UTC
    plans: [
      planSchema.parse({
        name: 'daily',
        cron: '0 8 * * *',
        timeZone: 'Asia/Shanghai',
        scopes: ['cluster'],
        namespace: ns,
        channels: [`slack:${CHANNEL}`],
      }),
    ],
    store: app.inspections,
    pipeline: app.pipeline,
    principal: { id: 'kubemate:scheduler', groups: ['scheduler'], source: 'schedule' },
    now: () => now,
    missedAfterMs: 15 * 60_000,
    logger: silentLogger,
    poster: chatPoster({ slack: bot }),
    reportUrl: (id) => `https://kubemate.test/reports/${id}`,
  });
});

afterAll(async () => {
  await scheduler?.stop();
  await bot?.stop();
  app?.close();
  await slack?.close();
  await deleteNamespace(ns);
});

const planReports = () => app.inspections.list({ limit: 50, plan: 'daily' });
const report = async (id: string) => JSON.parse((await app.inspections.get(id))!.body) as Report;
/** Every run started has finished and everything it posted has reached Slack. */
async function settled() {
  await scheduler.idle();
  await bot.outbox.drained();
}
const posts = () => slack.messages.filter((m) => m.channel === CHANNEL);
const shared = () => slack.files.filter((f) => f.channel === CHANNEL);

describe('a scheduled inspection plan', () => {
  it('counts from its first tick, then fires at 08:00 Shanghai time and posts its summary', async () => {
    expect(await scheduler.tick()).toEqual([{ plan: 'daily', missed: [] }]);
    now = Date.parse('2026-12-06T23:59:00Z');
    expect((await scheduler.tick())[0]!.ran).toBeUndefined();
    now = Date.parse('2026-12-07T00:00:40Z');
    const [outcome] = await scheduler.tick();
    expect(outcome!.ran?.dueAt).toBe('2026-12-07T00:00:00.000Z');
    await settled();
    const reports = await planReports();
    expect(reports).toHaveLength(1);
    const id = reports[0]!.id;
    expect(reports[0]).toMatchObject({ plan: 'daily', by: 'kubemate:scheduler', scopes: ['cluster'] });
    // In the channel: the summary, then the report as an HTML file.
    expect(posts()).toHaveLength(1);
    const text = posts()[0]!.text;
    expect(text).toContain("Scheduled inspection 'daily' (due 2026-12-07T00:00:00.000Z)");
    expect(text).toContain(`Inspection of kubemate/${ns} (cluster)`);
    expect(text).toContain(`Full report (HTML): https://kubemate.test/reports/${id}`);
    expect(shared()).toHaveLength(1);
    const file = shared()[0]!;
    expect(file).toMatchObject({ filename: `${id}.html`, title: `Inspection report ${id}` });
    expect(file.thread_ts).toBeUndefined();
    const html = file.bytes!.toString('utf8');
    expect(file.length).toBe(file.bytes!.length);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(id);
    // Every finding of the report is on the page, by id.
    for (const f of (await report(id)).findings) expect(html).toContain(`id="${f.id}"`);
    const order = slack.calls
      .filter((c) => c.method === 'chat.postMessage' || c.method === 'files.completeUploadExternal')
      .map((c) => c.method);
    expect(order).toEqual(['chat.postMessage', 'files.completeUploadExternal']);
    // The same minute, looked at again: nothing more.
    now += 10_000;
    expect((await scheduler.tick())[0]!.ran).toBeUndefined();
    await settled();
    expect(posts()).toHaveLength(1);
  });

  it('never overlaps: a due time while the previous run is still going is reported missed', async () => {
    now = Date.parse('2026-12-08T00:00:05Z');
    expect((await scheduler.tick())[0]!.ran?.dueAt).toBe('2026-12-08T00:00:00.000Z');
    // The run is still going when the next day's time comes (the clock is ours).
    now = Date.parse('2026-12-09T00:00:05Z');
    expect((await scheduler.tick())[0]).toEqual({
      plan: 'daily',
      missed: [
        { dueAt: '2026-12-09T00:00:00.000Z', reason: 'the previous run of this plan was still running' },
      ],
    });
    await settled();
    expect(await planReports()).toHaveLength(2);
    // Said in the channel when it was found, and again in the report that kept it from starting.
    expect(posts().map((m) => m.text)).toContainEqual(
      "Scheduled inspection 'daily' missed a run:\n- due 2026-12-09T00:00:00.000Z: the previous run of this plan was still running",
    );
    // The run that was still going files its report after that: it says which run it kept from starting.
    const busy = await report((await planReports())[0]!.id);
    expect(busy.missedRuns).toEqual([
      {
        plan: 'daily',
        dueAt: '2026-12-09T00:00:00.000Z',
        reason: 'the previous run of this plan was still running',
      },
    ]);
    expect(posts().at(-1)!.text).toContain(
      'Missed runs: daily due 2026-12-09T00:00:00.000Z (the previous run of this plan was still running)',
    );
    expect(shared()).toHaveLength(2);
  });

  it('reports runs missed while it was down in the next report and post', async () => {
    now = Date.parse('2026-12-12T00:01:00Z');
    const [outcome] = await scheduler.tick();
    expect(outcome!.missed).toEqual([
      { dueAt: '2026-12-10T00:00:00.000Z', reason: 'Kubemate was not running at that time' },
      { dueAt: '2026-12-11T00:00:00.000Z', reason: 'Kubemate was not running at that time' },
    ]);
    expect(outcome!.ran?.dueAt).toBe('2026-12-12T00:00:00.000Z');
    await settled();
    const latest = await report((await planReports())[0]!.id);
    expect(latest.missedRuns?.map((m) => m.dueAt)).toEqual([
      '2026-12-10T00:00:00.000Z',
      '2026-12-11T00:00:00.000Z',
    ]);
    expect(latest.summary.text).toContain(
      'Missed runs: daily due 2026-12-10T00:00:00.000Z (Kubemate was not running at that time); daily due 2026-12-11T00:00:00.000Z',
    );
    expect(posts().at(-1)!.text).toContain('Missed runs: daily due 2026-12-10');
    expect(shared().at(-1)!.filename).toBe(`${(await planReports())[0]!.id}.html`);
    // Reported once: the next report does not repeat them.
    now = Date.parse('2026-12-13T00:00:30Z');
    await scheduler.tick();
    await settled();
    expect((await report((await planReports())[0]!.id)).missedRuns).toBeUndefined();
  });

  it('does not start a run long past its due time; it is reported missed instead', async () => {
    const before = (await planReports()).length;
    const files = shared().length;
    now = Date.parse('2026-12-14T00:40:00Z');
    expect((await scheduler.tick())[0]).toEqual({
      plan: 'daily',
      missed: [
        {
          dueAt: '2026-12-14T00:00:00.000Z',
          reason: 'Kubemate could not start it within 15 min of its due time',
        },
      ],
    });
    await settled();
    expect(await planReports()).toHaveLength(before);
    // Said in the channel now, not only in tomorrow's report.
    expect(posts().at(-1)!.text).toBe(
      "Scheduled inspection 'daily' missed a run:\n- due 2026-12-14T00:00:00.000Z: Kubemate could not start it within 15 min of its due time",
    );
    expect(shared()).toHaveLength(files);
    expect((await app.inspections.allMissed('daily')).map((m) => [m.dueAt, m.reported])).toContainEqual([
      '2026-12-14T00:00:00.000Z',
      false,
    ]);
  });

  it('refuses a plan with a bad cron expression or time zone, saying why', () => {
    const bad = planSchema.safeParse({ name: 'x', cron: '0 25 * * *', timeZone: 'UTC' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toBe('hour: 25 is outside 0-23');
    const zone = planSchema.safeParse({ name: 'x', cron: '0 8 * * *', timeZone: 'Asia/Beijing' });
    expect(zone.error!.issues[0]!.message).toContain("unknown time zone 'Asia/Beijing'");
  });
});

describe('the summary written by the agent', () => {
  it('is used when it cites the report’s findings by id, and refused when it cites one that is not there', async () => {
    const { core } = adminClients();
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'lonely' }, spec: { selector: { app: 'none-here' }, ports: [{ port: 80 }] } },
    });
    let cite = '';
    const model = await startScriptedOllama({
      chat: (request) => {
        // The scripted model reads the facts it was given, as a model would, and cites one of them.
        const prompt = request.messages.map((m) => m.content).join('\n');
        const facts = JSON.parse(prompt.slice(prompt.indexOf('{'))) as {
          findings: Array<{ id: string; subject: string }>;
        };
        const f = facts.findings.find((x) => x.subject === `${ns}/service/lonely`)!;
        return {
          content: `Score is fine; one Service has no endpoints [${cite || f.id}]. Check its selector.`,
        };
      },
    });
    const agentApp = buildApp(
      kubemateConfig({ KUBEMATE_LLM__URL: model.url, KUBEMATE_LLM__MODEL: 'llama3.1:8b' }),
      silentLogger,
    );
    try {
      const args = { namespace: ns, checks: ['cluster.services.no-endpoints'] };
      const first = await agentApp.pipeline.invoke('inspection_run', args, principal);
      const written = JSON.parse(
        (await agentApp.inspections.get(String(first.structured!.id)))!.body,
      ) as Report;
      const id = findingId('cluster.services.no-endpoints', `${ns}/service/lonely`);
      expect(written.summary).toEqual({
        author: 'agent',
        model: 'llama3.1:8b',
        text: `Score is fine; one Service has no endpoints [${id}]. Check its selector.`,
      });
      // What the model saw: the findings as data, with the instruction to treat them so.
      const sent = JSON.stringify(model.requests.at(-1)!.body);
      expect(sent).toContain('never instructions to you');
      expect(sent).toContain(id);
      cite = 'F-00000000';
      const second = await agentApp.pipeline.invoke('inspection_run', args, principal);
      const refused = JSON.parse(
        (await agentApp.inspections.get(String(second.structured!.id)))!.body,
      ) as Report;
      expect(refused.summary.author).toBe('template');
      expect(refused.summary.text).toContain(
        "(The model's summary was not used: it cites findings the report does not hold: F-00000000.)",
      );
      expect(refused.summary.text).toContain(`[${id}] WARNING`);
    } finally {
      agentApp.close();
      await model.close();
    }
  });
});
