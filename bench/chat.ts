/**
 * `npm run bench -- chat`: a signed Slack message in, the first visible reply (the "Working on it…"
 * post reaching the local Slack server) out, through fastify, signature checking, Bolt, the chat
 * core, the pipeline wrapper and the durable outbox. The model is scripted and answers at once, so
 * model time is excluded. Then 200 conversations at once (every one must get its reply and its final
 * answer), then the outbox's pace in one channel at Slack's one message per second.
 */
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { slackHttpPlugin } from '../app/bots.js';
import type { App } from '../app/wiring.js';
import { SIGNING_SECRET, slackRig } from '../test/support/chat-rig.js';
import { startScriptedOllama } from '../test/support/ollama-scripted.js';
import { eventCallback, signed, startSlackServer } from '../test/support/slack-server.js';
import { percentile } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_CHAT_MESSAGES ?? 300);
const CONCURRENT = Number(process.env.BENCH_CHAT_CONVERSATIONS ?? 200);
const PACED = 10;
const TARGET_P50 = 150;
const TARGET_P99 = 500;

export async function benchChat(): Promise<string[]> {
  const slack = await startSlackServer();
  const ollama = await startScriptedOllama();
  ollama.setChat(() => ({ content: 'Done.' }));
  const rig = slackRig({ slack, ollama, mode: 'http', extra: { outbox: { perChannelIntervalMs: 1000 } } });
  await rig.bot.start();
  const server = Fastify();
  await server.register(slackHttpPlugin, { bot: rig.bot, app: { audit: rig.audit } as unknown as App });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}/slack/events`;

  // The first chat.postMessage into a thread is its first visible reply.
  const firstReply = new Map<string, (at: number) => void>();
  slack.watch((call) => {
    if (call.method !== 'chat.postMessage' || call.status !== 200) return;
    const done = firstReply.get(String(call.args.thread_ts));
    firstReply.delete(String(call.args.thread_ts));
    done?.(performance.now());
  });
  let n = 0;
  async function ask(channel: string, text: string): Promise<number> {
    const ts = `1800000000.${String(++n).padStart(6, '0')}`;
    const replied = new Promise<number>((resolve) => firstReply.set(ts, resolve));
    const body = eventCallback(
      { type: 'app_mention', user: 'UALICE', text: `<@UBOT> ${text}`, channel, ts, event_ts: ts },
      `EvBENCH${n}`,
    );
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signed(SIGNING_SECRET, body) },
      body,
    });
    if (res.status !== 200) throw new Error(`delivery ${n} answered ${res.status}`);
    return (await replied) - started;
  }
  const settle = async () => {
    await rig.bot.core.settled();
    await rig.bot.outbox.drained();
  };

  const out: string[] = [];
  try {
    for (let i = 0; i < 20; i++) await ask(`C0WARM${i}`, 'why is api slow?'); // JIT, SQLite, sockets
    await settle();

    // 1. One message at a time, each its own channel (so pacing, measured below, does not add).
    const sequential: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await ask(`C0SEQ${i}`, 'why is api slow?'));
    await settle();
    const p50 = percentile(sequential, 50);
    const p99 = percentile(sequential, 99);
    out.push(
      `chat: inbound signed message → first visible reply, ${SEQUENTIAL} messages one at a time (scripted model, no model time)`,
      `  p50 ${p50.toFixed(1)} ms (target < ${TARGET_P50} ms: ${(p50 / TARGET_P50).toFixed(3)} of it), p99 ${p99.toFixed(1)} ms (target < ${TARGET_P99} ms: ${(p99 / TARGET_P99).toFixed(3)} of it)`,
    );

    // 2. CONCURRENT conversations at once, each in its own channel: every one gets its reply and answer.
    const before = slack.messages.length;
    const wall = performance.now();
    const concurrent = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => ask(`C0CON${i}`, 'why is api slow?')),
    );
    await settle();
    const wallMs = performance.now() - wall;
    const posted = slack.messages.slice(before);
    const answered = posted.filter(
      (m) => m.text === 'Done.' && m.history[0]?.text.startsWith('_Working on it'),
    );
    const dropped = rig.bot.store.pendingCount();
    out.push(
      `chat: ${CONCURRENT} conversations at once: ${answered.length}/${CONCURRENT} got a working reply then the answer in place (${posted.length} posts, ${dropped} pending), all done in ${wallMs.toFixed(0)} ms`,
      `  first visible reply under that load: p50 ${percentile(concurrent, 50).toFixed(1)} ms, p99 ${percentile(concurrent, 99).toFixed(1)} ms`,
    );
    if (answered.length !== CONCURRENT || posted.length !== CONCURRENT)
      throw new Error(
        `lost conversations: ${answered.length}/${CONCURRENT} answered, ${posted.length} posts`,
      );

    // 3. The outbox's pace in one channel at the default one post per second.
    const paced: number[] = [];
    slack.watch((call) => {
      if (call.method === 'chat.postMessage' && call.args.channel === 'C0PACE') paced.push(performance.now());
    });
    await Promise.all(Array.from({ length: PACED }, () => ask('C0PACE', 'help')));
    await settle();
    const gaps = paced.slice(1).map((t, i) => t - paced[i]!);
    const rate = ((paced.length - 1) * 1000) / (paced.at(-1)! - paced[0]!);
    out.push(
      `chat: outbox pace in one channel, ${PACED} replies queued at once, interval 1 s: ${paced.length} posted, least gap ${Math.min(...gaps).toFixed(0)} ms, ${rate.toFixed(2)} posts/s (Slack's limit ≈ 1/s: ${rate.toFixed(2)} of it)`,
    );
  } finally {
    await server.close();
    await rig.bot.stop();
    await ollama.close();
    await slack.close();
  }
  return out;
}
