import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Principal } from '../../policies/types.js';
import { renderLineChart } from '../../tools/charts/line-chart.js';
import { defineTool } from '../../tools/core/types.js';
import { SIGNING_SECRET, slackRig } from '../support/chat-rig.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { eventCallback, type SlackServer, signed, startSlackServer } from '../support/slack-server.js';

/**
 * Threads, charts and decisions made elsewhere, with the real Bolt on the local Slack server: a
 * thread Kubemate was addressed in is followed without mentions (and nothing else is), charts a tool
 * draws are uploaded into the thread with files.uploadV2, and a ticket approved over MCP updates the
 * card and resumes the paused run once.
 */

let slack: SlackServer;
let ollama: ScriptedOllama;
let rig: ReturnType<typeof slackRig>;
let charts = 0;

const chartTool = defineTool({
  name: 'widget_chart',
  title: 'Widget: Chart',
  description: 'Chart a widget.',
  input: z.object({ id: z.string().min(1) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  permission: { toolset: 'test', verb: 'read', namespaced: false },
  async handler(args) {
    charts++;
    const image = await renderLineChart({
      title: `widget ${args.id}`,
      series: [{ label: args.id, points: [0, 1, 2, 3].map((i) => [1_700_000_000 + i * 60, i * i]) }],
      yLabel: 'value',
      format: String,
    });
    return {
      kind: 'doc',
      text: `widget ${args.id}: a chart`,
      images: [{ data: image.data, mimeType: 'image/png' }],
    };
  },
});

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  rig = slackRig({ slack, ollama, mode: 'http', tools: [chartTool] });
  await rig.bot.start();
});
afterAll(async () => {
  await rig?.bot.stop();
  await ollama?.close();
  await slack?.close();
});

let seq = 0;
const nextTs = () => `17000030${String(++seq).padStart(2, '0')}.000001`;

async function deliver(event: Record<string, unknown>) {
  const body = eventCallback(event);
  const answer = await rig.bot.http!.handle(body, {
    'content-type': 'application/json',
    ...signed(SIGNING_SECRET, body),
  });
  expect(answer.status).toBe(200);
  await rig.settle();
}
const mention = (user: string, text: string, channel: string, ts: string, thread?: string) =>
  deliver({
    type: 'app_mention',
    user,
    text: `<@UBOT> ${text}`,
    channel,
    ts,
    event_ts: ts,
    ...(thread ? { thread_ts: thread } : {}),
  });
const channelMessage = (user: string, text: string, channel: string, ts: string, thread?: string) =>
  deliver({
    type: 'message',
    channel_type: 'channel',
    user,
    text,
    channel,
    ts,
    event_ts: ts,
    ...(thread ? { thread_ts: thread } : {}),
  });
const inThread = (thread: string) => slack.messages.filter((m) => m.thread_ts === thread);

describe('threads Kubemate was addressed in', () => {
  it('answers a reply without a mention there, and nothing in threads or channels it was not addressed in', async () => {
    const channel = 'C0THREADS';
    const root = nextTs();
    await mention('UALICE', 'help', channel, root);
    expect(inThread(root).map((m) => m.text.split('\n')[0])).toEqual([
      'Ask me anything about your clusters in plain words, or use a command:',
    ]);

    // bob follows up in the same thread without mentioning anyone: for Kubemate.
    await channelMessage('UBOB', 'approvals', channel, nextTs(), root);
    expect(
      inThread(root),
      JSON.stringify(slack.messages.slice(-3).map((m) => [m.channel, m.thread_ts, m.text.slice(0, 80)])),
    ).toHaveLength(2);
    expect(inThread(root)[1]!.text).toMatch(/ticket|approval/i);

    const before = slack.messages.length;
    const audited = rig.audit.records.length;
    // A reply in the thread addressed to a colleague is theirs.
    await channelMessage('UBOB', '<@UCAROL> can you look at this?', channel, nextTs(), root);
    // A thread Kubemate was never addressed in, and a plain channel message, are not for it.
    const other = nextTs();
    await channelMessage('UALICE', 'help', channel, nextTs(), other);
    await channelMessage('UALICE', 'help', channel, nextTs());
    // Not even a stranger there gets a refusal.
    await channelMessage('UMALLORY', 'help', channel, nextTs(), other);
    expect(slack.messages.length).toBe(before);
    expect(rig.audit.records.length).toBe(audited);

    // A decision said in passing is not taken: it needs a mention or the card's button.
    await channelMessage('UBOB', 'reject apr_0123456789ab looks wrong', channel, nextTs(), root);
    expect(inThread(root).at(-1)!.text).toBe(
      'To reject apr_0123456789ab, press the button on its card, or mention me: @kubemate reject apr_0123456789ab',
    );
    expect(rig.audit.records.some((r) => r.tool === 'approvals_reject')).toBe(false);
  });

  it('keeps the conversation of a thread when the follow-up has no mention', async () => {
    const channel = 'C0MEMORY';
    const root = nextTs();
    const asked: string[][] = [];
    ollama.setChat((r) => {
      asked.push(r.messages.filter((m) => m.role === 'user').map((m) => m.content));
      return { content: `answer ${asked.length}` };
    });
    await mention('UALICE', 'what does widget api do?', channel, root);
    await channelMessage('UALICE', 'and widget db?', channel, nextTs(), root);
    expect(inThread(root).map((m) => m.text.split('\n')[0])).toEqual(['answer 1', 'answer 2']);
    // The second question was asked with the first one in memory.
    expect(asked[1]!.join('\n')).toContain('what does widget api do?');
    expect(asked[1]!.join('\n')).toContain('and widget db?');
  });
});

