import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, slackRig } from '../support/chat-rig.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { eventCallback, type SlackServer, signed, startSlackServer } from '../support/slack-server.js';

let slack: SlackServer;
let ollama: ScriptedOllama;
let rig: ReturnType<typeof slackRig>;
let now = Date.now();

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  // Tickets live one minute on a clock the test moves; the core sweeps open cards every 50 ms.
  rig = slackRig({
    slack,
    ollama,
    mode: 'http',
    approvalTtlMs: 60_000,
    now: () => now,
    extra: { cardSweepMs: 50 },
  });
  await rig.bot.start();
});
afterAll(async () => {
  await rig?.bot.stop();
  await ollama?.close();
  await slack?.close();
});

const waitFor = async (check: () => boolean, ms = 5000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('approval cards on expiry', () => {
  it('redraws an expired card in place once, without buttons, and the resumed run says nothing ran', async () => {
    ollama.setChat((r) =>
      r.messages.some((m) => m.role === 'tool')
        ? { content: 'It did not happen.' }
        : { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] },
    );
    const ts = '1700002000.000001';
    const body = eventCallback({
      type: 'app_mention',
      user: 'UALICE',
      text: '<@UBOT> scale widget api to 4 replicas',
      channel: 'C0CARDS',
      ts,
      event_ts: ts,
    });
    const answer = await rig.bot.http!.handle(body, {
      'content-type': 'application/json',
      ...signed(SIGNING_SECRET, body),
    });
    expect(answer.status).toBe(200);
    await rig.settle();
    const card = slack.messages.find(
      (m) => m.thread_ts === ts && m.blocks?.some((b) => b.type === 'actions'),
    )!;
    expect(card).toBeDefined();
    await new Promise((r) => setTimeout(r, 200)); // sweeps while the ticket is pending redraw nothing
    expect(card.history).toHaveLength(1);

    now += 61_000;
    await waitFor(() => JSON.stringify(card.blocks).includes('*Status:* expired'));
    await rig.settle();
    await new Promise((r) => setTimeout(r, 200)); // later sweeps leave a drawn expiry alone
    await rig.settle();
    expect(card.history).toHaveLength(2);
    const drawn = JSON.stringify(card.blocks);
    expect(drawn).toContain('Expired at');
    expect(drawn).toContain('nothing ran');
    expect(drawn).not.toContain('"type":"actions"');
    const ticket = rig.approvals.list({})[0]!;
    expect(ticket.status).toBe('expired');
    const thread = slack.messages.filter((m) => m.thread_ts === ts).map((m) => m.text);
    expect(thread.filter((t) => t.startsWith(`Ticket ${ticket.id} expired at`))).toHaveLength(1);
    expect(rig.runs.write).toBe(0);
  });
});
