import * as lark from '@larksuiteoapi/node-sdk';
import { z } from 'zod';
import type { Logger } from '../../tools/core/logger.js';
import type { FeishuAnswer } from './webhook.js';

/** What the SDK's dispatcher hands a handler: the 2.0 header's fields and the event's, side by side. */
const flattened = z.looseObject({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  app_id: z.string(),
});

export interface LongConnection {
  close(): void;
}

/**
 * Feishu/Lark's long connection (长连接) through the SDK's WSClient: it asks `<domain>/callback/ws/
 * endpoint` for a socket with the app id and secret, then receives events and card callbacks as
 * protobuf frames (pbbp2) and answers each with a frame carrying the handler's result. No inbound URL
 * is needed, and events arrive unencrypted over the authenticated socket, so only the app id is
 * checked here (in `onEvent`); everything else is the webhook's path from normalisation on.
 */
export async function startLongConnection(o: {
  domain: string;
  appId: string;
  appSecret: string;
  logger: Logger;
  onEvent: (header: z.infer<typeof flattened>, event: Record<string, unknown>) => FeishuAnswer;
  /** Told of an event the socket delivered without the fields every event has, so it is audited. */
  onRefused: (reason: string) => void;
}): Promise<LongConnection> {
  const say =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (...msg: unknown[]) =>
      o.logger[level]({ sdk: msg.map(String).join(' ').slice(0, 500) }, 'feishu long connection');
  const logger = {
    error: say('error'),
    warn: say('warn'),
    info: say('debug'),
    debug: say('debug'),
    trace: () => {},
  };
  const handle = async (data: Record<string, unknown>) => {
    const h = flattened.safeParse(data);
    if (!h.success) {
      o.onRefused('long-connection event without event_id, event_type or app_id');
      return undefined;
    }
    const answer = o.onEvent(h.data, data);
    // A card press answers with a toast; a message needs no answer.
    return answer.status === 200 && Object.keys(answer.body as object).length ? answer.body : undefined;
  };
  const dispatcher = new lark.EventDispatcher({ logger, loggerLevel: lark.LoggerLevel.warn }).register({
    'im.message.receive_v1': handle,
    'card.action.trigger': handle,
  } as Record<string, (data: Record<string, unknown>) => Promise<unknown>>);
  const client = new lark.WSClient({
    appId: o.appId,
    appSecret: o.appSecret,
    domain: o.domain,
    logger,
    loggerLevel: lark.LoggerLevel.warn,
  });
  await client.start({ eventDispatcher: dispatcher });
  return { close: () => client.close({ force: true }) };
}
