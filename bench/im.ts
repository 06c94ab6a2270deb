/**
 * `npm run bench -- im`: per enterprise IM platform (Feishu/Lark webhook mode, WeCom callbacks,
 * DingTalk's HTTP robot callback and Stream frames),
 * 1. decrypt + verify + dispatch of one inbound message: the adapter's request handler, from the raw
 *    body and headers to the event handed to the chat core (signature, freshness, AES decryption,
 *    parsing), then the chat core's dispatch until it settles (dedupe in SQLite, the command run, its
 *    reply queued in the outbox; the outbox's sending is not counted); target p99 < 5 ms;
 * 2. first visible reply: an encrypted, signed delivery over HTTP to Kubemate's fastify route until
 *    the bot's first message reaches the local platform server (the reply to the question); the
 *    model is scripted and answers at once, so model time is excluded; target p50 < 200 ms.
 * Deliveries are built (encrypted and signed) before the clock starts. The adapter alone (no core)
 * is also timed, to tell the cryptography from the core's SQLite writes.
 */
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { dingtalkHttpPlugin, feishuHttpPlugin, wecomHttpPlugin } from '../app/bots.js';
import type { App } from '../app/wiring.js';
import { createDingtalkBot, type DingtalkBot } from '../bots/dingtalk/bot.js';
import { TOPIC_ROBOT } from '../bots/dingtalk/inbound.js';
import { handleDingtalkCallback } from '../bots/dingtalk/webhook.js';
import { createFeishuBot, type FeishuBot } from '../bots/feishu/bot.js';
import { handleFeishuRequest } from '../bots/feishu/webhook.js';
import { createWecomAibot } from '../bots/wecom/aibot-bot.js';
import { createWecomBot, type WecomBot } from '../bots/wecom/bot.js';
import { aesKeyOf } from '../bots/wecom/crypto.js';
import { frameSchema } from '../bots/wecom/long-connection.js';
import { handleWecomCallback } from '../bots/wecom/webhook.js';
import { ApprovalStore } from '../policies/approvals.js';
import { makeAgent, ollamaAt, tempDir } from '../test/support/agent-harness.js';
import * as dingtalkWire from '../test/support/dingtalk-server.js';
import { countingTools } from '../test/support/fake-tools.js';
import * as feishuWire from '../test/support/feishu-server.js';
import { startScriptedOllama } from '../test/support/ollama-scripted.js';
import { testPipeline } from '../test/support/pipeline.js';
import { engineFrom } from '../test/support/policy.js';
import * as robotWire from '../test/support/wecom-aibot-server.js';
import * as wecomWire from '../test/support/wecom-server.js';
import { approvalTools } from '../tools/approvals/index.js';
import { silentLogger } from '../tools/core/logger.js';
import { percentile } from './stats.js';

const DISPATCH = Number(process.env.BENCH_IM_DISPATCH ?? 500);
const REPLIES = Number(process.env.BENCH_IM_REPLIES ?? 200);
const TARGET_DISPATCH_P99 = 5;
/** BENCH_IM_PLATFORMS=wecom-ws,feishu runs only those (default: all). */
const only = (platform: string) =>
  !process.env.BENCH_IM_PLATFORMS || process.env.BENCH_IM_PLATFORMS.split(',').includes(platform);
const TARGET_REPLY_P50 = 200;

const POLICY = `
version: 1
identities:
  alice: [feishu:ou_alice, wecom:alice, dingtalk:alice01]
bindings:
  - subjects: [alice]
    roles: [operator]
`;

function shared(ollamaUrl: string) {
  const { tools } = countingTools();
  const { pipeline, audit } = testPipeline({
    tools: [...tools, ...approvalTools],
    policy: engineFrom(POLICY),
    approvals: new ApprovalStore(':memory:', 60_000),
  });
  let agent: ReturnType<typeof makeAgent>['agent'] | undefined;
  return {
    pipeline,
    audit,
    agent: (guarded: typeof pipeline) => {
      agent ??= makeAgent({ pipeline: guarded, llm: ollamaAt(ollamaUrl) }).agent;
      return agent;
    },
  };
}

