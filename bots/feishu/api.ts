import { AccessToken } from '../core/access-token.js';
import { RetryLater, Undeliverable } from '../core/types.js';

/** The two clouds of one platform: Feishu (China) and Lark (international). */
export const FEISHU_DOMAINS = {
  feishu: 'https://open.feishu.cn',
  lark: 'https://open.larksuite.com',
} as const;

/** Error codes Feishu will answer again however often we try (bad request, bot not in the chat…). */
const FINAL = new Set([
  230001, // invalid parameters
  230002, // the bot is not in the chat
  230006, // the app has no bot ability
  230011, // the message was withdrawn
  230013, // the user is outside the app's availability
  230099, // the card content failed to create
  10003, // invalid app_id / app_secret
]);
/** The tenant token was refused: a fresh one is fetched on the next attempt. */
const TOKEN_CODES = new Set([99991661, 99991663, 99991668]);
const RATE_LIMITED = 99991400;

interface Envelope {
  code?: number;
  msg?: string;
  data?: Record<string, unknown>;
  [k: string]: unknown;
}

export class FeishuApiError extends Error {
  constructor(
    readonly path: string,
    readonly code: number | undefined,
    readonly httpStatus: number,
    msg: string,
  ) {
    super(`Feishu ${path}: ${code !== undefined ? `code ${code}: ` : ''}${msg} (HTTP ${httpStatus})`);
    this.name = 'FeishuApiError';
  }
}

/**
 * The Open API as the bot uses it: a tenant access token (fetched with the app id and secret,
 * cached, refreshed five minutes before it expires) on every call, and failures mapped to the
 * outbox's retry classes. No retries of its own: the outbox retries durably.
 */
export class FeishuApi {
  private readonly token = new AccessToken(
    async () => {
      const r = await this.raw('POST', '/open-apis/auth/v3/tenant_access_token/internal', {
        app_id: this.appId,
        app_secret: this.appSecret,
      });
      const value = r.tenant_access_token;
      if (typeof value !== 'string' || !value) throw new Error('the token answer has no tenant_access_token');
      return { value, expiresInSeconds: Number(r.expire ?? 0) };
    },
    () => this.now(),
  );

  constructor(
    private readonly base: string,
    private readonly appId: string,
    private readonly appSecret: string,
    private readonly now: () => number = Date.now,
  ) {}

  private tenantToken(): Promise<string> {
    return this.token.get();
  }

  private async raw(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    form?: FormData,
  ): Promise<Envelope> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(form ? { body: form } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    let env: Envelope = {};
    try {
      env = (await res.json()) as Envelope;
    } catch {
      env = {};
    }
    if (res.status === 429 || env.code === RATE_LIMITED) {
      const reset = Number(res.headers.get('x-ogw-ratelimit-reset') ?? '1');
      throw new RetryLater(`rate limited by Feishu on ${path}`, Math.max(1, reset || 1) * 1000);
    }
    if (env.code !== 0 || !res.ok) {
      if (env.code !== undefined && TOKEN_CODES.has(env.code)) this.token.drop();
      const err = new FeishuApiError(path, env.code, res.status, String(env.msg ?? res.statusText));
      if (env.code !== undefined && FINAL.has(env.code)) throw new Undeliverable(err.message);
      throw err;
    }
    return env;
  }

  /** One authenticated call; `data` of the answer. */
  async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const env = await this.raw(method, path, body, await this.tenantToken());
    return (env.data ?? env) as Record<string, unknown>;
  }

  async upload(path: string, form: FormData): Promise<Record<string, unknown>> {
    const env = await this.raw('POST', path, undefined, await this.tenantToken(), form);
    return (env.data ?? {}) as Record<string, unknown>;
  }

  /** The bot's own identity (`/open-apis/bot/v3/info`): its name and open_id. */
  async botInfo(): Promise<{ name: string; openId: string }> {
    const env = await this.raw('GET', '/open-apis/bot/v3/info', undefined, await this.tenantToken());
    const bot = (env.bot ?? {}) as { app_name?: string; open_id?: string };
    return { name: bot.app_name ?? '?', openId: bot.open_id ?? '' };
  }
}
