// WeCom callback cryptography against the sample values of WeCom's own WXBizMsgCrypt library
// (callback/Sample.py), and each callback as WeCom sends it, normalised into the core's events or refused.
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../bots/core/types.js';
import { aesKeyOf, wecomDecrypt, wecomEncrypt, wecomSignature } from '../../bots/wecom/crypto.js';
import { handleWecomCallback, handleWecomVerify } from '../../bots/wecom/webhook.js';
import { xmlFields } from '../../bots/wecom/xml.js';
import {
  AES_KEY,
  AGENT_ID,
  CORP_ID,
  cardEvent,
  TOKEN,
  textMessage,
  wecomCallback,
} from '../support/wecom-server.js';

// WeCom's published sample (token, EncodingAESKey, corp id and two captured requests).
const SAMPLE = {
  token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo',
  key: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt',
  corpId: 'ww1436e0e65a779aee',
  verify: {
    msg_signature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
    timestamp: '1476416373',
    nonce: '47744683',
    echostr: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
  },
  post: {
    msg_signature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
    timestamp: '1476422779',
    nonce: '1597212914',
    body: '<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>',
  },
};
const sampleOptions = (now: number) => ({
  corpId: SAMPLE.corpId,
  agentId: 1000002,
  token: SAMPLE.token,
  aesKey: aesKeyOf(SAMPLE.key),
  now: () => now * 1000,
});

describe('WeCom callback crypto (published sample)', () => {
  it('verifies the URL: signature over the sorted values, echostr decrypted, corp id checked', () => {
    expect(handleWecomVerify(sampleOptions(1476416373), SAMPLE.verify)).toEqual({
      status: 200,
      body: '1288432023552776189',
    });
  });

  it('decrypts the sample message and normalises it into a direct message from ChenJiaShun', () => {
    const events: InboundEvent[] = [];
    const { body, ...query } = SAMPLE.post;
    const answer = handleWecomCallback(
      sampleOptions(1476422779),
      query,
      body,
      (e) => events.push(e),
      () => {},
    );
    expect(answer).toEqual({ status: 200, body: '' });
    expect(events).toEqual([
      {
        kind: 'message',
        direct: true,
        eventId: 'msg:1456453720',
        user: { platform: 'wecom', id: 'ChenJiaShun' },
        place: { channel: 'ChenJiaShun' },
        messageId: '1456453720',
        text: '你好',
      },
    ]);
  });

  it('refuses the sample with another corp id, one more second of skew past the limit, or one changed byte', () => {
    const { body, ...query } = SAMPLE.post;
    const run = (o: ReturnType<typeof sampleOptions>, q = query, b = body) =>
      handleWecomCallback(
        o,
        q,
        b,
        () => {
          throw new Error('nothing may be delivered');
        },
        () => {},
      );
    expect(run({ ...sampleOptions(1476422779), corpId: 'ww0000000000000000' }).refused).toBe('wrong corp id');
    expect(run(sampleOptions(1476422779 + 301)).refused).toBe('stale timestamp');
    expect(run(sampleOptions(1476422779), { ...query, nonce: '1597212915' }).refused).toBe('bad signature');
  });

  it('round-trips Chinese text and refuses bad padding', () => {
    const key = aesKeyOf(AES_KEY);
    const c = wecomEncrypt(key, '<xml><Content>回滚 payments/api</Content></xml>', CORP_ID);
    expect(wecomDecrypt(key, c)).toEqual({
      message: '<xml><Content>回滚 payments/api</Content></xml>',
      receiveId: CORP_ID,
    });
    const damaged = Buffer.from(c, 'base64');
    damaged[damaged.length - 1]! ^= 0xff;
    expect(() => wecomDecrypt(key, damaged.toString('base64'))).toThrow();
    expect(wecomSignature('b', 'a', 'c', 'd')).toBe(wecomSignature('d', 'c', 'b', 'a'));
  });
});

