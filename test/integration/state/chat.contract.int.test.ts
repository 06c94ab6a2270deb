// The chat store's contract, run against a SQLite file and a real PostgreSQL 15: threads, cards,
// dedupe and the outbox's claims give the same answers, and "replicas" (separate handles on one
// database) see each other's state. Two outboxes draining one store at once send every message once,
// in order per channel, one at a time per channel, paced; a sender that dies mid-send gives its
// channel up after the claim time and the message still goes out once.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../bots/core/outbox.js';
import { type ChatStore, pgChatStore, sqliteChatStore } from '../../../bots/core/store.js';
import type { ChatTransport, OutMessage, Place } from '../../../bots/core/types.js';
import { SchemaError } from '../../../state/migrations.js';
import { openSqlite } from '../../../state/sqlite.js';
import { silentLogger } from '../../../tools/core/logger.js';
import { stopStatePostgres } from '../../support/pg-state.js';
import {
  BACKENDS,
  type BackendKind,
  closeAll,
  freshPlace,
  pgState,
  type Place as StatePlace,
  track,
} from './backends.js';

const open = (place: StatePlace, platform = 'slack'): ChatStore =>
  place.kind === 'sqlite' ? track(sqliteChatStore(place.where)) : pgChatStore(pgState(place.where), platform);

const post = (channel: string, key: string, text = key) =>
  ({ op: 'post', place: { channel }, message: { text }, key }) as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A platform that records what it was sent, when, and how many calls per channel overlapped. */
class RecordingTransport implements ChatTransport {
  readonly platform = 'test';
  readonly posts: Array<{ channel: string; text: string; at: number; by: string }> = [];
  readonly overlaps: string[] = [];
  private readonly inFlight = new Set<string>();
  private n = 0;

  constructor(
    readonly name: string,
    private readonly delayMs: () => number = () => Math.random() * 8,
    private readonly hang = false,
  ) {}

  async post(place: Place, message: OutMessage): Promise<{ messageId: string }> {
    if (this.inFlight.has(place.channel)) this.overlaps.push(place.channel);
    this.inFlight.add(place.channel);
    this.posts.push({ channel: place.channel, text: message.text, at: Date.now(), by: this.name });
    try {
      if (this.hang) await new Promise(() => undefined);
      await sleep(this.delayMs());
      return { messageId: `${this.name}-${++this.n}` };
    } finally {
      this.inFlight.delete(place.channel);
    }
  }
  async findPosted(): Promise<string | undefined> {
    return undefined;
  }
  async update(): Promise<void> {}
  async upload(): Promise<void> {}
}

afterEach(closeAll);
afterAll(stopStatePostgres);