describe('charts in the thread', () => {
  it('uploads the chart a tool drew into the thread, after the answer, and retries a failed upload', async () => {
    ollama.setChat((r) =>
      r.messages.some((m) => m.role === 'tool')
        ? { content: 'Widget api grows.' }
        : { toolCalls: [{ name: 'widget_chart', arguments: { id: 'api' } }] },
    );
    slack.failNext('files.getUploadURLExternal', 500);
    const channel = 'C0CHARTS';
    const root = nextTs();
    await mention('UALICE', 'show me widget api over time', channel, root);
    expect(charts).toBe(1);
    const shared = slack.files.filter((f) => f.channel === channel);
    expect(shared).toHaveLength(1);
    const file = shared[0]!;
    expect(file.thread_ts).toBe(root);
    expect(file.title).toBe('Chart from widget_chart');
    expect(file.filename).toBe('chart-1.png');
    expect(file.bytes!.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(inThread(root).some((m) => m.text.startsWith('Widget api grows.'))).toBe(true);
    const tries = slack.calls.filter((c) => c.method === 'files.getUploadURLExternal');
    expect(tries.map((c) => c.status)).toEqual([500, 200]);
  });
});

describe('a ticket decided on another surface', () => {
  it('updates the card and resumes the paused run once when bob approves over MCP', async () => {
    ollama.setChat((r) => {
      const tools = r.messages.filter((m) => m.role === 'tool').map((m) => m.content);
      if (tools.some((t) => t.includes('approved by bob'))) return { content: 'Scaled as approved.' };
      return { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] };
    });
    const channel = 'C0ELSEWHERE';
    const root = nextTs();
    await mention('UALICE', 'scale widget api to 4 replicas', channel, root);
    const card = inThread(root).find((m) => m.blocks?.some((b) => b.type === 'actions'))!;
    expect(card).toBeDefined();
    // The paused answer says how it goes on in chat, not on the command line.
    expect(inThread(root)[0]!.text).toContain('the card in this thread has Approve / Reject');
    expect(inThread(root)[0]!.text).not.toContain('kubemate ask --resume');
    const ticket = rig.approvals.list({})!.find((t) => t.status === 'pending')!;

    const bobOverMcp: Principal = { id: 'token:bob', groups: [], source: 'mcp-http' };
    const approved = await rig.pipeline.invoke('approvals_approve', { ticket: ticket.id }, bobOverMcp);
    expect(approved.isError, approved.text).toBe(false);
    expect(rig.runs.write).toBe(1);

    await rig.bot.core.sweep();
    await rig.settle();
    await rig.bot.core.sweep(); // a second sweep finds nothing left to do
    await rig.settle();
    const drawn = JSON.stringify(card.blocks);
    expect(drawn).toContain('*Status:* executed');
    expect(drawn).toMatch(/Approved by bob/);
    expect(drawn).not.toContain('"type":"actions"');
    expect(
      inThread(root).filter((m) => m.text.includes('Scaled as approved.')),
      JSON.stringify(inThread(root).map((m) => m.text)),
    ).toHaveLength(1);
    expect(rig.runs.write).toBe(1);
  });
});
