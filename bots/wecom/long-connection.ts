import { randomBytes } from 'node:crypto';
import { Agent, WebSocket } from 'undici';
import { z } from 'zod';
import type { Logger } from '../../tools/core/logger.js';

/** WeCom's gateway for the intelligent robot's long connection (智能机器人长连接). */
export const WECOM_WS_URL = 'wss://openws.work.weixin.qq.com';

/**
 * Every frame, both ways: `{cmd, headers: {req_id}, body}`; an answer to one of ours carries no
 * `cmd`, the same `req_id` and `errcode` / `errmsg`.
 */
export const frameSchema = z.looseObject({
  cmd: z.string().max(64).optional(),
  headers: z.looseObject({ req_id: z.string().min(1).max(256) }),
  body: z.unknown().optional(),
  errcode: z.number().int().optional(),
  errmsg: z.string().max(2048).optional(),
});
export type WsFrame = z.infer<typeof frameSchema>;

export const CALLBACK_CMDS = new Set(['aibot_msg_callback', 'aibot_event_callback']);

/** WeCom answered one of our frames with a non-zero errcode. */
export class WecomAckError extends Error {
  constructor(
    readonly cmd: string,
    readonly errcode: number,
    errmsg: string,
  ) {
    super(`WeCom ${cmd}: errcode ${errcode}: ${errmsg}`);
    this.name = 'WecomAckError';
  }
}

export interface LongConnectionOptions {
  /** wss://openws.work.weixin.qq.com, or a local gateway in tests. */
  url: string;
  botId: string;
  secret: string;
  logger: Logger;
  /** An `aibot_msg_callback` or `aibot_event_callback` frame, validated as a frame (the body is the caller's). */
  onCallback(frame: WsFrame): void;
  /** A frame refused before it reached `onCallback` (not JSON, malformed, oversized…), for the audit. */
  onRefused(reason: string): void;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  /** Largest frame accepted (default 1 MiB); a larger one is refused, one over twice that fails the socket. */
  maxFrameBytes?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'subscribed' | 'taken-over' | 'stopped';

const reqId = (prefix: string) => `${prefix}_${Date.now()}_${randomBytes(6).toString('hex')}`;

interface Pending {
  cmd: string;
  resolve: (f: WsFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The intelligent robot's long connection, written on the protocol WeCom documents: open a socket to
 * the gateway, send `aibot_subscribe` with the bot id and secret, wait for its answer, then `ping`
 * every 30 s (two unanswered pings: the socket is dead). Callbacks arrive on the socket; replies go
 * back on it and each is answered (`errcode`) under its `req_id`. Frames with one `req_id` are sent
 * one after the other, each after the answer to the one before (a reply to a callback reuses the
 * callback's `req_id`).
 *
 * A dropped socket is reopened after a capped exponential backoff with jitter. A refused subscription
 * (wrong bot id or secret) stops a first start with an error naming the config keys; later it is
 * retried on the same capped backoff, never in a tight loop. `disconnected_event` means another
 * connection for this bot took over (WeCom keeps one per bot): it is logged and this one stays closed,
 * since reconnecting would only take the bot back from the other one.
 */
export class WecomLongConnection {
  private ws: WebSocket | undefined;
  /** Which socket is current: events of an older one are ignored. */
  private generation = 0;
  private readonly agent: Agent;
  private readonly pending = new Map<string, Pending>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private missedPings = 0;
  private failures = 0;
  private everSubscribed = false;
  private _state: ConnectionState = 'idle';
  /** Connections opened so far (tests, `kubemate bots check`). */
  connects = 0;
  private firstOutcome: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly o: LongConnectionOptions) {
    // Twice the limit at the socket: a frame up to there is read and refused (audited); beyond it the
    // socket fails before the frame is buffered whole, and the connection is opened again.
    this.agent = new Agent({ webSocket: { maxPayloadSize: 2 * this.maxFrameBytes } });
  }

  get state(): ConnectionState {
    return this._state;
  }

  private get maxFrameBytes() {
    return this.o.maxFrameBytes ?? 1024 * 1024;
  }

  /**
   * Connects and subscribes. Resolves once subscribed, or after a first attempt that could not reach
   * the gateway (it keeps trying in the background); rejects when WeCom refuses the bot id or secret.
   */
  start(): Promise<void> {
    if (this._state !== 'idle') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.firstOutcome = { resolve, reject };
      this.open();
    });
  }