const line = (platform: string, what: string, samples: number[], p: 50 | 99, target: number) => {
  const v = percentile(samples, p);
  return `  ${platform}: ${what}, ${samples.length} messages: p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (target p${p} < ${target} ms: ${(v / target).toFixed(3)} of it)`;
};

/** A reply that never comes fails the benchmark instead of hanging it. */
const within = (p: Promise<number>, what: string) =>
  Promise.race([
    p,
    new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no reply within 10 s`)), 10_000).unref(),
    ),
  ]);

/**
 * First visible replies: `ask(i)` posts question i over HTTP and returns once it was answered, with
 * when it was sent and a promise of when its reply reached the platform server. The first 20 warm up;
 * each is settled before the next.
 */
async function firstReplies(
  ask: (i: number) => Promise<{ sentAt: number; replied: Promise<number> }>,
  settle: () => Promise<void>,
): Promise<number[]> {
  const first: number[] = [];
  for (let i = 0; i < REPLIES + 20; i++) {
    const { sentAt, replied } = await ask(i);
    const ms = (await within(replied, 'first reply')) - sentAt;
    if (i >= 20) first.push(ms);
    await settle();
  }
  return first;
}

/** One delivery over HTTP, as the platform sends it; anything but 200 fails the benchmark. */
async function deliverOverHttp(platform: string, url: string, headers: Record<string, string>, body: string) {
  const res = await fetch(url, { method: 'POST', headers, body });
  if (res.status !== 200) throw new Error(`${platform} delivery answered ${res.status}`);
}

async function listen(register: (f: ReturnType<typeof Fastify>) => Promise<void>) {
  const server = Fastify();
  await register(server);
  await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, base: `http://127.0.0.1:${(server.server.address() as { port: number }).port}` };
}

async function benchFeishu(ollamaUrl: string): Promise<string[]> {
  const remote = await feishuWire.startFeishuServer();
  const s = shared(ollamaUrl);
  const bot: FeishuBot = createFeishuBot({
    apiUrl: remote.apiUrl,
    appId: feishuWire.APP_ID,
    appSecret: feishuWire.APP_SECRET,
    encryptKey: feishuWire.ENCRYPT_KEY,
    verificationToken: feishuWire.VERIFICATION_TOKEN,
    chats: [],
    defaultAllowWrites: false,
    dataDir: tempDir('kubemate-bench-feishu-'),
    outbox: { perChannelIntervalMs: 0 },
    pipeline: s.pipeline,
    agent: s.agent,
    audit: s.audit,
    logger: silentLogger,
  });
  await bot.start();
  const { server, base } = await listen((f) =>
    f.register(feishuHttpPlugin, { bot, app: { audit: s.audit } as unknown as App }),
  );
  const settle = async () => {
    await bot.core.settled();
    await bot.outbox.drained();
  };
  try {
    const deliveries = Array.from({ length: DISPATCH + 50 }, (_, i) => {
      const payload = feishuWire.messageReceived({
        user: 'ou_alice',
        chat: `oc_d${i}`,
        chatType: 'p2p',
        text: 'help',
        mentionBot: false,
      });
      remote.sent(payload); // the person's message exists on Feishu, so the reply can name it
      return feishuWire.feishuDelivery(payload);
    });
    // The adapter alone (verify, decrypt, parse, normalise), the event handed to a no-op.
    const adapterOnly: number[] = [];
    const options = {
      appId: feishuWire.APP_ID,
      encryptKey: feishuWire.ENCRYPT_KEY,
      verificationToken: feishuWire.VERIFICATION_TOKEN,
      botOpenId: () => feishuWire.BOT_OPEN_ID,
    };
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      handleFeishuRequest(options, d.body, d.headers, () => {});
      if (i >= 50) adapterOnly.push(performance.now() - t);
    }
    const dispatch: number[] = [];
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      const a = bot.handle(d.body, d.headers);
      await bot.core.settled(); // the core's dispatch too: dedupe, the command, its reply queued
      const ms = performance.now() - t;
      if (a.status !== 200) throw new Error(`feishu delivery answered ${a.status}`);
      if (i >= 50) dispatch.push(ms); // the first 50 warm up
      await settle();
    }

    const waiters = new Map<string, (at: number) => void>();
    remote.watch((m) => waiters.get(m.chat_id)?.(performance.now()));
    const first = await firstReplies(async (i) => {
      const chat = `oc_r${i}`;
      const payload = feishuWire.messageReceived({
        user: 'ou_alice',
        chat,
        chatType: 'p2p',
        text: 'why is api slow?',
        mentionBot: false,
      });
      remote.sent(payload);
      const d = feishuWire.feishuDelivery(payload);
      const replied = new Promise<number>((r) => waiters.set(chat, r));
      const sentAt = performance.now();
      await deliverOverHttp('feishu', `${base}/feishu/events`, d.headers, d.body);
      return { sentAt, replied };
    }, settle);
    return [
      line('feishu', 'decrypt + verify (adapter alone)', adapterOnly, 99, TARGET_DISPATCH_P99),
      line('feishu', 'decrypt + verify + dispatch', dispatch, 99, TARGET_DISPATCH_P99),
      line('feishu', 'first visible reply over HTTP (scripted model)', first, 50, TARGET_REPLY_P50),
    ];
  } finally {
    await server.close();
    await bot.stop();
    await remote.close();
  }
}

