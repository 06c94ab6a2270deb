import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../bots/core/outbox.js';
import { sqliteChatStore } from '../../bots/core/store.js';
import { SlackTransport, slackWebClient } from '../../bots/slack/transport.js';
import { silentLogger } from '../../tools/core/logger.js';
import { BOT_TOKEN, type SlackServer, startSlackServer } from '../support/slack-server.js';

/**
 * A post whose attempt began before the process stopped may or may not have reached Slack. The next
 * start asks Slack (conversations.history / .replies with the message metadata carrying the outbox
 * key) and posts only if it did not: nothing lost, nothing twice.
 */

let slack: SlackServer;
let transport: SlackTransport;
beforeAll(async () => {
  slack = await startSlackServer();
  transport = new SlackTransport(slackWebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }));
});
afterAll(() => slack?.close());

const fresh = () => sqliteChatStore(join(mkdtempSync(join(tmpdir(), 'kubemate-outbox-')), 'chat.db'));
const options = { perChannelIntervalMs: 0, maxAttempts: 5, backoffBaseMs: 10, backoffMaxMs: 50 };

describe('the outbox after a stop in the middle of a post', () => {
  it('finds a post that landed (top level and in a thread) and does not post it again', async () => {
    const store = fresh();
    for (const [channel, thread] of [
      ['C0LANDED', undefined],
      ['C0LANDEDT', '1700000000.000001'],
    ] as const) {
      const place = { channel, ...(thread ? { thread } : {}) };
      await store.enqueue({ op: 'post', place, message: { text: `hello ${channel}` }, key: `k_${channel}` });
      const row = (await store.heads()).find((r) => r.channel === channel)!;
      await store.markSending(row.seq);
      // The earlier attempt reached Slack; then the process died before recording it.
      const { messageId } = await transport.post(place, { text: `hello ${channel}` }, `k_${channel}`);
      const outbox = new Outbox(store, transport, silentLogger, options);
      outbox.start();
      await outbox.drained();
      await outbox.stop();
      expect(slack.messages.filter((m) => m.channel === channel)).toHaveLength(1);
      expect(await store.messageIdOf(`k_${channel}`)).toBe(messageId);
    }
    store.close();
  });

  it('posts once what did not land, and posts at all when Slack cannot be asked', async () => {
    const store = fresh();
    await store.enqueue({
      op: 'post',
      place: { channel: 'C0LOST' },
      message: { text: 'lost?' },
      key: 'k_lost',
    });
    await store.markSending((await store.heads())[0]!.seq);
    await store.enqueue({
      op: 'post',
      place: { channel: 'C0NOSCOPE' },
      message: { text: 'asked?' },
      key: 'k_noscope',
    });
    await store.markSending((await store.heads()).find((r) => r.channel === 'C0NOSCOPE')!.seq);
    slack.failNext('conversations.history', 500);
    slack.failNext('conversations.history', 500);
    const outbox = new Outbox(store, transport, silentLogger, options);
    outbox.start();
    await outbox.drained();
    await outbox.stop();
    expect(slack.messages.filter((m) => m.channel === 'C0LOST').map((m) => m.text)).toEqual(['lost?']);
    expect(slack.messages.filter((m) => m.channel === 'C0NOSCOPE').map((m) => m.text)).toEqual(['asked?']);
    const asked = slack.calls.filter((c) => c.method === 'conversations.history');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(
      asked.every((c) => c.args.include_all_metadata === 'true' || c.args.include_all_metadata === true),
    ).toBe(true);
    store.close();
  });
});
