import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { buildAgent } from '../agent/index.js';
import { RefusedDeliveries } from '../bots/core/people.js';
import { createDingtalkBot, type DingtalkBot } from '../bots/dingtalk/bot.js';
import { createFeishuBot, type FeishuBot } from '../bots/feishu/bot.js';
import { createSlackBot, type SlackBot } from '../bots/slack/bot.js';
import { createWecomAibot, type WecomAibotBot } from '../bots/wecom/aibot-bot.js';
import { createWecomBot, type WecomBot } from '../bots/wecom/bot.js';
import {
  dingtalkSecrets,
  feishuSecrets,
  slackSecrets,
  wecomRobotSecrets,
  wecomSecrets,
} from './bots-config.js';
import type { App } from './wiring.js';

export interface Bots {
  slack?: SlackBot;
  feishu?: FeishuBot;
  /** Callback mode (a self-built app) or long-connection mode (an intelligent robot). */
  wecom?: WecomBot | WecomAibotBot;
  dingtalk?: DingtalkBot;
}

/** The configured chat bots, built on the app's one pipeline, agent and audit log. */
export function buildBots(app: App): Bots {
  const bots: Bots = {
    ...(app.config.bots.slack.enabled ? { slack: buildSlack(app) } : {}),
    ...(app.config.bots.feishu.enabled ? { feishu: buildFeishu(app) } : {}),
    ...(app.config.bots.wecom.enabled ? { wecom: buildWecom(app) } : {}),
    ...(app.config.bots.dingtalk.enabled ? { dingtalk: buildDingtalk(app) } : {}),
  };
  for (const [platform, bot] of Object.entries(bots) as Array<
    [string, SlackBot | FeishuBot | WecomBot | WecomAibotBot]
  >) {
    app.metrics.service.watchDepth('outbox', () => bot.store.pendingCount(), platform);
  }
  return bots;
}

/** One chat agent per bot, on that bot's channel-guarded pipeline; the runs share agent.db. */
function chatAgentFor(app: App) {
  let chatAgent: ReturnType<typeof buildAgent> | undefined;
  return {
    agent: (pipeline: Parameters<typeof buildAgent>[0]['pipeline']) => {
      chatAgent ??= buildAgent({
        dataDir: app.config.dataDir,
        ...(app.pgState ? { pgState: app.pgState } : {}),
        llm: app.config.llm,
        agent: app.config.agent,
        pipeline,
        runbooks: app.runbooks,
        logger: app.logger.child({ component: 'agent' }),
      });
      return chatAgent.agent;
    },
    onStop: () => {
      chatAgent?.close();
      chatAgent = undefined;
    },
  };
}

/** What every bot takes from the app: its data folder or shared state, pipeline, agent, audit and log. */
function onTheApp(app: App) {
  return {
    dataDir: app.config.dataDir,
    ...(app.pgState ? { pgState: app.pgState } : {}),
    pipeline: app.pipeline,
    ...chatAgentFor(app),
    audit: app.audit,
    logger: app.logger,
  };
}

/** A configured channel or chat, as the chat core binds it. */
function binding(ch: { id: string; allowWrites: boolean; cluster?: string; namespace?: string }) {
  return {
    channel: ch.id,
    allowWrites: ch.allowWrites,
    ...(ch.cluster ? { cluster: ch.cluster } : {}),
    ...(ch.namespace ? { namespace: ch.namespace } : {}),
  };
}

function buildFeishu(app: App): FeishuBot {
  const c = app.config.bots.feishu;
  return createFeishuBot({
    ...feishuSecrets(c),
    mode: c.mode,
    chats: c.chats.map(binding),
    defaultAllowWrites: c.defaultAllowWrites,
    outbox: { perChannelIntervalMs: c.perChatIntervalSeconds * 1000 },
    ...onTheApp(app),
  });
}

function buildDingtalk(app: App): DingtalkBot {
  const c = app.config.bots.dingtalk;
  return createDingtalkBot({
    ...dingtalkSecrets(c),
    mode: c.mode,
    chats: c.chats.map(binding),
    defaultAllowWrites: c.defaultAllowWrites,
    outbox: { perChannelIntervalMs: c.perChatIntervalSeconds * 1000 },
    ...onTheApp(app),
  });
}

