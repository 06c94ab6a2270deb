// Kubemate's own posts rendered per platform into the durable outbox: split within the platform's
// limit, later parts threaded where there are threads and tagged where there are none, files only
// where the platform takes them, and places written <platform>:<id> checked per platform.
import { describe, expect, it } from 'vitest';
import { announce } from '../../bots/core/announce.js';
import type { CoreContext } from '../../bots/core/context.js';
import { PLATFORM_TRAITS, parseChatTarget } from '../../bots/core/platforms.js';
import { sqliteChatStore } from '../../bots/core/store.js';
import type { OutboundOp } from '../../bots/core/types.js';

function outbox() {
  const store = sqliteChatStore(':memory:');
  const ctx = { store, outbox: { kick: () => {} } } as unknown as CoreContext;
  // Everything enqueued, in order (heads() gives only the first of each channel).
  const ops = async () => {
    const out: OutboundOp[] = [];
    for (let row = (await store.heads())[0]; row; row = (await store.heads())[0]) {
      out.push(row.op);
      await store.delivered(row.seq, `m${out.length}`);
    }
    return out;
  };
  return { ctx, ops, close: () => store.close() };
}

const file = { name: 'r.html', title: 'Report r', mimeType: 'text/html', data: 'PGh0bWw+' };
/** Sentences of about 85 bytes, each citing a finding. */
const long = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `第 ${i + 1} 条：服务没有任何端点 [F-0000${String(i).padStart(4, '0')}]，请检查。`,
  ).join('');

describe('announce', () => {
  it('on DingTalk: every part within the limit names what it is about; no file, the note instead, once', async () => {
    const o = outbox();
    await announce(
      o.ctx,
      'dingtalk',
      { channel: 'cidG==' },
      { text: long(120), tag: '[inspection d]', file, instead: 'no link' },
    );
    const ops = await o.ops();
    expect(ops.every((op) => op.op === 'post')).toBe(true);
    const texts = ops.map((op) => (op.op === 'post' ? op.message.text : ''));
    expect(texts.length).toBeGreaterThan(1);
    texts.forEach((t, i) => {
      expect(t.startsWith(`[inspection d] (${i + 1}/${texts.length})\n`)).toBe(true);
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(PLATFORM_TRAITS.dingtalk.textBytes);
    });
    expect(texts.join('').split('no link')).toHaveLength(2);
    expect(texts.at(-1)!.endsWith('\nno link')).toBe(true);
    o.close();
  });

  it('on Feishu: later parts go in the first part’s thread, untagged, then the file in the chat; no note', async () => {
    const o = outbox();
    await announce(
      o.ctx,
      'feishu',
      { channel: 'oc_1' },
      { text: long(120), tag: '[inspection d]', file, instead: 'no link' },
    );
    const ops = await o.ops();
    expect(ops.map((op) => op.op)).toEqual(['post', 'post', 'upload']);
    const [first, second, upload] = ops as [
      OutboundOp & { op: 'post' },
      OutboundOp & { op: 'post' },
      OutboundOp,
    ];
    expect(first.place).toEqual({ channel: 'oc_1' });
    expect(second.place).toEqual({ channel: 'oc_1', threadOf: first.key });
    expect(first.message.text.startsWith('第 1 条')).toBe(true);
    expect(`${first.message.text}${second.message.text}`).not.toContain('no link');
    expect(upload).toMatchObject({ op: 'upload', place: { channel: 'oc_1' }, file });
    o.close();
  });

  it('in a thread (a canary step on Slack): every part stays in that thread', async () => {
    const o = outbox();
    await announce(o.ctx, 'slack', { channel: 'C1', thread: '17.1' }, { text: long(300), tag: '[canary x]' });
    const ops = await o.ops();
    expect(ops.length).toBeGreaterThan(1);
    for (const op of ops) expect(op).toMatchObject({ op: 'post', place: { channel: 'C1', thread: '17.1' } });
    o.close();
  });
});

describe('parseChatTarget', () => {
  it('reads <platform>:<id> and says what form each platform wants', async () => {
    expect(parseChatTarget('dingtalk:dm:manager4220')).toEqual({
      platform: 'dingtalk',
      id: 'dm:manager4220',
    });
    expect(parseChatTarget('wecom:zhangsan|lisi')).toEqual({ platform: 'wecom', id: 'zhangsan|lisi' });
    expect(parseChatTarget('C0123ABCD')).toEqual({
      error:
        "'C0123ABCD' names no chat platform: write <platform>:<id> with platform one of slack, feishu, dingtalk, wecom (e.g. slack:C0123ABCD, feishu:oc_…, dingtalk:cid…==, wecom:zhangsan)",
    });
    expect(parseChatTarget('slack:general')).toEqual({
      error: "'slack:general' is not a slack place: write a channel id such as slack:C0123ABCD",
    });
  });
});
