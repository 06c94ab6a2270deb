import { AccessToken } from '../core/access-token.js';
import { type ChatFile, RetryLater, Undeliverable } from '../core/types.js';

export const WECOM_API = 'https://qyapi.weixin.qq.com';

/** errcodes WeCom will answer again however often we try. */
const FINAL = new Set([
  40003, // invalid user id
  40008, // invalid message type
  40056, // invalid agentid
  60020, // this server's IP is not in the app's trusted IPs
  81013, // every recipient is invalid (not in the app's visible range)
  82001, // every recipient is invalid
  301002, // no permission for this user
]);
/** The access token was refused: a fresh one is fetched on the next attempt. */
const TOKEN_CODES = new Set([40014, 42001, 41001]);
/** Frequency limits: the minute (or hour) window has to pass. */
const RATE_CODES = new Set([45009, 45033, 45047, 45011]);

export class WecomApiError extends Error {
  constructor(
    readonly path: string,
    readonly errcode: number | undefined,
    errmsg: string,
  ) {
    super(`WeCom ${path}: ${errcode !== undefined ? `errcode ${errcode}: ` : ''}${errmsg}`);
    this.name = 'WecomApiError';
  }
}

/**
 * WeCom's server API as the app uses it: an access token from the corp id and the app secret,
 * cached and refreshed five minutes before it expires (WeCom limits how often it may be fetched),
 * and errcodes mapped to the outbox's retry classes. No retries of its own.
 */
export class WecomApi {
  private readonly token = new AccessToken(
    async () => {
      const q = new URLSearchParams({ corpid: this.corpId, corpsecret: this.secret });
      const r = await this.request('GET', `/cgi-bin/gettoken?${q}`, '/cgi-bin/gettoken');
      const value = r.access_token;
      if (typeof value !== 'string' || !value) throw new Error('the token answer has no access_token');
      return { value, expiresInSeconds: Number(r.expires_in ?? 0) };
    },
    () => this.now(),
  );

  constructor(
    private readonly base: string,
    private readonly corpId: string,
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  accessToken(): Promise<string> {
    return this.token.get();
  }

  /** One call; `shown` is the path as errors name it (never the query: it holds the token). */
  private async request(
    method: string,
    url: string,
    shown: string,
    body?: unknown,
    form?: FormData,
  ): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.base}${url}`, {
      method,
      ...(form
        ? { body: form }
        : body !== undefined
          ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json; charset=utf-8' } }
          : {}),
      signal: AbortSignal.timeout(15_000),
    });
    let r: Record<string, unknown> = {};
    try {
      r = (await res.json()) as Record<string, unknown>;
    } catch {
      r = {};
    }
    const code = typeof r.errcode === 'number' ? r.errcode : undefined;
    if (res.status === 429 || (code !== undefined && RATE_CODES.has(code)))
      throw new RetryLater(`rate limited by WeCom on ${shown}`, 60_000);
    if (!res.ok || code !== 0) {
      if (code !== undefined && TOKEN_CODES.has(code)) this.token.drop();
      const err = new WecomApiError(shown, code, String(r.errmsg ?? res.statusText));
      if (code !== undefined && FINAL.has(code)) throw new Undeliverable(err.message);
      throw err;
    }
    return r;
  }

  async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const token = await this.accessToken();
    return this.request('POST', `${path}?access_token=${encodeURIComponent(token)}`, path, body);
  }

  async upload(
    path: string,
    query: Record<string, string>,
    form: FormData,
  ): Promise<Record<string, unknown>> {
    const token = await this.accessToken();
    const q = new URLSearchParams({ access_token: token, ...query });
    return this.request('POST', `${path}?${q}`, path, undefined, form);
  }

  /**
   * A file that is not an image (an HTML report) to people: uploaded as temporary media of type
   * `file`, then sent as a file message. `touser` is one userid or several joined with `|`.
   */
  async sendFile(agentId: number, touser: string, file: ChatFile): Promise<void> {
    const form = new FormData();
    form.set('media', new Blob([Buffer.from(file.data, 'base64')], { type: file.mimeType }), file.name);
    const r = await this.upload('/cgi-bin/media/upload', { type: 'file' }, form);
    if (typeof r.media_id !== 'string' || !r.media_id) throw new Error('WeCom answered without a media_id');
    await this.call('/cgi-bin/message/send', {
      touser,
      msgtype: 'file',
      agentid: agentId,
      file: { media_id: r.media_id },
    });
  }
}