function buildWecom(app: App): WecomBot | WecomAibotBot {
  const c = app.config.bots.wecom;
  if (c.mode === 'long-connection')
    return createWecomAibot({
      ...wecomRobotSecrets(c),
      allowWrites: c.allowWrites,
      outbox: { perChannelIntervalMs: c.perUserIntervalSeconds * 1000 },
      ...onTheApp(app),
    });
  return createWecomBot({
    ...wecomSecrets(c),
    approvers: c.approvers,
    allowWrites: c.allowWrites,
    outbox: { perChannelIntervalMs: c.perUserIntervalSeconds * 1000 },
    ...onTheApp(app),
  });
}

function buildSlack(app: App): SlackBot {
  const c = app.config.bots.slack;
  const secrets = slackSecrets(c);
  const slack = createSlackBot({
    mode: c.mode,
    botToken: secrets.botToken,
    ...(secrets.signingSecret ? { signingSecret: secrets.signingSecret } : {}),
    ...(secrets.appToken ? { appToken: secrets.appToken } : {}),
    apiUrl: c.apiUrl,
    channels: c.channels.map(binding),
    defaultAllowWrites: c.defaultAllowWrites,
    outbox: { perChannelIntervalMs: c.perChannelIntervalSeconds * 1000 },
    ...onTheApp(app),
  });
  return slack;
}

/**
 * Slack's Events API, interactivity and slash commands at POST /slack/events (one URL for all three,
 * as in the manifest). The raw body is kept: the signature covers the exact bytes.
 */
export const slackHttpPlugin: FastifyPluginAsync<{ bot: SlackBot; app: App }> = async (
  fastify,
  { bot, app },
) => {
  const http = bot.http;
  if (!http) return;
  const refused = new RefusedDeliveries(app.audit, 'slack');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  fastify.post('/slack/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const answer = await http.handle(raw, req.headers);
    if (answer.refused && refused.record(answer.refused)) {
      req.log.warn({ reason: answer.refused }, 'slack request refused');
    }
    return reply.code(answer.status).send(answer.body);
  });
};

/**
 * Feishu/Lark's event and callback request URL at POST /feishu/events (set the same URL for events
 * and card callbacks in the developer console). The raw body is kept: the signature covers it.
 */
export const feishuHttpPlugin: FastifyPluginAsync<{ bot: FeishuBot; app: App }> = async (
  fastify,
  { bot, app },
) => {
  const refused = new RefusedDeliveries(app.audit, 'feishu');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  fastify.post('/feishu/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const answer = bot.handle(raw, req.headers);
    if (answer.refused && refused.record(answer.refused)) {
      req.log.warn({ reason: answer.refused }, 'feishu request refused');
    }
    return reply.code(answer.status).send(answer.body);
  });
};

/**
 * WeCom's callback URL at /wecom/callback: GET verifies the URL when it is saved in the admin
 * console, POST carries encrypted XML messages and card events. The raw body is kept.
 */
export const wecomHttpPlugin: FastifyPluginAsync<{ bot: WecomBot; app: App }> = async (
  fastify,
  { bot, app },
) => {
  const refused = new RefusedDeliveries(app.audit, 'wecom');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  const answer = (req: FastifyRequest, reply: FastifyReply, a: ReturnType<WecomBot['verify']>) => {
    if (a.refused && refused.record(a.refused)) req.log.warn({ reason: a.refused }, 'wecom request refused');
    return reply.code(a.status).type('text/plain; charset=utf-8').send(a.body);
  };
  type Query = Record<string, string | string[] | undefined>;
  fastify.get('/wecom/callback', async (req, reply) => answer(req, reply, bot.verify(req.query as Query)));
  fastify.post('/wecom/callback', async (req, reply) =>
    answer(req, reply, bot.handle(req.query as Query, typeof req.body === 'string' ? req.body : '')),
  );
};

/**
 * DingTalk's HTTP robot callback at POST /dingtalk/callback (the robot's message receiving URL, HTTP
 * mode only). The raw body is kept; the signature covers the timestamp and the app secret only, so
 * the body is validated as a robot message for this robot.
 */
export const dingtalkHttpPlugin: FastifyPluginAsync<{ bot: DingtalkBot; app: App }> = async (
  fastify,
  { bot, app },
) => {
  const refused = new RefusedDeliveries(app.audit, 'dingtalk');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  fastify.post('/dingtalk/callback', async (req, reply) => {
    const answer = bot.handle(typeof req.body === 'string' ? req.body : '', req.headers);
    if (answer.refused && refused.record(answer.refused)) {
      req.log.warn({ reason: answer.refused }, 'dingtalk request refused');
    }
    return reply.code(answer.status).send(answer.body);
  });
};
