import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { robotSign } from '../../bots/dingtalk/crypto.js';
import { TOPIC_CARD, TOPIC_ROBOT } from '../../bots/dingtalk/inbound.js';

/**
 * A local DingTalk speaking the real wire protocols:
 * - the OpenAPI (api.dingtalk.com v1.0): app access tokens from POST /v1.0/oauth2/accessToken,
 *   `x-acs-dingtalk-access-token` on every call, `{code, message}` errors; interactive cards
 *   (createAndDeliver, PUT /v1.0/card/instances), robot group and one-to-one messages, recalls;
 * - session webhooks (oapi.dingtalk.com/robot/sendBySession, `{errcode, errmsg}`);
 * - the Stream gateway: POST /v1.0/gateway/connections/open with client id, secret and
 *   subscriptions, answered with a WebSocket endpoint and a one-time ticket; on the socket, JSON
 *   frames `{specVersion, type, headers, data}` pushed down and ACKs `{code, headers.messageId,
 *   message, data}` sent back, SYSTEM pings echoed, unacknowledged frames delivered again.
 * It also builds HTTP robot callbacks exactly as DingTalk sends them (`timestamp` and `sign` headers).
 */
export const CLIENT_ID = 'dingkubematetest01';
export const CLIENT_SECRET = 'dingtalk-client-secret-for-tests-0123456789';
export const CARD_TEMPLATE = 'kubemate-approval-test.schema';
/** The action card template (messages with buttons, such as alert summaries). */
export const ACTION_CARD_TEMPLATE = 'kubemate-actions-test.schema';
export const CORP_ID = 'dingcorp0test';

export interface DingtalkCard {
  outTrackId: string;
  /** `IM_GROUP.<cid>` or `IM_ROBOT.<staffId>`. */
  space: string;
  callbackType?: string;
  templateId: string;
  params: Record<string, string>;
  /** Every version of the params, oldest first. */
  history: Array<Record<string, string>>;
}

export interface DingtalkText {
  /** A group's conversation id, or `dm:<staffId>`. */
  channel: string;
  via: 'webhook' | 'openapi';
  text: string;
  processQueryKey?: string;
  recalled: boolean;
}

export interface Frame {
  specVersion: string;
  type: string;
  headers: Record<string, string>;
  data: string;
}

export interface Ack {
  code: number;
  headers: Record<string, string>;
  message: string;
  data: string;
}

