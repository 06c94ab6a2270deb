// A sender whose transport cannot send now (the WeCom robot before its connection is subscribed, or on
// a replica that does not hold the connection) claims nothing: its messages wait in the store, their
// attempts untouched, and go out once the transport is ready.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../bots/core/outbox.js';
import { sqliteChatStore } from '../../bots/core/store.js';
import type { ChatTransport } from '../../bots/core/types.js';
import { silentLogger } from '../../tools/core/logger.js';

describe('the outbox with a transport that is not ready', () => {
  it('sends nothing until the transport is ready, then everything once, in order', async () => {
    const store = sqliteChatStore(join(mkdtempSync(join(tmpdir(), 'kubemate-outbox-ready-')), 'chat.db'));
    let ready = false;
    const sent: string[] = [];
    const transport: ChatTransport = {
      platform: 'test',
      ready: () => ready,
      async post(_place, message) {
        if (!ready) throw new Error('not connected');
        sent.push(message.text);
        return { messageId: `m${sent.length}` };
      },
      async update() {},
      async upload() {},
    };
    for (const text of ['one', 'two', 'three'])
      await store.enqueue({ op: 'post', place: { channel: 'C1' }, message: { text }, key: `k_${text}` });
    const outbox = new Outbox(store, transport, silentLogger, {
      perChannelIntervalMs: 0,
      pollMs: 20,
      maxAttempts: 2,
      backoffBaseMs: 10,
      backoffMaxMs: 20,
    });
    outbox.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toEqual([]);
    // Nothing was tried (two attempts would have dropped a message), nothing was given up.
    expect(await store.pendingCount()).toBe(3);
    ready = true;
    await outbox.drained();
    await outbox.stop();
    expect(sent).toEqual(['one', 'two', 'three']);
    store.close();
  });
});

describe('stopping the outbox', () => {
  it('waits for a post under way and records it, so closing the store after it loses nothing', async () => {
    const store = sqliteChatStore(join(mkdtempSync(join(tmpdir(), 'kubemate-outbox-stop-')), 'chat.db'));
    let began = false;
    const transport: ChatTransport = {
      platform: 'test',
      async post() {
        began = true;
        await new Promise((r) => setTimeout(r, 150));
        return { messageId: 'M1' };
      },
      async update() {},
      async upload() {},
    };
    await store.enqueue({ op: 'post', place: { channel: 'C1' }, message: { text: 'slow' }, key: 'k_slow' });
    const outbox = new Outbox(store, transport, silentLogger, { perChannelIntervalMs: 0, pollMs: 10 });
    outbox.start();
    while (!began) await new Promise((r) => setTimeout(r, 5));
    await outbox.stop();
    // Recorded before stop resolved: the store can be closed now and the post is not sent again.
    expect(await store.messageIdOf('k_slow')).toBe('M1');
    expect(await store.pendingCount()).toBe(0);
    store.close();
  });
});

describe('a restart after the process was killed mid-send (SQLite)', () => {
  it('releases the channels the dead process claimed, so the new one sends at once', async () => {
    const store = sqliteChatStore(join(mkdtempSync(join(tmpdir(), 'kubemate-outbox-kill-')), 'chat.db'));
    await store.enqueue({ op: 'post', place: { channel: 'C1' }, message: { text: 'a' }, key: 'k_a' });
    await store.enqueue({ op: 'post', place: { channel: 'C1' }, message: { text: 'b' }, key: 'k_b' });
    // The killed process had claimed the channel for two minutes.
    expect((await store.claim('dead-process', 120_000, 0)).rows).toHaveLength(1);
    const sent: string[] = [];
    const transport: ChatTransport = {
      platform: 'test',
      async post(_place, message) {
        sent.push(message.text);
        return { messageId: `m${sent.length}` };
      },
      async update() {},
      async upload() {},
    };
    const outbox = new Outbox(store, transport, silentLogger, { perChannelIntervalMs: 0, pollMs: 10 });
    outbox.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toEqual([]); // held by the dead claim
    expect(await store.releaseClaims()).toBe(1);
    outbox.kick();
    await outbox.drained();
    await outbox.stop();
    expect(sent).toEqual(['a', 'b']);
    expect(await store.releaseClaims()).toBe(0);
    store.close();
  });
});
