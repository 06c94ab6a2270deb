// Feishu/Lark webhook mode at the protocol layer: the published decryption sample, and each
// delivery as Feishu sends it (encrypted, signed) normalised into the chat core's events, or refused.
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../bots/core/types.js';
import { decryptEvent, encryptEvent, eventSignature } from '../../bots/feishu/crypto.js';
import { renderCard } from '../../bots/feishu/render.js';
import { handleFeishuRequest } from '../../bots/feishu/webhook.js';
import {
  APP_ID,
  BOT_OPEN_ID,
  cardAction,
  ENCRYPT_KEY,
  feishuDelivery,
  messageReceived,
  VERIFICATION_TOKEN,
} from '../support/feishu-server.js';

const options = {
  appId: APP_ID,
  encryptKey: ENCRYPT_KEY,
  verificationToken: VERIFICATION_TOKEN,
  botOpenId: () => BOT_OPEN_ID,
};

function run(delivery: { body: string; headers: Record<string, string> }, o: Partial<typeof options> = {}) {
  const events: InboundEvent[] = [];
  const answer = handleFeishuRequest({ ...options, ...o }, delivery.body, delivery.headers, (e) =>
    events.push(e),
  );
  return { answer, events };
}

describe('Feishu event crypto', () => {
  it('decrypts the sample in Feishu\'s documentation (Encrypt Key "test key")', () => {
    expect(decryptEvent('test key', 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=')).toBe('hello world');
  });

  it('round-trips Chinese text, and refuses a wrong key or damaged ciphertext', () => {
    const c = encryptEvent('k1', '扩容 payments/api 到 4 个副本');
    expect(decryptEvent('k1', c)).toBe('扩容 payments/api 到 4 个副本');
    expect(() => decryptEvent('k2', c)).toThrow();
    expect(() => decryptEvent('k1', c.slice(0, 20))).toThrow();
  });

  it('signs timestamp + nonce + key + body with SHA-256 (hex)', () => {
    // sha256("1700000000" + "n" + "k" + "{}"), computed independently with sha256sum.
    expect(eventSignature('1700000000', 'n', 'k', '{}')).toBe(
      '48353a7a50042419257060653224fc8a6691ae4891b35267b49215645eb2a855',
    );
  });
});

describe('Feishu deliveries', () => {
  it('answers the url_verification challenge once it decrypts and carries the verification token', () => {
    const ok = run(
      feishuDelivery(
        { type: 'url_verification', challenge: 'c-123', token: VERIFICATION_TOKEN },
        { unsigned: true },
      ),
    );
    expect(ok.answer).toEqual({ status: 200, body: { challenge: 'c-123' } });
    const wrong = run(
      feishuDelivery({ type: 'url_verification', challenge: 'c-123', token: 'other' }, { unsigned: true }),
    );
    expect(wrong.answer.status).toBe(401);
    expect(wrong.answer.refused).toBe('wrong verification token');
  });

  it('a group message mentioning the bot becomes a mention with the mention removed; a DM a direct message', () => {
    const m = run(
      feishuDelivery(
        messageReceived({
          user: 'ou_alice',
          chat: 'oc_ops',
          text: '扩容 payments/api 到 4',
          messageId: 'om_1',
          eventId: 'ev1',
        }),
      ),
    );
    expect(m.answer.status).toBe(200);
    expect(m.events).toEqual([
      {
        kind: 'mention',
        eventId: 'ev1',
        user: { platform: 'feishu', id: 'ou_alice' },
        place: { channel: 'oc_ops' },
        messageId: 'om_1',
        text: '扩容 payments/api 到 4',
      },
    ]);
    const dm = run(
      feishuDelivery(
        messageReceived({
          user: 'ou_alice',
          chat: 'oc_dm',
          chatType: 'p2p',
          text: 'help',
          mentionBot: false,
        }),
      ),
    );
    expect(dm.events).toMatchObject([
      { kind: 'message', direct: true, text: 'help', place: { channel: 'oc_dm' } },
    ]);
  });

  it('a thread reply mentioning nobody is a follow-up; one mentioning only someone else is ignored', () => {
    const follow = run(
      feishuDelivery(
        messageReceived({
          user: 'ou_a',
          chat: 'oc_ops',
          text: 'and now?',
          rootId: 'om_root',
          mentionBot: false,
        }),
      ),
    );
    expect(follow.events).toMatchObject([
      { kind: 'message', direct: false, place: { channel: 'oc_ops', thread: 'om_root' } },
    ]);
    const other = messageReceived({ user: 'ou_a', chat: 'oc_ops', text: 'x', rootId: 'om_root' });
    other.event.message.mentions![0]!.id.open_id = 'ou_someone_else';
    expect(run(feishuDelivery(other)).events).toEqual([]);
  });

  it('a card press becomes a button event on that card', () => {
    const msg = {
      message_id: 'om_card',
      chat_id: 'oc_ops',
      msg_type: 'interactive',
      content: {},
      history: [],
    };
    const r = run(
      feishuDelivery(
        cardAction({
          user: 'ou_bob',
          message: msg,
          value: { kubemate: 'approve', ticket: 'T1' },
          eventId: 'ev9',
        }),
      ),
    );
    expect(r.answer.status).toBe(200);
    expect(r.events).toEqual([
      {
        kind: 'button',
        action: 'approve',
        ticketId: 'T1',
        cardMessageId: 'om_card',
        eventId: 'ev9',
        user: { platform: 'feishu', id: 'ou_bob' },
        place: { channel: 'oc_ops', thread: 'om_card' },
      },
    ]);
  });

  it("a press on a message's own button (rendered from OutMessage.actions) becomes an action event; a bad action name is ignored", () => {
    const card = renderCard({
      text: 'alert summary',
      actions: [{ action: 'alert_ack', value: 'ag_0123456789ab', label: 'Acknowledge' }],
    });
    const row = (card.elements as Array<{ tag: string; actions?: Array<{ value: unknown }> }>).find(
      (e) => e.tag === 'action',
    )!;
    const value = row.actions![0]!.value as Record<string, string>;
    expect(value).toEqual({ kubemate: 'act', action: 'alert_ack', arg: 'ag_0123456789ab' });
    const msg = {
      message_id: 'om_root',
      chat_id: 'oc_ops',
      msg_type: 'interactive',
      content: {},
      history: [],
    };
    const r = run(feishuDelivery(cardAction({ user: 'ou_bob', message: msg, value, eventId: 'ev10' })));
    expect(r.answer.status).toBe(200);
    expect(r.events).toEqual([
      {
        kind: 'action',
        action: 'alert_ack',
        value: 'ag_0123456789ab',
        messageId: 'om_root',
        eventId: 'ev10',
        user: { platform: 'feishu', id: 'ou_bob' },
        place: { channel: 'oc_ops', thread: 'om_root' },
      },
    ]);
    const bad = run(
      feishuDelivery(
        cardAction({
          user: 'ou_bob',
          message: msg,
          value: { ...value, action: 'Alert Ack!' },
          eventId: 'ev11',
        }),
      ),
    );
    expect(bad.answer.status).toBe(200);
    expect(bad.events).toEqual([]);
  });

  it('refuses forged, stale, undecryptable, unencrypted, foreign and oversized deliveries, delivering nothing', () => {
    const payload = messageReceived({ user: 'ou_alice', chat: 'oc_ops', text: 'help' });
    const cases: Array<
      [string, { body: string; headers: Record<string, string> }, Partial<typeof options>, number, string]
    > = [
      [
        'signed with another key',
        feishuDelivery(payload, { signKey: 'not-the-key' }),
        {},
        401,
        'bad signature',
      ],
      [
        'ten minutes old',
        feishuDelivery(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
        {},
        401,
        'stale timestamp',
      ],
      [
        'encrypted with another key',
        feishuDelivery(payload, { encryptKey: 'other-key', signKey: ENCRYPT_KEY }),
        {},
        401,
        'bad ciphertext',
      ],
      [
        'for another app',
        feishuDelivery(messageReceived({ user: 'ou_a', chat: 'oc_ops', text: 'help', appId: 'cli_other' })),
        {},
        401,
        'wrong app id',
      ],
      [
        'with another verification token',
        feishuDelivery(messageReceived({ user: 'ou_a', chat: 'oc_ops', text: 'help', token: 'x' })),
        {},
        401,
        'wrong verification token',
      ],
      ['unsigned', feishuDelivery(payload, { unsigned: true }), {}, 401, 'unsigned request'],
      ['not encrypted', { body: JSON.stringify(payload), headers: {} }, {}, 400, 'unencrypted body'],
      ['not JSON', { body: '{"encrypt":', headers: {} }, {}, 400, 'body is not JSON'],
      [
        'too large',
        feishuDelivery(payload),
        { maxBodyBytes: 100 } as Partial<typeof options>,
        413,
        'oversized body',
      ],
    ];
    for (const [what, delivery, o, status, reason] of cases) {
      const r = run(delivery, o);
      expect([what, r.answer.status, r.answer.refused]).toEqual([what, status, reason]);
      expect(r.events, what).toEqual([]);
      expect(JSON.stringify(r.answer.body), what).not.toContain(ENCRYPT_KEY);
    }
  });
});