describe.each(BACKENDS)('chat store on %s', (kind: BackendKind) => {
  it('a conversation, a card and a joined thread written by one replica are found by another', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const [a, b] = [open(place), open(place)];
    expect(await b.agentThread('slack:C1:1.0', 'slack:UALICE')).toBeUndefined();
    await a.setAgentThread('slack:C1:1.0', 'slack:UALICE', 'th_1');
    expect(await b.agentThread('slack:C1:1.0', 'slack:UALICE')).toBe('th_1');
    await b.setAgentThread('slack:C1:1.0', 'slack:UALICE', 'th_2');
    expect(await a.agentThread('slack:C1:1.0', 'slack:UALICE')).toBe('th_2');
    expect(await a.agentThread('slack:C1:1.0', 'slack:UBOB')).toBeUndefined();

    expect(await b.joined('slack:C1:1.0')).toBe(false);
    await a.join('slack:C1:1.0');
    await a.join('slack:C1:1.0');
    expect(await b.joined('slack:C1:1.0')).toBe(true);

    await a.saveCard({ ticketId: 'apr_1', channel: 'C1', key: 'k1', thread: '1.0', runId: 'run_1' });
    await a.saveCard({ ticketId: 'apr_2', channel: 'C2', key: 'k2' });
    expect(await b.card('apr_1')).toEqual({
      ticketId: 'apr_1',
      channel: 'C1',
      key: 'k1',
      thread: '1.0',
      runId: 'run_1',
    });
    expect(await b.card('apr_2')).toEqual({ ticketId: 'apr_2', channel: 'C2', key: 'k2' });
    expect(await b.card('apr_3')).toBeUndefined();
    await b.cardDrawn('apr_1', 'pending');
    await b.cardDrawn('apr_2', 'executed');
    expect((await a.openCards()).map((c) => c.ticketId)).toEqual(['apr_1']);
    await a.cardDrawn('apr_1', 'rejected');
    expect(await b.openCards()).toEqual([]);
  });

  it('an event and a resume are taken once across replicas racing for them', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const stores = [open(place), open(place), open(place)];
    const seen = await Promise.all(
      stores.flatMap((s) => [s.firstSight('slack:Ev1'), s.firstSight('slack:Ev1')]),
    );
    expect(seen.filter(Boolean)).toHaveLength(1);
    const resumed = await Promise.all(stores.map((s) => s.claimResume('run_1')));
    expect(resumed.filter(Boolean)).toHaveLength(1);
    expect(await stores[0]!.claimResume('run_2')).toBe(true);
  });

  it('keeps the outbox: heads in order per channel, keys, message ids, and prunes what was sent long ago', async () => {
    const store = open(await freshPlace(kind, 'chat.db'));
    const s1 = await store.enqueue(post('C1', 'k1'));
    const s2 = await store.enqueue(post('C1', 'k2'));
    const s3 = await store.enqueue({ op: 'update', channel: 'C2', key: 'k1', message: { text: 'x' } });
    expect(s2).toBeGreaterThan(s1);
    expect((await store.heads()).map((r) => [r.channel, r.seq]).sort()).toEqual([
      ['C1', s1],
      ['C2', s3],
    ]);
    expect(await store.pendingCount()).toBe(3);
    expect(await store.hasKey('k2')).toBe(true);
    expect(await store.hasKey('k9')).toBe(false);
    expect(await store.messageIdOf('k1')).toBeUndefined();
    await store.delivered(s1, 'M1');
    expect(await store.messageIdOf('k1')).toBe('M1');
    expect(await store.channelOfPost('M1')).toBe('C1');
    expect(await store.keyOf('M1')).toBe('k1');
    await store.dropped(s3, 'gone');
    expect(await store.channelOfPost('M9')).toBeUndefined();
    expect((await store.heads()).map((r) => r.seq)).toEqual([s2]);
    expect(await store.pendingCount()).toBe(1);
    expect(await store.prune(60_000)).toBe(0);
    await sleep(20);
    expect(await store.prune(10)).toBe(2);
    expect(await store.hasKey('k1')).toBe(false);
    expect(await store.hasKey('k2')).toBe(true);
  });

  it('claims a channel for one sender at a time, paces its posts, and frees it on release or after the claim time', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const [a, b] = [open(place), open(place)];
    await a.enqueue(post('C1', 'k1'));
    await a.enqueue(post('C1', 'k2'));
    await a.enqueue(post('C2', 'k3'));
    const now = Date.now();
    const first = await a.claim('A', 60_000, 1000, now);
    expect(first.rows.map((r) => r.key).sort()).toEqual(['k1', 'k3']);
    // Both channels are A's: B gets nothing, even for the second message of C1.
    expect((await b.claim('B', 60_000, 1000, now)).rows).toEqual([]);
    const [k1] = first.rows.filter((r) => r.key === 'k1');
    await a.delivered(k1!.seq, 'M1');
    await b.release('C1', 'B'); // not B's claim: nothing changes
    expect((await b.claim('B', 60_000, 1000, now + 1)).rows).toEqual([]);
    await a.release('C1', 'A');
    // C1 is free, but its last post was at `now`: the next waits for the interval.
    const paced = await b.claim('B', 60_000, 1000, now + 10);
    expect(paced.rows).toEqual([]);
    expect(paced.wakeAt).toBe(now + 1000);
    expect((await b.claim('B', 60_000, 1000, now + 1000)).rows.map((r) => r.key)).toEqual(['k2']);
    // C2 is still A's until its claim runs out (A stopped mid-send): then B takes it.
    expect((await b.claim('B', 60_000, 1000, now + 59_999)).rows).toEqual([]);
    const taken = await b.claim('B', 60_000, 1000, now + 60_000);
    expect(taken.rows.map((r) => r.key)).toEqual(['k3']);
  });

  it('two outboxes draining one store at once send every message once, in order per channel, one at a time, paced', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const [a, b] = [open(place), open(place)];
    const channels = ['C1', 'C2', 'C3', 'C4'];
    const PER_CHANNEL = 15;
    const INTERVAL = 40;
    for (let i = 0; i < PER_CHANNEL; i++)
      for (const c of channels) await (i % 2 ? a : b).enqueue(post(c, `${c}-${i}`, `${c} ${i}`));
    const ta = new RecordingTransport('a');
    const tb = new RecordingTransport('b');
    const options = { perChannelIntervalMs: INTERVAL, backoffBaseMs: 10, backoffMaxMs: 50, pollMs: 20 };
    const oa = new Outbox(a, ta, silentLogger, options);
    const ob = new Outbox(b, tb, silentLogger, options);
    oa.start();
    ob.start();
    await Promise.all([oa.drained(), ob.drained()]);
    oa.stop();
    ob.stop();
    const posts = [...ta.posts, ...tb.posts].sort((x, y) => x.at - y.at);
    expect(posts).toHaveLength(channels.length * PER_CHANNEL);
    expect(new Set(posts.map((p) => p.text)).size).toBe(posts.length);
    for (const c of channels) {
      const mine = posts.filter((p) => p.channel === c);
      expect(mine.map((p) => p.text)).toEqual(Array.from({ length: PER_CHANNEL }, (_, i) => `${c} ${i}`));
      // Paced from when each post began (the clock may tick between the outbox's reading and ours).
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL - 1);
    }
    expect([...ta.overlaps, ...tb.overlaps]).toEqual([]);
    // Both senders did part of the work.
    expect(ta.posts.length).toBeGreaterThan(0);
    expect(tb.posts.length).toBeGreaterThan(0);
    expect(await a.pendingCount()).toBe(0);
  });

  it('a sender that dies mid-send holds its channel until the claim time, then another sends the message once', async () => {
    const place = await freshPlace(kind, 'chat.db');
    const [a, b] = [open(place), open(place)];
    await a.enqueue(post('C1', 'k1', 'first'));
    await a.enqueue(post('C1', 'k2', 'second'));
    const CLAIM = 800;
    const dying = new RecordingTransport('a', undefined, true);
    const oa = new Outbox(a, dying, silentLogger, { perChannelIntervalMs: 0, claimMs: CLAIM, pollMs: 20 });
    oa.start();
    while (dying.posts.length === 0) await sleep(5);
    const claimedAt = dying.posts[0]!.at;
    oa.stop(); // the process is gone; its post never returns, its claim is never released
    const tb = new RecordingTransport('b');
    const ob = new Outbox(b, tb, silentLogger, { perChannelIntervalMs: 0, claimMs: CLAIM, pollMs: 20 });
    ob.start();
    await ob.drained();
    ob.stop();
    expect(tb.posts.map((p) => p.text)).toEqual(['first', 'second']);
    expect(tb.posts[0]!.at - claimedAt).toBeGreaterThanOrEqual(CLAIM - 50);
    expect(await b.messageIdOf('k1')).toBe('b-1');
  });
});