export async function startDingtalkServer() {
  const tokens = new Set<string>();
  const tickets = new Set<string>();
  const sessions = new Map<string, { channel: string; expiresAt: number }>();
  const cards = new Map<string, DingtalkCard>();
  const texts: DingtalkText[] = [];
  const calls: Array<{ method: string; path: string; status: number; at: number }> = [];
  const acks: Ack[] = [];
  const ackWaiters = new Map<string, (a: Ack) => void>();
  const sentFrames = new Map<string, Frame>();
  const subscriptions: Array<{ type: string; topic: string }> = [];
  const watchers: Array<(t: DingtalkText) => void> = [];
  let socket: WebSocket | undefined;
  let onConnect: (() => void) | undefined;

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const raw = await readBody(req);
    const answer = (status: number, body: unknown) => {
      calls.push({ method: req.method ?? '', path: url.pathname, status, at: Date.now() });
      send(res, status, body);
    };
    const fail = (status: number, code: string, message: string) =>
      answer(status, { code, message, requestid: randomUUID() });
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      return fail(400, 'InvalidParameter.Body', 'body is not JSON');
    }
    if (url.pathname === '/v1.0/oauth2/accessToken' && req.method === 'POST') {
      if (b.appKey !== CLIENT_ID || b.appSecret !== CLIENT_SECRET)
        return fail(400, 'invalidParameter.appKeyOrSecret', 'appkey或appsecret不合法');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      return answer(200, { accessToken: token, expireIn: 7200 });
    }
    if (url.pathname === '/v1.0/gateway/connections/open' && req.method === 'POST') {
      if (req.headers.accept !== 'application/json') return fail(406, 'NotAcceptable', 'Accept must be JSON');
      if (b.clientId !== CLIENT_ID || b.clientSecret !== CLIENT_SECRET)
        return fail(401, 'InvalidAuthentication', 'clientId or clientSecret is invalid');
      subscriptions.splice(0, subscriptions.length, ...((b.subscriptions ?? []) as typeof subscriptions));
      const ticket = randomUUID();
      tickets.add(ticket);
      const { port } = server.address() as AddressInfo;
      return answer(200, { endpoint: `ws://127.0.0.1:${port}/connect`, ticket });
    }
    if (url.pathname === '/robot/sendBySession' && req.method === 'POST') {
      const s = sessions.get(url.searchParams.get('session') ?? '');
      if (!s || s.expiresAt < Date.now())
        return answer(200, { errcode: 300001, errmsg: 'session不存在或已过期' });
      if (b.msgtype !== 'text' || typeof (b.text as { content?: unknown })?.content !== 'string')
        return answer(200, { errcode: 40035, errmsg: '缺少参数 text' });
      const t: DingtalkText = {
        channel: s.channel,
        via: 'webhook',
        text: (b.text as { content: string }).content,
        recalled: false,
      };
      texts.push(t);
      for (const w of watchers) w(t);
      return answer(200, { errcode: 0, errmsg: 'ok' });
    }
    const token = req.headers['x-acs-dingtalk-access-token'];
    if (typeof token !== 'string' || !tokens.has(token))
      return fail(401, 'InvalidAuthentication', '不合法的access_token');
    if (url.pathname === '/v1.0/card/instances/createAndDeliver' && req.method === 'POST') {
      const params = (b.cardData as { cardParamMap?: Record<string, unknown> } | undefined)?.cardParamMap;
      if (b.cardTemplateId !== CARD_TEMPLATE && b.cardTemplateId !== ACTION_CARD_TEMPLATE)
        return fail(400, 'param.templateNotExist', '模板不存在');
      if (typeof b.outTrackId !== 'string' || !b.outTrackId)
        return fail(400, 'param.outTrackIdEmpty', 'outTrackId');
      if (!params || Object.values(params).some((v) => typeof v !== 'string'))
        return fail(400, 'param.cardParamMapInvalid', 'cardParamMap values must be strings');
      const space = String(b.openSpaceId ?? '').match(/^dtv1\.card\/\/(IM_GROUP|IM_ROBOT)\.(.+)$/);
      if (!space) return fail(400, 'param.openSpaceIdInvalid', 'openSpaceId');
      const deliver = (space[1] === 'IM_GROUP' ? b.imGroupOpenDeliverModel : b.imRobotOpenDeliverModel) as
        | { robotCode?: string }
        | undefined;
      if (deliver?.robotCode !== CLIENT_ID) return fail(400, 'param.robotCodeInvalid', 'robotCode');
      const existing = cards.get(b.outTrackId);
      if (!existing) {
        const p = params as Record<string, string>;
        cards.set(b.outTrackId, {
          outTrackId: b.outTrackId,
          space: `${space[1]}.${space[2]}`,
          templateId: String(b.cardTemplateId),
          ...(typeof b.callbackType === 'string' ? { callbackType: b.callbackType } : {}),
          params: p,
          history: [p],
        });
      }
      return answer(200, {
        success: true,
        result: {
          outTrackId: b.outTrackId,
          deliverResults: [
            { spaceType: space[1], spaceId: space[2], success: true, carrierId: randomUUID() },
          ],
        },
      });
    }
    if (url.pathname === '/v1.0/card/instances' && req.method === 'PUT') {
      const card = cards.get(String(b.outTrackId));
      if (!card) return fail(400, 'param.cardNotExist', '卡片不存在');
      const params =
        (b.cardData as { cardParamMap?: Record<string, string> } | undefined)?.cardParamMap ?? {};
      const byKey = (b.cardUpdateOptions as { updateCardDataByKey?: boolean } | undefined)
        ?.updateCardDataByKey;
      card.params = byKey ? { ...card.params, ...params } : params;
      card.history.push(card.params);
      return answer(200, { success: true, result: true });
    }
    const robotText = (channel: string) => {
      if (b.robotCode !== CLIENT_ID) return fail(400, 'invalidParameter.robotCode', 'robotCode');
      if (b.msgKey !== 'sampleText') return fail(400, 'invalidParameter.msgKey', 'msgKey');
      let content: unknown;
      try {
        content = (JSON.parse(String(b.msgParam)) as { content?: unknown }).content;
      } catch {
        content = undefined;
      }
      if (typeof content !== 'string') return fail(400, 'invalidParameter.msgParam', 'msgParam');
      const key = randomBytes(12).toString('base64');
      const t: DingtalkText = {
        channel,
        via: 'openapi',
        text: content,
        processQueryKey: key,
        recalled: false,
      };
      texts.push(t);
      for (const w of watchers) w(t);
      return answer(200, { processQueryKey: key, invalidStaffIdList: [], flowControlledStaffIdList: [] });
    };
    if (url.pathname === '/v1.0/robot/groupMessages/send' && req.method === 'POST')
      return robotText(String(b.openConversationId));
    if (url.pathname === '/v1.0/robot/oToMessages/batchSend' && req.method === 'POST') {
      const users = b.userIds as string[] | undefined;
      if (!Array.isArray(users) || users.length !== 1)
        return fail(400, 'invalidParameter.userIds', 'userIds');
      return robotText(`dm:${users[0]}`);
    }
    if (
      (url.pathname === '/v1.0/robot/groupMessages/recall' ||
        url.pathname === '/v1.0/robot/otoMessages/batchRecall') &&
      req.method === 'POST'
    ) {
      const keys = (b.processQueryKeys ?? []) as string[];
      for (const t of texts) if (t.processQueryKey && keys.includes(t.processQueryKey)) t.recalled = true;
      return answer(200, { successResult: keys, failedResult: {} });
    }
    return fail(404, 'NotFound', 'no such API');
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, sock, head) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/connect' || !tickets.delete(ticket)) {
      sock.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      socket = ws;
      ws.on('message', (data) => {
        const a = JSON.parse(String(data)) as Ack;
        acks.push(a);
        const id = a.headers?.messageId;
        if (id) ackWaiters.get(id)?.(a);
      });
      onConnect?.();
    });
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  /** Sends a frame down the socket and resolves with the client's ACK for it. */
  const pushFrame = (frame: Frame): Promise<Ack> => {
    if (!socket) throw new Error('no Stream connection');
    sentFrames.set(frame.headers.messageId!, frame);
    const acked = new Promise<Ack>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ACK for ${frame.headers.messageId}`)), 5000);
      ackWaiters.set(frame.headers.messageId!, (a) => {
        clearTimeout(t);
        ackWaiters.delete(frame.headers.messageId!);
        resolve(a);
      });
    });
    socket.send(JSON.stringify(frame));
    return acked;
  };
  const callback = (topic: string, data: unknown): Frame => ({
    specVersion: '1.0',
    type: 'CALLBACK',
    headers: {
      appId: randomUUID(),
      connectionId: randomUUID(),
      contentType: 'application/json',
      messageId: randomUUID(),
      time: String(Date.now()),
      topic,
    },
    data: JSON.stringify(data),
  });

  return {
    apiUrl: base,
    /** Resolves once the client has opened its Stream connection. */
    connected: () =>
      socket
        ? Promise.resolve()
        : new Promise<void>((r) => {
            onConnect = r;
          }),
    subscriptions,
    /** A robot message over Stream (topic /v1.0/im/bot/messages/get); resolves with its ACK. */
    pushMessage: (payload: unknown) => pushFrame(callback(TOPIC_ROBOT, payload)),
    /** A card button press over Stream (topic /v1.0/card/instances/callback); resolves with its ACK. */
    pushCardPress: (data: unknown) => pushFrame(callback(TOPIC_CARD, data)),
    /** The same frame again (DingTalk redelivers a frame it saw no ACK for). */
    redeliver: (messageId: string) => pushFrame(sentFrames.get(messageId)!),
    /** A SYSTEM ping: the client must echo it. */
    ping: () =>
      pushFrame({
        specVersion: '1.0',
        type: 'SYSTEM',
        headers: {
          contentType: 'application/json',
          messageId: randomUUID(),
          time: String(Date.now()),
          topic: 'ping',
        },
        data: JSON.stringify({ opaque: randomUUID() }),
      }),
    /** A session webhook for a conversation, as DingTalk puts in each robot message. */
    session(channel: string, ttlMs = 5400_000) {
      const id = randomBytes(12).toString('hex');
      const expiresAt = Date.now() + ttlMs;
      sessions.set(id, { channel, expiresAt });
      return {
        sessionWebhook: `${base}/robot/sendBySession?session=${id}`,
        sessionWebhookExpiredTime: expiresAt,
      };
    },
    /** Calls `fn` with each text the robot sends (benchmarks). */
    watch: (fn: (t: DingtalkText) => void) => watchers.push(fn),
    cards,
    texts,
    calls,
    acks,
    close: async () => {
      socket?.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
export type DingtalkServer = Awaited<ReturnType<typeof startDingtalkServer>>;

/** A text message to the robot, as DingTalk sends it over Stream and to the HTTP callback. */
export function robotMessage(o: {
  server: { session(channel: string): { sessionWebhook: string; sessionWebhookExpiredTime: number } };
  user: string;
  /** A group's conversation id; omitted for a one-to-one chat with the robot. */
  group?: string;
  text: string;
  msgId?: string;
  robotCode?: string;
  session?: { sessionWebhook: string; sessionWebhookExpiredTime: number };
}) {
  const conversationId = o.group ?? `cidDm${o.user}`;
  const channel = o.group ?? `dm:${o.user}`;
  return {
    conversationId,
    atUsers: o.group ? [{ dingtalkId: '$:LWCP_v1:$robot' }] : [],
    chatbotCorpId: CORP_ID,
    chatbotUserId: '$:LWCP_v1:$robot',
    msgId: o.msgId ?? `msg${randomBytes(10).toString('hex')}`,
    senderNick: o.user,
    isAdmin: false,
    senderStaffId: o.user,
    senderCorpId: CORP_ID,
    conversationType: o.group ? '2' : '1',
    senderId: `$:LWCP_v1:$${o.user}`,
    isInAtList: Boolean(o.group),
    createAt: Date.now(),
    ...(o.session ?? o.server.session(channel)),
    text: { content: o.text },
    robotCode: o.robotCode ?? CLIENT_ID,
    msgtype: 'text',
  };
}

/** A press on a card's button, as the card callback's data: the button's params come from the card. */
export function cardPress(o: { user: string; card: DingtalkCard; action: 'approve' | 'reject' }) {
  return {
    extension: '{}',
    corpId: CORP_ID,
    userId: o.user,
    userIdType: 1,
    outTrackId: o.card.outTrackId,
    type: 'actionCallback',
    spaceType: o.card.space.split('.')[0],
    spaceId: o.card.space.split('.').slice(1).join('.'),
    content: JSON.stringify({
      cardPrivateData: {
        actionIds: [o.action],
        params: { kubemate: o.action, ticket: o.card.params.ticket },
      },
    }),
  };
}

/**
 * A press on button slot `slot` (1…5) of an action card, as the card callback's data: the params
 * the template's callback sends, filled from the card's variables.
 */
export function actionCardPress(o: { user: string; card: DingtalkCard; slot: number }) {
  const p = o.card.params;
  if (p[`show_${o.slot}`] !== 'true') throw new Error(`the card shows no button ${o.slot}`);
  return {
    ...cardPress({ user: o.user, card: o.card, action: 'approve' }),
    content: JSON.stringify({
      cardPrivateData: {
        actionIds: [`button_${o.slot}`],
        params: { kubemate: 'act', action: p[`action_${o.slot}`], arg: p[`arg_${o.slot}`] },
      },
    }),
  };
}

/** The buttons a card shows (the template shows each while its flag is "true"). */
export const cardButtons = (card: DingtalkCard) =>
  (['approve', 'reject'] as const).filter(
    (a) => card.params[a === 'approve' ? 'approvable' : 'rejectable'] === 'true',
  );

/** An HTTP robot callback as DingTalk sends it: the body, and `timestamp` / `sign` headers. */
export function httpCallback(
  payload: unknown,
  opts: { secret?: string; timestamp?: number } = {},
): { body: string; headers: Record<string, string> } {
  const timestamp = String(opts.timestamp ?? Date.now());
  return {
    body: JSON.stringify(payload),
    headers: {
      'content-type': 'application/json; charset=utf-8',
      timestamp,
      sign: robotSign(timestamp, opts.secret ?? CLIENT_SECRET),
    },
  };
}