async function benchWecom(ollamaUrl: string): Promise<string[]> {
  const remote = await wecomWire.startWecomServer();
  const s = shared(ollamaUrl);
  const bot: WecomBot = createWecomBot({
    apiUrl: remote.apiUrl,
    corpId: wecomWire.CORP_ID,
    agentId: wecomWire.AGENT_ID,
    secret: wecomWire.SECRET,
    token: wecomWire.TOKEN,
    encodingAesKey: wecomWire.AES_KEY,
    approvers: [],
    allowWrites: false,
    dataDir: tempDir('kubemate-bench-wecom-'),
    outbox: { perChannelIntervalMs: 0 },
    pipeline: s.pipeline,
    agent: s.agent,
    audit: s.audit,
    logger: silentLogger,
  });
  await bot.start();
  const { server, base } = await listen((f) =>
    f.register(wecomHttpPlugin, { bot, app: { audit: s.audit } as unknown as App }),
  );
  const settle = async () => {
    await bot.core.settled();
    await bot.outbox.drained();
  };
  try {
    const deliveries = Array.from({ length: DISPATCH + 50 }, () =>
      wecomWire.wecomCallback(wecomWire.textMessage({ user: 'alice', text: 'help' })),
    );
    const adapterOnly: number[] = [];
    const options = {
      corpId: wecomWire.CORP_ID,
      agentId: wecomWire.AGENT_ID,
      token: wecomWire.TOKEN,
      aesKey: aesKeyOf(wecomWire.AES_KEY),
    };
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      handleWecomCallback(
        options,
        d.query,
        d.body,
        () => {},
        () => {},
      );
      if (i >= 50) adapterOnly.push(performance.now() - t);
    }
    const dispatch: number[] = [];
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      const a = bot.handle(d.query, d.body);
      await bot.core.settled(); // the core's dispatch too: dedupe, the command, its reply queued
      const ms = performance.now() - t;
      if (a.status !== 200) throw new Error(`wecom callback answered ${a.status}`);
      if (i >= 50) dispatch.push(ms);
      await settle();
    }

    // One question at a time, settled before the next: the first message to alice after a delivery is its reply.
    let next: ((at: number) => void) | undefined;
    remote.watch((m) => {
      if (!m.touser.includes('alice')) return;
      next?.(performance.now());
      next = undefined;
    });
    const first = await firstReplies(async () => {
      const d = wecomWire.wecomCallback(wecomWire.textMessage({ user: 'alice', text: 'why is api slow?' }));
      const replied = new Promise<number>((r) => {
        next = r;
      });
      const sentAt = performance.now();
      const url = `${base}/wecom/callback?${new URLSearchParams(d.query)}`;
      await deliverOverHttp('wecom', url, { 'content-type': 'text/xml' }, d.body);
      return { sentAt, replied };
    }, settle);
    return [
      line('wecom', 'decrypt + verify (adapter alone)', adapterOnly, 99, TARGET_DISPATCH_P99),
      line('wecom', 'decrypt + verify + dispatch', dispatch, 99, TARGET_DISPATCH_P99),
      line('wecom', 'first visible reply over HTTP (scripted model)', first, 50, TARGET_REPLY_P50),
    ];
  } finally {
    await server.close();
    await bot.stop();
    await remote.close();
  }
}

