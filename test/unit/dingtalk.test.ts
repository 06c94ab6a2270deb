import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import type { ApprovalCard } from '../../bots/core/types.js';
import { robotSign } from '../../bots/dingtalk/crypto.js';
import { normaliseCardPress, normaliseMessage, robotMessageSchema } from '../../bots/dingtalk/inbound.js';
import { cardParams } from '../../bots/dingtalk/render.js';
import { handleDingtalkCallback, SeenSignatures } from '../../bots/dingtalk/webhook.js';

const SECRET = 'this-is-the-app-secret';

const message = (o: Record<string, unknown> = {}) => ({
  msgId: 'msgA1',
  msgtype: 'text',
  conversationId: 'cidGroup1==',
  conversationType: '2',
  senderStaffId: 'alice01',
  robotCode: 'dingrobot',
  isInAtList: true,
  sessionWebhook: 'https://oapi.dingtalk.com/robot/sendBySession?session=s1',
  sessionWebhookExpiredTime: 1_900_000_000_000,
  text: { content: '  pods   payments ' },
  ...o,
});

describe('DingTalk robot callback signature', () => {
  it('is base64 HMAC-SHA256 keyed with the app secret over "timestamp\\nsecret"', () => {
    // Computed independently of robotSign, from DingTalk's description of the scheme.
    const expected = createHmac('sha256', Buffer.from(SECRET, 'utf8'))
      .update(Buffer.from(`1700000000000\n${SECRET}`, 'utf8'))
      .digest()
      .toString('base64');
    expect(robotSign('1700000000000', SECRET)).toBe(expected);
    expect(robotSign('1700000000001', SECRET)).not.toBe(expected);
  });

  it('accepts a fresh, signed message for this robot, and refuses a timestamp that is not milliseconds', () => {
    const now = 1_700_000_000_000;
    const body = JSON.stringify(message());
    const got: unknown[] = [];
    const ok = handleDingtalkCallback(
      { appSecret: SECRET, robotCode: 'dingrobot', now: () => now },
      body,
      { timestamp: String(now - 1000), sign: robotSign(String(now - 1000), SECRET) },
      (e) => got.push(e),
    );
    expect(ok.status).toBe(200);
    expect(got).toHaveLength(1);
    const seconds = String(Math.floor(now / 1000));
    const bad = handleDingtalkCallback(
      { appSecret: SECRET, robotCode: 'dingrobot', now: () => now },
      body,
      { timestamp: seconds, sign: robotSign(seconds, SECRET) },
      () => got.push('ran'),
    );
    expect([bad.status, bad.refused, got.length]).toEqual([401, 'stale timestamp', 1]);
  });
});

describe('DingTalk robot callback replays', () => {
  it('accepts a signature once: the same headers with another body are refused, and run nothing', () => {
    const now = 1_700_000_000_000;
    const seen = new SeenSignatures();
    const o = { appSecret: SECRET, robotCode: 'dingrobot', now: () => now, seen };
    const headers = { timestamp: String(now - 1000), sign: robotSign(String(now - 1000), SECRET) };
    const got: unknown[] = [];
    expect(handleDingtalkCallback(o, JSON.stringify(message()), headers, (e) => got.push(e)).status).toBe(
      200,
    );
    const forged = JSON.stringify(
      message({ msgId: 'msgB2', senderStaffId: 'oncall01', text: { content: 'scale' } }),
    );
    const replay = handleDingtalkCallback(o, forged, headers, (e) => got.push(e));
    expect([replay.status, replay.refused, got.length]).toEqual([401, 'replayed signature', 1]);
    // A new timestamp is a new signature: the next real message is taken.
    const next = { timestamp: String(now), sign: robotSign(String(now), SECRET) };
    expect(handleDingtalkCallback(o, forged, next, (e) => got.push(e)).status).toBe(200);
    expect(got).toHaveLength(2);
  });
});

describe('DingTalk inbound messages', () => {
  it('a group @-message is a mention in the conversation; a one-to-one message is direct, placed on the person', () => {
    const group = normaliseMessage(robotMessageSchema.parse(message()))!;
    expect(group.event).toMatchObject({
      kind: 'mention',
      text: 'pods payments',
      place: { channel: 'cidGroup1==' },
    });
    expect(group.webhook?.channel).toBe('cidGroup1==');
    const dm = normaliseMessage(robotMessageSchema.parse(message({ conversationType: '1' })))!;
    expect(dm.event).toMatchObject({ kind: 'message', direct: true, place: { channel: 'dm:alice01' } });
  });

  it('ignores non-text messages and senders without a staff id (outside the organisation)', () => {
    expect(normaliseMessage(robotMessageSchema.parse(message({ msgtype: 'picture' })))).toBeUndefined();
    expect(normaliseMessage(robotMessageSchema.parse(message({ senderStaffId: undefined })))).toBeUndefined();
  });

  it('a card press counts only on the card posted for that ticket', async () => {
    const press = {
      type: 'actionCallback',
      outTrackId: 'km_card1',
      userId: 'bob02',
      content: JSON.stringify({
        cardPrivateData: { actionIds: ['approve'], params: { kubemate: 'approve', ticket: 'tkt_1' } },
      }),
    };
    const channelOf = (out: string, ticket: string) =>
      out === 'km_card1' && ticket === 'tkt_1' ? 'cidG==' : undefined;
    expect(await normaliseCardPress(press, 'd1', channelOf)).toMatchObject({
      kind: 'button',
      action: 'approve',
      ticketId: 'tkt_1',
      place: { channel: 'cidG==' },
      user: { platform: 'dingtalk', id: 'bob02' },
    });
    const refused: string[] = [];
    const refuse = (reason: string) => refused.push(reason);
    const none = () => undefined;
    expect(
      await normaliseCardPress({ ...press, outTrackId: 'km_other' }, 'd2', channelOf, none, refuse),
    ).toBeUndefined();
    expect(
      await normaliseCardPress(
        { ...press, content: '{"cardPrivateData":{"params":{"kubemate":"run"}}}' },
        'd3',
        channelOf,
        none,
        refuse,
      ),
    ).toBeUndefined();
    expect(
      await normaliseCardPress({ ...press, content: '{not json' }, 'd4', channelOf, none, refuse),
    ).toBeUndefined();
    // Every refused press is reported (the bot audits it); an accepted one is not.
    expect(await normaliseCardPress(press, 'd5', channelOf, none, refuse)).toBeDefined();
    expect(refused).toEqual([
      'approval press on a card that is not the one posted for its ticket',
      'card press is not from a Kubemate card',
      'card press content is not JSON',
    ]);
  });
});