describe.each(BACKENDS)('chat store schema on %s', (kind: BackendKind) => {
  it('refuses a database whose chat schema is newer than this code', async () => {
    const place = await freshPlace(kind, 'chat.db');
    await open(place).pendingCount();
    await place.setVersion('chat', 99);
    await expect((async () => open(place).pendingCount())()).rejects.toBeInstanceOf(SchemaError);
  });
});

describe('chat store on a SQLite file from before versioned schemas', () => {
  it('moves every row into the new tables and keeps delivering what was pending', async () => {
    const place = await freshPlace('sqlite', 'chat.db');
    const db = openSqlite(place.where);
    db.exec(`
      CREATE TABLE seen (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, key TEXT NOT NULL,
        op_json TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', message_id TEXT, last_error TEXT);
      CREATE TABLE threads (place TEXT NOT NULL, principal_id TEXT NOT NULL, agent_thread TEXT NOT NULL,
        PRIMARY KEY (place, principal_id));
      CREATE TABLE cards (ticket_id TEXT PRIMARY KEY, channel TEXT NOT NULL, key TEXT NOT NULL, thread TEXT, run_id TEXT);
      CREATE TABLE card_views (ticket_id TEXT PRIMARY KEY, status TEXT NOT NULL);
      CREATE TABLE resumed (run_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE joined (place TEXT PRIMARY KEY, at INTEGER NOT NULL);`);
    const now = Date.now();
    const ins = db.prepare(
      'INSERT INTO outbox (channel, key, op_json, next_at, status, message_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    ins.run('C1', 'k1', JSON.stringify(post('C1', 'k1', 'old')), now, 'sent', 'M1');
    ins.run('C1', 'k2', JSON.stringify(post('C1', 'k2', 'pending')), now, 'pending', null);
    db.prepare('INSERT INTO seen VALUES (?, ?)').run('slack:Ev1', now);
    db.prepare('INSERT INTO threads VALUES (?, ?, ?)').run('slack:C1:1.0', 'slack:UALICE', 'th_1');
    db.prepare('INSERT INTO cards VALUES (?, ?, ?, ?, ?)').run('apr_1', 'C1', 'k1', '1.0', 'run_1');
    db.prepare('INSERT INTO card_views VALUES (?, ?)').run('apr_1', 'pending');
    db.prepare('INSERT INTO resumed VALUES (?, ?)').run('run_0', now);
    db.prepare('INSERT INTO joined VALUES (?, ?)').run('slack:C1:1.0', now);
    db.close();

    const store = open(place);
    expect(await store.messageIdOf('k1')).toBe('M1');
    expect(await store.channelOfPost('M1')).toBe('C1');
    expect(await store.firstSight('slack:Ev1')).toBe(false);
    expect(await store.agentThread('slack:C1:1.0', 'slack:UALICE')).toBe('th_1');
    expect(await store.openCards()).toEqual([
      { ticketId: 'apr_1', channel: 'C1', key: 'k1', thread: '1.0', runId: 'run_1' },
    ]);
    expect(await store.claimResume('run_0')).toBe(false);
    expect(await store.joined('slack:C1:1.0')).toBe(true);
    const seq = await store.enqueue(post('C1', 'k3'));
    expect(seq).toBe(3); // numbering carries on after the old rows
    const t = new RecordingTransport('new');
    const outbox = new Outbox(store, t, silentLogger, { perChannelIntervalMs: 0 });
    outbox.start();
    await outbox.drained();
    await outbox.stop();
    expect(t.posts.map((p) => p.text)).toEqual(['pending', 'k3']);
    const check = openSqlite(place.where);
    const tables = (
      check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
    ).map((r) => r.name);
    check.close();
    for (const old of ['seen', 'outbox', 'threads', 'cards', 'card_views', 'resumed', 'joined'])
      expect(tables).not.toContain(old);
  });
});