/**
 * WeCom's intelligent robot over its long connection: parse + validate + dispatch of a callback frame
 * (what the connection does with each text frame), and the first visible reply over the socket.
 */
async function benchWecomRobot(ollamaUrl: string): Promise<string[]> {
  const remote = await robotWire.startWecomAibotServer();
  const s = shared(ollamaUrl);
  const bot = createWecomAibot({
    url: remote.url,
    botId: robotWire.BOT_ID,
    secret: robotWire.BOT_SECRET,
    allowWrites: false,
    dataDir: tempDir('kubemate-bench-wecom-robot-'),
    outbox: { perChannelIntervalMs: 0 },
    pipeline: s.pipeline,
    agent: s.agent,
    audit: s.audit,
    logger: silentLogger,
  });
  await bot.start();
  const settle = async () => {
    await bot.core.settled();
    await bot.outbox.drained();
  };
  try {
    const frames = Array.from({ length: DISPATCH + 50 }, () =>
      remote.messageFrame({ user: 'alice', text: 'help' }),
    );
    const dispatch: number[] = [];
    for (const [i, raw] of frames.entries()) {
      const t = performance.now();
      bot.onCallback(frameSchema.parse(JSON.parse(raw)));
      await bot.core.settled(); // the core's dispatch too: dedupe, the command, its reply queued
      const ms = performance.now() - t;
      if (i >= 50) dispatch.push(ms);
      await settle();
    }
    let next: { reqId: string; done: (at: number) => void } | undefined;
    remote.watch((reqId) => {
      if (next?.reqId !== reqId) return;
      next.done(performance.now());
      next = undefined;
    });
    // The first reply a question gets is the one on its req_id; each is settled before the next.
    const first = await firstReplies(async () => {
      const sentAt = performance.now();
      const { reqId } = remote.pushMessage({ user: 'alice', text: 'why is api slow?' });
      const replied = new Promise<number>((done) => {
        next = { reqId, done };
      });
      return { sentAt, replied };
    }, settle);
    return [
      line('wecom (long connection)', 'parse + validate + dispatch', dispatch, 99, TARGET_DISPATCH_P99),
      line(
        'wecom (long connection)',
        'first visible reply over the socket (scripted model)',
        first,
        50,
        TARGET_REPLY_P50,
      ),
    ];
  } finally {
    await bot.stop();
    await remote.close();
  }
}

