import { join } from 'node:path';
import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { Agent } from '../../agent/index.js';
import type { AuditSink } from '../../policies/types.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import type { Logger } from '../../tools/core/logger.js';
import { ChannelGuard } from '../core/channel-guard.js';
import { ChatCore } from '../core/core.js';
import { DEFAULT_OUTBOX, Outbox, type OutboxOptions } from '../core/outbox.js';
import { ChatStore } from '../core/store.js';
import type { ChannelBinding } from '../core/types.js';
import { registerListeners } from './events.js';
import { SlackHttpReceiver } from './receiver.js';
import { SlackTransport, slackWebClient } from './transport.js';

export interface SlackBotOptions {
  mode: 'http' | 'socket';
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  /** Slack's Web API base (https://slack.com/api/); another only for a proxy or a test server. */
  apiUrl?: string;
  channels: ChannelBinding[];
  /** What channels without a binding allow: DMs and unlisted channels. */
  defaultAllowWrites: boolean;
  dataDir: string;
  outbox?: Partial<OutboxOptions>;
  pipeline: ToolPipeline;
  /** The agent that answers questions, built on the pipeline given: the chat core's channel-guarded one. */
  agent: (pipeline: ToolPipeline) => Agent;
  /** How often cards are checked for tickets that expired or were decided elsewhere (default 30 s). */
  cardSweepMs?: number;
  /** Called once the bot has stopped (closes what `agent` opened). */
  onStop?: () => void;
  audit: AuditSink;
  logger: Logger;
}

export interface SlackBot {
  app: App;
  core: ChatCore;
  outbox: Outbox;
  store: ChatStore;
  /** Present in HTTP mode: the fastify plugin in app/ hands it each request. */
  http?: SlackHttpReceiver;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Slack on the chat core: Bolt for transport and verification, Block Kit for rendering, nothing else. */
export function createSlackBot(o: SlackBotOptions): SlackBot {
  const clientOptions = o.apiUrl ? { slackApiUrl: o.apiUrl } : {};
  const store = new ChatStore(join(o.dataDir, 'chat.db'));
  const logger = o.logger.child({ component: 'slack' });
  const outbox = new Outbox(store, new SlackTransport(slackWebClient(o.botToken, clientOptions)), logger, {
    ...DEFAULT_OUTBOX,
    ...o.outbox,
  });
  const bindings = new Map(o.channels.map((c) => [c.channel, c]));
  const guard = new ChannelGuard(o.pipeline);
  const core = new ChatCore({
    platform: 'slack',
    pipeline: guard.pipeline,
    guard,
    agent: () => o.agent(guard.pipeline),
    audit: o.audit,
    store,
    outbox,
    logger,
    binding: (channel) => bindings.get(channel) ?? { channel, allowWrites: o.defaultAllowWrites },
  });
  const http = o.mode === 'http' ? new SlackHttpReceiver(o.signingSecret ?? '') : undefined;
  const receiver =
    http ??
    new SocketModeReceiver({
      appToken: o.appToken ?? '',
      logLevel: LogLevel.ERROR,
      installerOptions: { clientOptions },
    });
  const app = new App({
    token: o.botToken,
    receiver,
    clientOptions,
    logLevel: LogLevel.ERROR,
    ignoreSelf: true,
  });
  app.error(async (error) => {
    logger.error({ error: error.message }, 'slack listener failed');
  });
  const eventIdOf = (body: unknown) => {
    const id = (body as { event_id?: unknown })?.event_id;
    return typeof id === 'string' ? id : undefined;
  };
  registerListeners(app, core, eventIdOf);
  return {
    app,
    core,
    outbox,
    store,
    ...(http ? { http } : {}),
    async start() {
      // Delivered messages are kept a week: long enough that a repeated cause never posts twice.
      store.prune(7 * 24 * 3600_000);
      outbox.start();
      core.startSweep(o.cardSweepMs ?? 30_000);
      await app.start();
    },
    async stop() {
      core.stopSweep();
      await app.stop().catch(() => undefined);
      await http?.idle();
      await core.settled();
      outbox.stop();
      store.close();
      o.onStop?.();
    },
  };
}
