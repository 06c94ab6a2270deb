import type { FastifyPluginAsync } from 'fastify';
import { buildAgent } from '../agent/index.js';
import { RefusedDeliveries } from '../bots/core/people.js';
import { createSlackBot, type SlackBot } from '../bots/slack/bot.js';
import { slackSecrets } from './bots-config.js';
import type { App } from './wiring.js';

/** The configured chat bots, built on the app's one pipeline, agent and audit log. */
export function buildBots(app: App): { slack?: SlackBot } {
  const c = app.config.bots.slack;
  if (!c.enabled) return {};
  const secrets = slackSecrets(c);
  // The chat agent runs on the chat core's channel-guarded pipeline; its runs share agent.db.
  let chatAgent: ReturnType<typeof buildAgent> | undefined;
  const slack = createSlackBot({
    mode: c.mode,
    botToken: secrets.botToken,
    ...(secrets.signingSecret ? { signingSecret: secrets.signingSecret } : {}),
    ...(secrets.appToken ? { appToken: secrets.appToken } : {}),
    apiUrl: c.apiUrl,
    channels: c.channels.map((ch) => ({
      channel: ch.id,
      allowWrites: ch.allowWrites,
      ...(ch.cluster ? { cluster: ch.cluster } : {}),
      ...(ch.namespace ? { namespace: ch.namespace } : {}),
    })),
    defaultAllowWrites: c.defaultAllowWrites,
    outbox: { perChannelIntervalMs: c.perChannelIntervalSeconds * 1000 },
    dataDir: app.config.dataDir,
    pipeline: app.pipeline,
    agent: (pipeline) => {
      chatAgent ??= buildAgent({
        dataDir: app.config.dataDir,
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
    audit: app.audit,
    logger: app.logger,
  });
  return { slack };
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
