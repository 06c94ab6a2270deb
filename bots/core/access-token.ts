/**
 * An app access token as the IM platforms hand them out (Feishu's tenant token, WeCom's and
 * DingTalk's access tokens): fetched on first use, one fetch shared by callers that ask meanwhile,
 * refreshed five minutes before it expires, and dropped when the platform refuses it, so the next
 * call fetches a fresh one.
 */
export class AccessToken {
  private token: { value: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    /** Fetches a token: its value and how many seconds it lives. */
    private readonly fetchToken: () => Promise<{ value: string; expiresInSeconds: number }>,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    this.pending ??= (async () => {
      try {
        const { value, expiresInSeconds } = await this.fetchToken();
        this.token = { value, refreshAt: this.now() + Math.max(0, expiresInSeconds - 300) * 1000 };
        return value;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  /** Forgets the token (the platform refused it, or a check wants a fresh one). */
  drop(): void {
    this.token = undefined;
  }
}
