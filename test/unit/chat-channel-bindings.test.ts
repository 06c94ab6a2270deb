import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_RULE } from '../../bots/core/channel-guard.js';
import { SIGNING_SECRET, slackRig } from '../support/chat-rig.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { eventCallback, type SlackServer, signed, startSlackServer } from '../support/slack-server.js';

let slack: SlackServer;
let ollama: ScriptedOllama;
let rig: ReturnType<typeof slackRig>;
const PUBLIC = 'C0PUBLIC';
const PAYMENTS = 'C0PAYMENTS';
const OPEN = 'C0OPEN';

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
});
afterEach(async () => {
  await rig?.bot.stop();
});
afterAll(async () => {
  await ollama?.close();
  await slack?.close();
});

/** A signed Events API delivery straight into the bot's HTTP receiver. */
async function mention(channel: string, user: string, text: string, ts: string) {
  const body = eventCallback({
    type: 'app_mention',
    user,
    text: `<@UBOT> ${text}`,
    channel,
    ts,
    event_ts: ts,
  });
  const answer = await rig.bot.http!.handle(body, {
    'content-type': 'application/json',
    ...signed(SIGNING_SECRET, body),
  });
  expect(answer.status).toBe(200);
  await rig.settle();
  return slack.messages.filter((m) => m.thread_ts === ts);
}

/** The model asks for the change once, then answers with what the tool said. */
function scriptScale() {
  const seen: string[] = [];
  ollama.setChat((r) => {
    seen.push(
      r.messages
        .filter((m) => m.role === 'user')
        .map((m) => m.content)
        .join('\n'),
    );
    const tool = r.messages.filter((m) => m.role === 'tool').at(-1);
    if (tool) return { content: `Result: ${tool.content.slice(0, 400)}` };
    return { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] };
  });
  return seen;
}

describe('channel bindings (policy allows writes outright)', () => {
  it('refuses and audits a write the agent makes for a message from an allowWrites: false channel', async () => {
    rig = slackRig({
      slack,
      ollama,
      mode: 'http',
      policy: 'allow',
      channels: [{ channel: PUBLIC, allowWrites: false }],
    });
    await rig.bot.start();
    scriptScale();
    const thread = await mention(PUBLIC, 'UALICE', 'scale widget api to 4 replicas', '1700001000.000001');
    expect(rig.runs.write).toBe(0);
    const refusals = rig.audit.records.filter((r) => r.decision?.rule === CHANNEL_RULE);
    expect(refusals.map((r) => [r.tool, r.principal.id, r.outcome])).toEqual([
      ['widget_scale', 'slack:UALICE', 'denied'],
    ]);
    expect(
      rig.audit.records.some(
        (r) => r.tool === 'widget_scale' && r.kind === 'result' && r.outcome === 'success',
      ),
    ).toBe(false);
    expect(thread.at(-1)!.text).toContain(`changes cannot be made from channel ${PUBLIC}`);
    expect(thread.some((m) => m.blocks?.some((b) => b.type === 'actions'))).toBe(false);
  });

  it('the same request from a channel that allows writes runs (the refusal above is the binding)', async () => {
    rig = slackRig({
      slack,
      ollama,
      mode: 'http',
      policy: 'allow',
      channels: [{ channel: PUBLIC, allowWrites: false }],
    });
    await rig.bot.start();
    scriptScale();
    const thread = await mention(OPEN, 'UALICE', 'scale widget api to 4 replicas', '1700001100.000001');
    expect(rig.runs.write).toBe(1);
    expect(rig.audit.records.some((r) => r.decision?.rule === CHANNEL_RULE)).toBe(false);
    expect(thread.at(-1)!.text).toContain('scaled api to 4');
  });

  it('refuses a write needing approval before any ticket exists, from a read-only channel', async () => {
    rig = slackRig({
      slack,
      ollama,
      mode: 'http',
      policy: 'approvals',
      channels: [{ channel: PUBLIC, allowWrites: false }],
    });
    await rig.bot.start();
    scriptScale();
    await mention(PUBLIC, 'UALICE', 'scale widget api to 4 replicas', '1700001200.000001');
    expect(rig.approvals.list({}).length).toBe(0);
    expect(rig.audit.records.filter((r) => r.decision?.rule === CHANNEL_RULE).map((r) => r.tool)).toEqual([
      'widget_scale',
    ]);
  });
});

describe('channel defaults', () => {
  it('passes the channel default cluster and namespace to the agent with the question', async () => {
    rig = slackRig({
      slack,
      ollama,
      mode: 'http',
      channels: [{ channel: PAYMENTS, allowWrites: true, cluster: 'prod-east', namespace: 'payments' }],
    });
    await rig.bot.start();
    const seen: string[] = [];
    ollama.setChat((r) => {
      seen.push(
        r.messages
          .filter((m) => m.role === 'user')
          .map((m) => m.content)
          .join('\n'),
      );
      return { content: 'All good.' };
    });
    await mention(PAYMENTS, 'UBOB', 'why is api restarting?', '1700001300.000001');
    expect(seen[0]).toContain('why is api restarting?');
    expect(seen[0]).toContain('default is cluster "prod-east" and namespace "payments"');
    seen.length = 0;
    await mention(OPEN, 'UBOB', 'why is api restarting?', '1700001400.000001');
    expect(seen[0]).toContain('why is api restarting?');
    expect(seen[0]).not.toContain('default is');
  });
});