  async stop(): Promise<void> {
    this._state = 'stopped';
    this.settleFirst();
    this.closeSocket('stopped');
    if (this.reconnect) clearTimeout(this.reconnect);
    this.reconnect = undefined;
    await this.agent.close().catch(() => undefined);
  }

  /**
   * Sends one frame and resolves with WeCom's answer to it (errcode 0); rejects on another errcode
   * (`WecomAckError`), when not subscribed, or when no answer comes in time.
   */
  request(cmd: string, id: string, body?: unknown): Promise<WsFrame> {
    const before = this.chains.get(id) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(() => this.sendOnce(cmd, id, body, false));
    this.chains.set(id, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    return next;
  }

  private sendOnce(cmd: string, id: string, body: unknown, beforeSubscribe: boolean): Promise<WsFrame> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (!beforeSubscribe && this._state !== 'subscribed'))
      return Promise.reject(new Error(`WeCom long connection is not open (${this._state}); ${cmd} not sent`));
    return new Promise<WsFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`WeCom did not answer ${cmd} within ${this.o.ackTimeoutMs ?? 5000} ms`));
      }, this.o.ackTimeoutMs ?? 5000);
      this.pending.set(id, { cmd, resolve, reject, timer });
      ws.send(JSON.stringify({ cmd, headers: { req_id: id }, ...(body === undefined ? {} : { body }) }));
    });
  }

  private settleFirst(error?: Error) {
    const first = this.firstOutcome;
    this.firstOutcome = undefined;
    if (!first) return;
    if (error) first.reject(error);
    else first.resolve();
  }

  private open(): void {
    if (this._state === 'stopped' || this._state === 'taken-over') return;
    this._state = 'connecting';
    const gen = ++this.generation;
    this.connects++;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.o.url, { dispatcher: this.agent });
    } catch (e) {
      this.o.logger.error({ error: (e as Error).message }, 'wecom long connection: cannot open the socket');
      this.afterClose(gen, 'cannot open');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (gen === this.generation) void this.subscribe(gen);
    });
    ws.addEventListener('message', (ev) => {
      if (gen === this.generation) this.onData(ev.data as string | ArrayBuffer);
    });
    ws.addEventListener('close', (ev) => {
      if (gen !== this.generation) return;
      this.afterClose(gen, `socket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
    });
    ws.addEventListener('error', () => {
      // A 'close' follows every error; it schedules the reconnect.
    });
  }

  private async subscribe(gen: number): Promise<void> {
    let ack: WsFrame;
    try {
      ack = await this.sendOnce(
        'aibot_subscribe',
        reqId('aibot_subscribe'),
        { bot_id: this.o.botId, secret: this.o.secret },
        true,
      );
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof WecomAckError) {
        const message = `WeCom refused the long connection's subscription (errcode ${e.errcode}): check bots.wecom.botId and bots.wecom.secret (or secretFile), the intelligent robot's Bot ID and Secret from its API settings (API 模式: 长连接)`;
        this.o.logger.error({ errcode: e.errcode }, message);
        if (!this.everSubscribed && this.firstOutcome) {
          // A first start with the wrong credentials: fail loudly, do not retry what cannot work.
          this.settleFirst(new Error(message));
          void this.stop();
          return;
        }
      } else this.o.logger.warn({ error: (e as Error).message }, 'wecom long connection: no subscription');
      this.closeSocket('subscription failed');
      this.afterClose(gen, 'subscription failed');
      return;
    }
    if (gen !== this.generation || ack.errcode !== 0) return;
    this._state = 'subscribed';
    this.everSubscribed = true;
    this.failures = 0;
    this.missedPings = 0;
    this.startHeartbeat(gen);
    this.o.logger.info({ url: this.o.url }, 'wecom long connection subscribed');
    this.settleFirst();
  }

  private startHeartbeat(gen: number) {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (gen !== this.generation) return;
      if (this.missedPings >= 2) {
        this.o.logger.warn('wecom long connection: two pings unanswered, reconnecting');
        this.closeSocket('heartbeat lost');
        this.afterClose(gen, 'heartbeat lost');
        return;
      }
      this.missedPings++;
      this.sendOnce('ping', reqId('ping'), undefined, false).then(
        () => {
          this.missedPings = 0;
        },
        () => undefined,
      );
    }, this.o.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  private stopHeartbeat() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Detaches the current socket (its events are ignored from now on) and closes it. */
  private closeSocket(why: string) {
    const ws = this.ws;
    this.ws = undefined;
    this.generation++;
    this.stopHeartbeat();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`WeCom long connection closed (${why}); ${p.cmd} unanswered`));
      this.pending.delete(id);
    }
    try {
      ws?.close(1000);
    } catch {
      // already closing
    }
  }

  /** The socket is gone: reopen after a capped exponential backoff with jitter. */
  private afterClose(gen: number, why: string) {
    if (gen === this.generation) this.closeSocket(why);
    if (this._state === 'stopped' || this._state === 'taken-over') return;
    this._state = 'connecting';
    this.failures++;
    const base = this.o.backoffBaseMs ?? 1000;
    const max = this.o.backoffMaxMs ?? 60_000;
    const cap = Math.min(max, base * 2 ** (this.failures - 1));
    const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
    this.o.logger.warn({ why, retryInMs: delay, attempt: this.failures }, 'wecom long connection lost');
    // The first attempt of a start could not reach the gateway: serve anyway and keep trying.
    this.settleFirst();
    if (this.reconnect) clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      this.open();
    }, delay);
    this.reconnect.unref();
  }

  private onData(data: string | ArrayBuffer): void {
    const refused = this.take(data);
    if (refused) this.o.onRefused(refused);
  }

  /** Handles one frame; returns why it was refused, if it was. */
  private take(data: string | ArrayBuffer): string | undefined {
    if (typeof data !== 'string') return 'binary frame';
    if (Buffer.byteLength(data) > this.maxFrameBytes) return 'oversized frame';
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return 'frame is not JSON';
    }
    const parsed = frameSchema.safeParse(raw);
    if (!parsed.success) return 'malformed frame';
    const frame = parsed.data;
    if (frame.cmd && CALLBACK_CMDS.has(frame.cmd)) {
      if (isTakeover(frame)) {
        this.takenOver();
        return undefined;
      }
      try {
        this.o.onCallback(frame);
      } catch (e) {
        this.o.logger.error(
          { error: String((e as Error)?.stack ?? e), cmd: frame.cmd },
          'wecom callback failed',
        );
      }
      return undefined;
    }
    if (frame.errcode !== undefined) {
      const p = this.pending.get(frame.headers.req_id);
      if (!p) return undefined; // the answer to a frame that timed out
      clearTimeout(p.timer);
      this.pending.delete(frame.headers.req_id);
      if (frame.errcode === 0) p.resolve(frame);
      else p.reject(new WecomAckError(p.cmd, frame.errcode, frame.errmsg ?? ''));
      return undefined;
    }
    return 'unknown frame';
  }

  private takenOver() {
    this.o.logger.error(
      { botId: this.o.botId },
      'wecom long connection: another connection subscribed with this bot id and WeCom closed this one (disconnected_event). WeCom keeps one connection per bot, so this process stays disconnected rather than take the bot back; run one Kubemate with the WeCom long connection, or restart this one to take over again',
    );
    this._state = 'taken-over';
    this.closeSocket('taken over');
  }
}

function isTakeover(frame: WsFrame): boolean {
  if (frame.cmd !== 'aibot_event_callback') return false;
  const event = (frame.body as { event?: { eventtype?: unknown } } | undefined)?.event;
  return event?.eventtype === 'disconnected_event';
}
