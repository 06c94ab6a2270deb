import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackRig } from '../support/chat-rig.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { APP_TOKEN, buttonPayload, type SlackServer, startSlackServer } from '../support/slack-server.js';

let slack: SlackServer;
let ollama: ScriptedOllama;
let rig: ReturnType<typeof slackRig>;

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  rig = slackRig({ slack, ollama, mode: 'socket' });
  await rig.bot.start();
  await slack.connected();
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

describe('Slack Socket Mode (real Bolt SocketModeReceiver over the Socket Mode protocol)', () => {
  it('opens the connection with the app token through apps.connections.open', () => {
    const opens = slack.calls.filter((c) => c.method === 'apps.connections.open');
    expect(opens.map((c) => [c.token, c.status])).toEqual([[APP_TOKEN, 200]]);
  });

  it('answers a mention sent as an events_api envelope and acks the envelope exactly once', async () => {
    const id = slack.envelope('events_api', {
      token: 'legacy',
      team_id: 'T0TEST',
      api_app_id: 'A0TEST',
      type: 'event_callback',
      event_id: 'EvSOCKET1',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_mention',
        user: 'UALICE',
        text: '<@UBOT> help',
        channel: 'C0SOCK',
        ts: '1700000900.000001',
        event_ts: '1700000900.000001',
      },
    });
    await waitFor(() => slack.messages.some((m) => m.thread_ts === '1700000900.000001'));
    await rig.settle();
    await new Promise((r) => setTimeout(r, 100)); // a late second ack would show here
    expect(slack.acks.filter((a) => a.envelope_id === id)).toHaveLength(1);
    const replies = slack.messages.filter((m) => m.thread_ts === '1700000900.000001');
    expect(replies.map((m) => [m.channel, m.text.split('\n')[0]])).toEqual([
      ['C0SOCK', 'Ask me anything about your clusters in plain words, or use a command:'],
    ]);
  });

  it('acks a slash command envelope with a response payload and runs the command once', async () => {
    const id = slack.envelope('slash_commands', {
      token: 'legacy',
      team_id: 'T0TEST',
      api_app_id: 'A0TEST',
      command: '/kubemate',
      text: 'help',
      user_id: 'UBOB',
      channel_id: 'C0SLASH',
      trigger_id: 'trig.socket.1',
      response_url: 'http://127.0.0.1:9/unused',
    });
    await waitFor(() => slack.messages.some((m) => m.channel === 'C0SLASH'));
    await rig.settle();
    const acked = slack.acks.filter((a) => a.envelope_id === id);
    expect(acked).toHaveLength(1);
    expect(acked[0]!.payload).toEqual({ response_type: 'ephemeral', text: 'On it.' });
    expect(slack.messages.filter((m) => m.channel === 'C0SLASH')).toHaveLength(1);
  });

  it('takes Approve presses as interactive envelopes: acked once each, the requester refused, the ticket run once', async () => {
    ollama.setChat((r) =>
      r.messages.some((m) => m.role === 'tool')
        ? { content: 'Done.' }
        : { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] },
    );
    const ts = '1700000950.000001';
    slack.envelope('events_api', {
      token: 'legacy',
      team_id: 'T0TEST',
      api_app_id: 'A0TEST',
      type: 'event_callback',
      event_id: 'EvSOCKET2',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_mention',
        user: 'UALICE',
        text: '<@UBOT> scale widget api to 4 replicas',
        channel: 'C0SOCKCARD',
        ts,
        event_ts: ts,
      },
    });
    await waitFor(() =>
      slack.messages.some((m) => m.thread_ts === ts && m.blocks?.some((b) => b.type === 'actions')),
    );
    await rig.settle();
    const card = slack.messages.find(
      (m) => m.thread_ts === ts && m.blocks?.some((b) => b.type === 'actions'),
    )!;

    const own = slack.envelope('interactive', buttonPayload('UALICE', card, 'approve', '1700000951.000001'));
    await waitFor(() => JSON.stringify(card.blocks).includes('cannot approve it'));
    expect(rig.runs.write).toBe(0);

    const first = slack.envelope('interactive', buttonPayload('UBOB', card, 'approve', '1700000952.000001'));
    const second = slack.envelope('interactive', buttonPayload('UBOB', card, 'approve', '1700000952.000002'));
    await waitFor(() => JSON.stringify(card.blocks).includes('*Status:* executed'));
    await rig.settle();
    for (const id of [own, first, second])
      expect(slack.acks.filter((a) => a.envelope_id === id)).toHaveLength(1);
    expect(rig.runs.write).toBe(1);
    expect(JSON.stringify(card.blocks)).not.toContain('"type":"actions"');
  });
});
