import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { assembleChat, type ChatBotBase } from '../core/assemble.js';
import type { ChatCore } from '../core/core.js';
import type { Outbox } from '../core/outbox.js';
import type { ChatStore } from '../core/store.js';
import type { ChannelBinding } from '../core/types.js';
import { registerListeners } from './events.js';
import { SlackHttpReceiver } from './receiver.js';
import { SlackTransport, slackWebClient } from './transport.js';

export interface SlackBotOptions extends ChatBotBase {
  mode: 'http' | 'socket';
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  /** Slack's Web API base (https://slack.com/api/); another only for a proxy or a test server. */
  apiUrl?: string;
  channels: ChannelBinding[];
  /** What channels without a binding allow: DMs and unlisted channels. */
  defaultAllowWrites: boolean;
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
  const bindings = new Map(o.channels.map((c) => [c.channel, c]));
  const chat = assembleChat(
    'slack',
    o,
    'chat.db',
    () => new SlackTransport(slackWebClient(o.botToken, clientOptions)),
    (channel) => bindings.get(channel) ?? { channel, allowWrites: o.defaultAllowWrites },
  );
  const { core, outbox, store, logger } = chat;
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
      await chat.start();
      await app.start();
    },
    async stop() {
      await app.stop().catch(() => undefined);
      await http?.idle();
      await chat.stop();
    },
  };
}