describe('WeCom XML', () => {
  it('reads CDATA (holding markup), entities and nested fields', () => {
    expect(
      xmlFields(
        '<xml><A><![CDATA[x</A>y]]></A><B>1 &lt; 2 &amp; &#x6269;</B><C><D>n</D></C><E><![CDATA[a]]]]><![CDATA[>b]]></E></xml>',
      ),
    ).toEqual({ A: 'x</A>y', B: '1 < 2 & 扩', C: '<D>n</D>', E: 'a]]>b' });
    expect(() => xmlFields('<xml><A>1</B></xml>')).toThrow();
    expect(() => xmlFields('{"not":"xml"}')).toThrow();
  });
});

describe('WeCom callbacks as the local WeCom server sends them', () => {
  const options = { corpId: CORP_ID, agentId: AGENT_ID, token: TOKEN, aesKey: aesKeyOf(AES_KEY) };
  const run = (
    c: { query: Record<string, string>; body: string },
    o: Partial<typeof options & { maxBodyBytes: number }> = {},
  ) => {
    const events: InboundEvent[] = [];
    const codes: Array<[string, string]> = [];
    const answer = handleWecomCallback(
      { ...options, ...o },
      c.query,
      c.body,
      (e) => events.push(e),
      (t, r) => codes.push([t, r]),
    );
    return { answer, events, codes };
  };

  it('a button press becomes a button event, and its response code goes to the transport', () => {
    const r = run(
      wecomCallback(
        cardEvent({
          user: 'bob',
          taskId: 'km-T1-ab',
          key: 'approve:T1',
          responseCode: 'rc-1',
          createTime: 1700000000,
        }),
      ),
    );
    expect(r.events).toEqual([
      {
        kind: 'button',
        action: 'approve',
        ticketId: 'T1',
        cardMessageId: 'km-T1-ab',
        eventId: 'card:bob:km-T1-ab:1700000000:approve:T1',
        user: { platform: 'wecom', id: 'bob' },
        place: { channel: 'bob' },
      },
    ]);
    expect(r.codes).toEqual([['km-T1-ab', 'rc-1']]);
  });

  it('refuses forged, stale, undecryptable, foreign, unencrypted and oversized callbacks, delivering nothing', () => {
    const msg = () => textMessage({ user: 'alice', text: 'help' });
    const cases: Array<
      [
        string,
        { query: Record<string, string>; body: string },
        Partial<typeof options & { maxBodyBytes: number }>,
        number,
        string,
      ]
    > = [
      ['signed with another token', wecomCallback(msg(), { token: 'other' }), {}, 401, 'bad signature'],
      [
        'ten minutes old',
        wecomCallback(msg(), { timestamp: Math.floor(Date.now() / 1000) - 600 }),
        {},
        401,
        'stale timestamp',
      ],
      [
        'encrypted with another key',
        wecomCallback(msg(), { aesKey: 'a'.repeat(43) }),
        {},
        401,
        'bad ciphertext',
      ],
      ['for another corp', wecomCallback(msg(), { corpId: 'ww9999999999999999' }), {}, 401, 'wrong corp id'],
      [
        'for another app',
        wecomCallback(textMessage({ user: 'alice', text: 'help', agentId: 42 })),
        {},
        401,
        'wrong agent id',
      ],
      ['unsigned', { query: {}, body: wecomCallback(msg()).body }, {}, 401, 'unsigned request'],
      [
        'not encrypted',
        { query: wecomCallback(msg()).query, body: '<xml><Content>help</Content></xml>' },
        {},
        400,
        'unencrypted body',
      ],
      ['not XML', { query: wecomCallback(msg()).query, body: '{}' }, {}, 400, 'body is not WeCom XML'],
      ['too large', wecomCallback(msg()), { maxBodyBytes: 100 }, 413, 'oversized body'],
    ];
    for (const [what, c, o, status, reason] of cases) {
      const r = run(c, o);
      expect([what, r.answer.status, r.answer.refused]).toEqual([what, status, reason]);
      expect(r.events, what).toEqual([]);
    }
  });
});
