import { AccessToken } from '../core/access-token.js';
import { RetryLater, Undeliverable } from '../core/types.js';

export const DINGTALK_API = 'https://api.dingtalk.com';
/** Where DingTalk's session webhooks live: a session webhook elsewhere is never called. */
export const DINGTALK_OAPI = 'https://oapi.dingtalk.com';

export class DingtalkApiError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | number | undefined,
    readonly httpStatus: number,
    msg: string,
  ) {
    super(`DingTalk ${path}: ${code !== undefined ? `${code}: ` : ''}${msg} (HTTP ${httpStatus})`);
    this.name = 'DingtalkApiError';
  }
}

/** Session webhook error codes: too many messages (retry later) and an expired session (give up). */
const WEBHOOK_THROTTLED = new Set([130101, 130102]);
const WEBHOOK_FINAL = new Set([300001, 310000, 400013, 400101]);

/**
 * DingTalk's OpenAPI (api.dingtalk.com, the v1.0 APIs) as the bot uses it: an app access token from
 * POST /v1.0/oauth2/accessToken (AppKey and AppSecret), cached and refreshed five minutes before it
 * expires, in `x-acs-dingtalk-access-token`; and the session webhooks of incoming messages. Failures
 * are mapped to the outbox's retry classes; no retries of its own.
 */
export class DingtalkApi {
  private readonly token = new AccessToken(
    async () => {
      const r = await this.raw('POST', '/v1.0/oauth2/accessToken', {
        appKey: this.appKey,
        appSecret: this.appSecret,
      });
      const value = r.accessToken;
      if (typeof value !== 'string' || !value) throw new Error('the token answer has no accessToken');
      return { value, expiresInSeconds: Number(r.expireIn ?? 0) };
    },
    () => this.now(),
  );

  constructor(
    private readonly base: string,
    private readonly appKey: string,
    private readonly appSecret: string,
    private readonly now: () => number = Date.now,
  ) {}

  private accessToken(): Promise<string> {
    return this.token.get();
  }

  private async raw(
    method: string,
    path: string,
    body: unknown,
    token?: string,
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (token) headers['x-acs-dingtalk-access-token'] = token;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    let out: Record<string, unknown> = {};
    try {
      out = (await res.json()) as Record<string, unknown>;
    } catch {
      out = {};
    }
    if (res.ok) return out;
    const code = typeof out.code === 'string' ? out.code : undefined;
    const err = new DingtalkApiError(path, code, res.status, String(out.message ?? res.statusText));
    if (res.status === 429 || code === 'Forbidden.AccessDenied.QpsLimitForApi')
      throw new RetryLater(err.message, 1000);
    if (res.status === 401 || code === 'InvalidAuthentication') {
      this.token.drop(); // fetched again on the next attempt
      throw err;
    }
    // A request DingTalk refuses as malformed or forbidden is refused again however often it is sent.
    if (res.status === 400 || res.status === 403 || res.status === 404) throw new Undeliverable(err.message);
    throw err;
  }

  /** Fetches an access token now (`kubemate bots check`): the AppKey and AppSecret are accepted. */
  async checkCredentials(): Promise<void> {
    this.token.drop();
    await this.accessToken();
  }

  /** One authenticated call; the answer's body. */
  async call(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
    return this.raw(method, path, body, await this.accessToken());
  }

  /** A reply through an incoming message's session webhook (no access token: the URL is the credential). */
  async webhook(url: string, body: unknown): Promise<void> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    let out: { errcode?: number; errmsg?: string } = {};
    try {
      out = (await res.json()) as typeof out;
    } catch {
      out = {};
    }
    if (res.ok && out.errcode === 0) return;
    const err = new DingtalkApiError('session webhook', out.errcode, res.status, String(out.errmsg ?? ''));
    if (out.errcode !== undefined && WEBHOOK_THROTTLED.has(out.errcode))
      throw new RetryLater(err.message, 3000);
    if (out.errcode !== undefined && WEBHOOK_FINAL.has(out.errcode)) throw new Undeliverable(err.message);
    throw err;
  }
}
