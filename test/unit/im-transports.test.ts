// The Feishu and WeCom transports against the local platform servers: images, long texts within
// WeCom's 2048 bytes, replacing a text WeCom cannot edit, and a revoked token fetched again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Undeliverable } from '../../bots/core/types.js';
import { FeishuApi } from '../../bots/feishu/api.js';
import { FeishuTransport } from '../../bots/feishu/transport.js';
import { WecomApi } from '../../bots/wecom/api.js';
import { WecomTransport } from '../../bots/wecom/transport.js';
import * as feishu from '../support/feishu-server.js';
import * as wecom from '../support/wecom-server.js';

// A 1×1 PNG.
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const file = { name: 'chart-1.png', title: 'up', mimeType: 'image/png', data: PNG };

let f: feishu.FeishuServer;
let w: wecom.WecomServer;
beforeAll(async () => {
  f = await feishu.startFeishuServer();
  w = await wecom.startWecomServer();
});
afterAll(async () => {
  await f?.close();
  await w?.close();
});

describe('Feishu transport', () => {
  const t = () => new FeishuTransport(new FeishuApi(f.apiUrl, feishu.APP_ID, feishu.APP_SECRET));

  it('posts a card, patches it in place, and shares an image in the thread', async () => {
    const transport = t();
    const { messageId } = await transport.post({ channel: 'oc_t1' }, { text: '正在处理 Working on it…' });
    await transport.update('oc_t1', messageId, { text: '答案 the answer' });
    const m = f.messages.find((x) => x.message_id === messageId)!;
    expect(m.history.map((c) => feishu.cardText(c))).toEqual(['正在处理 Working on it…', '答案 the answer']);
    await transport.upload({ channel: 'oc_t1', thread: messageId }, file);
    const image = f.messages.find((x) => x.msg_type === 'image')!;
    expect(image.root_id).toBe(messageId);
    const key = String(image.content.image_key);
    expect(f.images.get(key)?.bytes.equals(Buffer.from(PNG, 'base64'))).toBe(true);
  });

  it('fetches a new tenant token when Feishu stops accepting the cached one', async () => {
    const transport = t();
    await transport.post({ channel: 'oc_t2' }, { text: 'one' });
    f.revokeTokens();
    await expect(transport.post({ channel: 'oc_t2' }, { text: 'two' })).rejects.toThrow(/99991663/);
    await transport.post({ channel: 'oc_t2' }, { text: 'three' });
    expect(f.messages.filter((m) => m.chat_id === 'oc_t2').map((m) => feishu.cardText(m.content))).toEqual([
      'one',
      'three',
    ]);
  });

  it('a reply to a message that does not exist is undeliverable, not retried forever', async () => {
    await expect(t().post({ channel: 'oc_t3', thread: 'om_gone' }, { text: 'x' })).rejects.toBeInstanceOf(
      Undeliverable,
    );
  });
});

describe('WeCom transport', () => {
  const t = () =>
    new WecomTransport(new WecomApi(w.apiUrl, wecom.CORP_ID, wecom.SECRET), wecom.AGENT_ID, ['lisi']);

  it('splits a long answer within 2048 bytes, keeping each cited line whole', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `来源 ${i}: runbooks/oom.md#内存不足-${i}`);
    await t().post({ channel: 'zhangsan' }, { text: lines.join('\n') });
    const parts = w.inbox('zhangsan').map((m) => m.text!);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => Buffer.byteLength(p) <= 2048)).toBe(true);
    expect(parts.join('\n')).toBe(lines.join('\n'));
  });

  it('replaces a text by recalling it and sending the new one; twice in a row too', async () => {
    const transport = t();
    const { messageId } = await transport.post({ channel: 'wangwu' }, { text: 'Working on it…' });
    await transport.update('wangwu', messageId, { text: 'still working' });
    await transport.update('wangwu', messageId, { text: 'the answer' });
    expect(w.inbox('wangwu').map((m) => m.text)).toEqual(['the answer']);
    expect(w.messages.filter((m) => m.touser.includes('wangwu') && m.recalled)).toHaveLength(2);
  });

  it('sends an image as temporary media', async () => {
    await t().upload({ channel: 'zhaoliu' }, file);
    const [m] = w.inbox('zhaoliu');
    expect(m?.msgtype).toBe('image');
    expect(w.media.get(m!.mediaId!)?.equals(Buffer.from(PNG, 'base64'))).toBe(true);
  });

  it('fetches a new access token when WeCom stops accepting the cached one', async () => {
    const transport = t();
    await transport.post({ channel: 'sunqi' }, { text: 'one' });
    w.revokeTokens();
    await expect(transport.post({ channel: 'sunqi' }, { text: 'two' })).rejects.toThrow(/40014/);
    await transport.post({ channel: 'sunqi' }, { text: 'three' });
    expect(w.inbox('sunqi').map((m) => m.text)).toEqual(['one', 'three']);
  });
});