async function benchDingtalk(ollamaUrl: string): Promise<string[]> {
  const remote = await dingtalkWire.startDingtalkServer();
  const s = shared(ollamaUrl);
  const bot: DingtalkBot = createDingtalkBot({
    mode: 'http',
    apiUrl: remote.apiUrl,
    webhookOrigin: remote.apiUrl,
    clientId: dingtalkWire.CLIENT_ID,
    clientSecret: dingtalkWire.CLIENT_SECRET,
    robotCode: dingtalkWire.CLIENT_ID,
    cardTemplateId: dingtalkWire.CARD_TEMPLATE,
    chats: [],
    defaultAllowWrites: false,
    dataDir: tempDir('kubemate-bench-dingtalk-'),
    outbox: { perChannelIntervalMs: 0 },
    pipeline: s.pipeline,
    agent: s.agent,
    audit: s.audit,
    logger: silentLogger,
  });
  await bot.start();
  const { server, base } = await listen((f) =>
    f.register(dingtalkHttpPlugin, { bot, app: { audit: s.audit } as unknown as App }),
  );
  const settle = async () => {
    await bot.core.settled();
    await bot.outbox.drained();
  };
  const message = (text: string, group?: string) =>
    dingtalkWire.robotMessage({ server: remote, user: 'alice01', text, ...(group ? { group } : {}) });
  try {
    // DingTalk's sign covers only the timestamp and each signature is accepted once, so every
    // delivery carries its own millisecond, as deliveries from DingTalk do.
    const base0 = Date.now() - (DISPATCH + 50);
    const deliveries = Array.from({ length: DISPATCH + 50 }, (_, i) =>
      dingtalkWire.httpCallback(message('help'), { timestamp: base0 + i }),
    );
    const adapterOnly: number[] = [];
    const options = { appSecret: dingtalkWire.CLIENT_SECRET, robotCode: dingtalkWire.CLIENT_ID };
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      handleDingtalkCallback(options, d.body, d.headers, () => {});
      if (i >= 50) adapterOnly.push(performance.now() - t);
    }
    const dispatch: number[] = [];
    for (const [i, d] of deliveries.entries()) {
      const t = performance.now();
      const a = bot.handle(d.body, d.headers);
      await bot.core.settled(); // the core's dispatch too: dedupe, the command, its reply queued
      const ms = performance.now() - t;
      if (a.status !== 200) throw new Error(`dingtalk callback answered ${a.status}`);
      if (i >= 50) dispatch.push(ms);
      await settle();
    }
    // A Stream frame as the SDK hands it to the listener: parse, validate, dispatch (no signature: the socket is authenticated).
    const frames = Array.from({ length: DISPATCH + 50 }, () => ({
      specVersion: '1.0',
      type: 'CALLBACK',
      headers: {
        appId: 'a',
        connectionId: 'c',
        contentType: 'application/json',
        messageId: `m${Math.random()}`,
        time: String(Date.now()),
        topic: TOPIC_ROBOT,
      },
      data: JSON.stringify(message('help')),
    }));
    const stream: number[] = [];
    for (const [i, f] of frames.entries()) {
      const t = performance.now();
      bot.onFrame(f);
      await bot.core.settled();
      if (i >= 50) stream.push(performance.now() - t);
      await settle();
    }

    const waiters = new Map<string, (at: number) => void>();
    remote.watch((m) => waiters.get(m.channel)?.(performance.now()));
    const first = await firstReplies(async (i) => {
      const group = `cidBenchR${i}`;
      const d = dingtalkWire.httpCallback(message('why is api slow?', group));
      const replied = new Promise<number>((r) => waiters.set(group, r));
      const sentAt = performance.now();
      await deliverOverHttp('dingtalk', `${base}/dingtalk/callback`, d.headers, d.body);
      return { sentAt, replied };
    }, settle);
    return [
      line('dingtalk', 'verify (HTTP callback, adapter alone)', adapterOnly, 99, TARGET_DISPATCH_P99),
      line('dingtalk', 'verify + dispatch (HTTP callback)', dispatch, 99, TARGET_DISPATCH_P99),
      line('dingtalk', 'parse + dispatch (Stream frame)', stream, 99, TARGET_DISPATCH_P99),
      line('dingtalk', 'first visible reply over HTTP (scripted model)', first, 50, TARGET_REPLY_P50),
    ];
  } finally {
    await server.close();
    await bot.stop();
    await remote.close();
  }
}

export async function benchIm(): Promise<string[]> {
  const ollama = await startScriptedOllama();
  ollama.setChat(() => ({ content: 'Done.' }));
  try {
    return [
      'im: enterprise IM adapters on the chat core (local platform servers speaking the wire format)',
      ...(only('feishu') ? await benchFeishu(ollama.url) : []),
      ...(only('wecom') ? await benchWecom(ollama.url) : []),
      ...(only('wecom-ws') ? await benchWecomRobot(ollama.url) : []),
      ...(only('dingtalk') ? await benchDingtalk(ollama.url) : []),
    ];
  } finally {
    await ollama.close();
  }
}