describe('DingTalk approval card params', () => {
  const card: ApprovalCard = {
    ticketId: 'tkt_1',
    tool: 'deployment_scale',
    call: 'deployment_scale payments/api replicas=4',
    plan: 'scale payments/api from 2 to 4 replicas',
    requester: 'alice',
    expiresAt: '2026-12-07T08:00:00Z',
    status: 'pending',
    approvals: [],
    required: 1,
  };

  it('are strings only, with buttons while pending in Stream mode', () => {
    const p = cardParams(card, true);
    expect(Object.values(p).every((v) => typeof v === 'string')).toBe(true);
    expect([p.approvable, p.rejectable, p.status]).toEqual(['true', 'true', '待审批 pending']);
    expect(cardParams({ ...card, status: 'executed' }, true).approvable).toBe('false');
  });

  it('a call too long to show whole cannot be approved from the card; HTTP mode says how to decide by command', () => {
    const long = cardParams({ ...card, call: 'x'.repeat(5000) }, true);
    expect([long.approvable, long.rejectable]).toEqual(['false', 'true']);
    expect(long.call).toContain('3500 more characters cut');
    const http = cardParams(card, false);
    expect([http.approvable, http.rejectable]).toEqual(['false', 'false']);
    expect(http.notice).toContain('@kubemate approve tkt_1');
  });
});

describe('bots.dingtalk configuration', () => {
  it('names each missing setting when enabled, and refuses a chat id that is not a conversation id', () => {
    const err = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { KUBEMATE_BOTS__DINGTALK__ENABLED: 'true', ...env } });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const missing = err({});
    expect(missing).toContain('bots.dingtalk.clientId');
    expect(missing).toContain('bots.dingtalk.clientSecret');
    expect(missing).toContain('bots.dingtalk.cardTemplateId');
    expect(
      err({
        KUBEMATE_BOTS__DINGTALK__CLIENT_ID: 'dingabc123',
        KUBEMATE_BOTS__DINGTALK__CLIENT_SECRET: 's',
        KUBEMATE_BOTS__DINGTALK__CARD_TEMPLATE_ID: 't.schema',
        KUBEMATE_BOTS__DINGTALK__CHATS: JSON.stringify([{ id: 'oc_feishuchat' }]),
      }),
    ).toContain('openConversationId');
    const ok = loadConfig({
      env: {
        KUBEMATE_BOTS__DINGTALK__ENABLED: 'true',
        KUBEMATE_BOTS__DINGTALK__CLIENT_ID: 'dingabc123',
        KUBEMATE_BOTS__DINGTALK__CLIENT_SECRET: 's',
        KUBEMATE_BOTS__DINGTALK__CARD_TEMPLATE_ID: 't.schema',
      },
    });
    expect([ok.bots.dingtalk.mode, ok.bots.dingtalk.apiUrl]).toEqual(['stream', 'https://api.dingtalk.com']);
  });
});

describe('DingTalk transport memory', () => {
  it('keeps session webhooks for the newest 5,000 conversations only: the oldest falls back to the OpenAPI', async () => {
    const { DingtalkTransport } = await import('../../bots/dingtalk/transport.js');
    const calls: string[] = [];
    const api = {
      call: async (_m: string, path: string) => {
        calls.push(`api ${path}`);
        return { processQueryKey: 'k' };
      },
      webhook: async (url: string) => {
        calls.push(`hook ${url}`);
      },
    };
    const t = new DingtalkTransport(api as never, {
      robotCode: 'dingrobot',
      cardTemplateId: 'tpl',
      buttons: false,
      webhookOrigin: 'https://oapi.dingtalk.com',
      now: () => 1_700_000_000_000,
    });
    const hook = (i: number) => ({
      channel: `cid${i}`,
      url: `https://oapi.dingtalk.com/robot/sendBySession?session=s${i}`,
      expiresAt: 1_800_000_000_000,
    });
    for (let i = 0; i <= 5_000; i++) expect(t.noteWebhook(hook(i))).toBe(true);
    await t.post({ channel: 'cid0' }, { text: 'oldest' });
    await t.post({ channel: 'cid5000' }, { text: 'newest' });
    await t.post({ channel: 'cid1' }, { text: 'still kept' });
    expect(calls).toEqual([
      'api /v1.0/robot/groupMessages/send',
      'hook https://oapi.dingtalk.com/robot/sendBySession?session=s5000',
      'hook https://oapi.dingtalk.com/robot/sendBySession?session=s1',
    ]);
  });
});
