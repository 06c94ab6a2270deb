import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A local Slack that speaks the real Web API wire format (form or JSON bodies, `Authorization:
 * Bearer`, `{ok, error}` bodies, 429 with Retry-After), and signs Events API and interactivity
 * requests as Slack does (v0 HMAC-SHA256 over `v0:timestamp:body`). No Slack server is reachable.
 */
export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Array<Record<string, unknown>>;
  /** Message metadata (chat.postMessage `metadata`), returned with include_all_metadata. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Every version, oldest first (chat.update appends). */
  history: Array<{ text: string; blocks?: Array<Record<string, unknown>> }>;
}

/** A file shared with files.uploadV2: its bytes as uploaded, and where it was completed into. */
export interface SlackFile {
  id: string;
  filename: string;
  length: number;
  bytes?: Buffer;
  title?: string;
  channel?: string;
  thread_ts?: string;
}

export interface SlackCall {
  method: string;
  token?: string;
  args: Record<string, unknown>;
  at: number;
  status: number;
}

export const BOT_TOKEN = 'xoxb-test-bot-token';
/** The app-level token Socket Mode opens connections with (`apps.connections.open`). */
export const APP_TOKEN = 'xapp-test-app-token';

export type EnvelopeType = 'events_api' | 'interactive' | 'slash_commands';
/** What a Socket Mode client sent back over the WebSocket for an envelope. */
export interface SocketAck {
  envelope_id: string;
  payload?: unknown;
  at: number;
}

export async function startSlackServer() {
  const messages: SlackMessage[] = [];
  const files: SlackFile[] = [];
  const calls: SlackCall[] = [];
  /** Failures to answer next, per method: an HTTP status (429 carries Retry-After seconds). */
  const failures: Array<{ method: string; status: number; retryAfter?: number }> = [];
  /** Message ts as Slack makes them: the time in seconds with microseconds, unique and rising. */
  let lastMicros = 0;
  const acks: SocketAck[] = [];
  const sockets = new Set<WebSocket>();
  let envelopeSeq = 0;
  let onSocket: (() => void) | undefined;
  /** Called with every answered Web API call (the chat benchmark times first replies with it). */
  const watchers: Array<(call: SlackCall) => void> = [];

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // The upload URL files.getUploadURLExternal hands out: raw bytes, answered in plain text.
    const upload = /^\/upload\/(F[0-9A-Z]+)$/.exec(req.url ?? '');
    if (upload) {
      const f = files.find((x) => x.id === upload[1]);
      // Slack takes the bytes raw or as a multipart form (what the Node SDK sends): the file part.
      let bytes = Buffer.concat(chunks);
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('multipart/form-data')) {
        const form = await new Response(bytes, { headers: { 'content-type': type } }).formData();
        const part = [...form.values()].find((v) => typeof v !== 'string') as Blob | undefined;
        bytes = part ? Buffer.from(await part.arrayBuffer()) : Buffer.alloc(0);
      }
      if (!f || req.method !== 'POST' || bytes.length !== f.length) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end('bad upload');
      }
      f.bytes = bytes;
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(`OK - ${bytes.length}`);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const args: Record<string, unknown> = (req.headers['content-type'] ?? '').includes('json')
      ? JSON.parse(raw || '{}')
      : Object.fromEntries(new URLSearchParams(raw));
    for (const k of ['blocks', 'metadata'])
      if (typeof args[k] === 'string') args[k] = JSON.parse(args[k] as string);
    const token =
      (req.headers.authorization ?? '').replace(/^Bearer /, '') || (args.token as string | undefined);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const call: SlackCall = { method, ...(token ? { token } : {}), args, at: Date.now(), status };
      calls.push(call);
      for (const w of watchers) w(call);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const fail = failures.findIndex((f) => f.method === method);
    if (fail >= 0) {
      const f = failures.splice(fail, 1)[0]!;
      if (f.status === 429)
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(f.retryAfter ?? 1) });
      return send(f.status, { ok: false, error: 'internal_error' });
    }
    if (method === 'apps.connections.open') {
      // Socket Mode: only an app-level token may open a connection; the URL is this server's WebSocket.
      if (token !== APP_TOKEN) return send(200, { ok: false, error: 'invalid_auth' });
      const { port } = server.address() as AddressInfo;
      return send(200, { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=t${envelopeSeq}` });
    }
    if (token !== BOT_TOKEN) return send(200, { ok: false, error: 'invalid_auth' });
    switch (method) {
      case 'auth.test':
        return send(200, {
          ok: true,
          url: 'https://kubemate-test.slack.com/',
          team: 'Kubemate Test',
          user: 'kubemate',
          team_id: 'T0TEST',
          user_id: 'UBOT',
          bot_id: 'BBOT',
          is_enterprise_install: false,
        });
      case 'chat.postMessage': {
        lastMicros = Math.max(lastMicros + 1, Date.now() * 1000);
        const ts = `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
        const m: SlackMessage = {
          channel: String(args.channel),
          ts,
          ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
          text: String(args.text ?? ''),
          ...(args.blocks ? { blocks: args.blocks as SlackMessage['blocks'] } : {}),
          ...(args.metadata ? { metadata: args.metadata as SlackMessage['metadata'] } : {}),
          history: [],
        };
        m.history.push({ text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
        messages.push(m);
        return send(200, {
          ok: true,
          channel: m.channel,
          ts,
          message: { type: 'message', text: m.text, ts, bot_id: 'BBOT' },
        });
      }
      case 'chat.update': {
        const m = messages.find((x) => x.channel === args.channel && x.ts === args.ts);
        if (!m) return send(200, { ok: false, error: 'message_not_found' });
        m.text = String(args.text ?? '');
        if (args.blocks) m.blocks = args.blocks as SlackMessage['blocks'];
        m.history.push({ text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
        return send(200, { ok: true, channel: m.channel, ts: m.ts, text: m.text });
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const oldest = Number(args.oldest ?? 0);
        const inThread = method === 'conversations.replies';
        const found = messages
          .filter((m) => m.channel === args.channel && Number(m.ts) >= oldest)
          .filter((m) => (inThread ? m.thread_ts === args.ts || m.ts === args.ts : !m.thread_ts))
          .slice(-Number(args.limit ?? 100))
          .reverse()
          .map((m) => ({
            type: 'message',
            ts: m.ts,
            ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
            text: m.text,
            bot_id: 'BBOT',
            ...(m.metadata && String(args.include_all_metadata) === 'true' ? { metadata: m.metadata } : {}),
          }));
        return send(200, { ok: true, messages: found, has_more: false });
      }
      case 'files.getUploadURLExternal': {
        const length = Number(args.length);
        if (!args.filename || !Number.isInteger(length) || length <= 0)
          return send(200, { ok: false, error: 'invalid_arguments' });
        const id = `F${String(files.length + 1).padStart(8, '0')}`;
        files.push({ id, filename: String(args.filename), length });
        const { port } = server.address() as AddressInfo;
        return send(200, { ok: true, upload_url: `http://127.0.0.1:${port}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const list = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as Array<{
          id: string;
          title?: string;
        }>;
        const done = [];
        for (const entry of list ?? []) {
          const f = files.find((x) => x.id === entry.id);
          if (!f?.bytes) return send(200, { ok: false, error: 'file_not_found' });
          f.title = entry.title ?? f.filename;
          if (args.channel_id) f.channel = String(args.channel_id);
          if (args.thread_ts) f.thread_ts = String(args.thread_ts);
          done.push({ id: f.id, title: f.title, name: f.filename });
        }
        return send(200, { ok: true, files: done });
      }
      default:
        return send(200, { ok: false, error: 'unknown_method' });
    }
  };
  const server = createServer((req, res) => {
    handler(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  // Socket Mode's WebSocket: `hello` on connect, then envelopes; the client acks each with its envelope_id.
  const wss = new WebSocketServer({ server, path: '/link/' });
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as { envelope_id?: unknown; payload?: unknown };
      if (typeof m.envelope_id === 'string')
        acks.push({
          envelope_id: m.envelope_id,
          ...(m.payload ? { payload: m.payload } : {}),
          at: Date.now(),
        });
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: sockets.size,
        debug_info: { host: 'local-slack', build_number: 1, approximate_connection_time: 3600 },
        connection_info: { app_id: 'A0TEST' },
      }),
    );
    onSocket?.();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    messages,
    /** Files uploaded; those with a channel were completed into it (shared). */
    files,
    calls,
    acks,
    watch(fn: (call: SlackCall) => void) {
      watchers.push(fn);
    },
    failNext(method: string, status: number, retryAfter?: number) {
      failures.push({ method, status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
    },
    /** Resolves once a Socket Mode client is connected (it has been sent `hello`). */
    async connected(): Promise<void> {
      if (sockets.size > 0) return;
      await new Promise<void>((r) => {
        onSocket = r;
      });
    },
    /** Sends an envelope to every connected Socket Mode client; returns its envelope_id. */
    envelope(type: EnvelopeType, payload: unknown, acceptsResponsePayload = type !== 'events_api'): string {
      const envelope_id = `env-${++envelopeSeq}`;
      const body = JSON.stringify({
        envelope_id,
        type,
        payload,
        accepts_response_payload: acceptsResponsePayload,
        retry_attempt: 0,
        retry_reason: '',
      });
      for (const s of sockets) s.send(body);
      return envelope_id;
    },
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export type SlackServer = Awaited<ReturnType<typeof startSlackServer>>;

/** Headers Slack sends with a request it signed; `at` in seconds (a stale one for the tests). */
export function signed(secret: string, body: string, at = Math.floor(Date.now() / 1000)) {
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': sig, 'x-slack-request-timestamp': String(at) };
}

let seq = 0;
/** An Events API callback body. */
export function eventCallback(event: Record<string, unknown>, eventId = `Ev${Date.now()}${seq++}`) {
  return JSON.stringify({
    token: 'legacy',
    team_id: 'T0TEST',
    api_app_id: 'A0TEST',
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0TEST', user_id: 'UBOT', is_bot: true }],
    event,
  });
}

/** A block_actions interactivity body (form-encoded `payload`) for a press on a card. */
export function buttonPress(
  user: string,
  card: SlackMessage,
  action: 'approve' | 'reject',
  actionTs: string,
) {
  return `payload=${encodeURIComponent(JSON.stringify(buttonPayload(user, card, action, actionTs)))}`;
}

/** The block_actions payload of a press on a card (Socket Mode sends it as an `interactive` envelope). */
export function buttonPayload(
  user: string,
  card: SlackMessage,
  action: 'approve' | 'reject',
  actionTs: string,
) {
  const ticket = (card.blocks ?? [])
    .flatMap((b) => (b.elements as Array<{ action_id?: string; value?: string }>) ?? [])
    .find((e) => e.action_id === `kubemate_${action}`)?.value;
  return blockActions(
    user,
    card,
    { action_id: `kubemate_${action}`, block_id: `kubemate_ticket_${ticket}`, value: ticket },
    actionTs,
  );
}

/** Slack's block_actions payload for a press of one button on `message`. */
function blockActions(
  user: string,
  message: SlackMessage,
  button: { action_id: string; block_id: string; value: string | undefined },
  actionTs: string,
) {
  return {
    type: 'block_actions',
    team: { id: 'T0TEST', domain: 'kubemate-test' },
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEST' },
    api_app_id: 'A0TEST',
    token: 'legacy',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    trigger_id: `trig.${actionTs}`,
    channel: { id: message.channel, name: 'ops' },
    message: {
      type: 'message',
      ts: message.ts,
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      text: message.text,
    },
    response_url: 'http://127.0.0.1:9/unused',
    actions: [{ ...button, type: 'button', action_ts: actionTs }],
  };
}

/**
 * The block_actions body (form-encoded `payload`) of a press on one of a message's own buttons
 * (`kubemate_act_<action>`), with the value the button carries.
 */
export function actionPress(user: string, message: SlackMessage, actionId: string, actionTs: string) {
  const button = (message.blocks ?? [])
    .flatMap((b) => (b.elements as Array<{ action_id?: string; value?: string }>) ?? [])
    .find((e) => e.action_id === actionId);
  if (!button) throw new Error(`no button ${actionId} on message ${message.ts}`);
  const payload = blockActions(
    user,
    message,
    { action_id: actionId, block_id: 'kubemate_actions', value: button.value },
    actionTs,
  );
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
