/**
 * Per-principal limits for the surfaces people and programs drive (HTTP /api/ask and /mcp now,
 * chat messages later): how many requests of one principal may run at once, and how many may
 * start per minute (a token bucket, so short bursts pass). Pure and in memory; one instance per
 * surface and process.
 */

export interface LimitSettings {
  /** Requests of one principal in flight at once; 0: no limit. */
  concurrent: number;
  /** Sustained requests per minute per principal; 0: no limit. */
  perMinute: number;
  /** Requests that may start at once after a quiet spell (the bucket's size). */
  burst: number;
}

export type Admission =
  | { ok: true; release: () => void }
  | {
      ok: false;
      /** Whole seconds after which a retry can succeed, for a Retry-After header. */
      retryAfterSeconds: number;
      reason: string;
    };

interface Entry {
  inFlight: number;
  tokens: number;
  at: number;
}

/** Entries kept before idle ones (nothing in flight, bucket full) are dropped. */
const MAX_ENTRIES = 10_000;

export class PrincipalLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly perMs: number;

  constructor(
    readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = settings.perMinute / 60_000;
  }

  private entry(key: string, at: number): Entry {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(at);
      e = { inFlight: 0, tokens: this.settings.burst, at };
      this.entries.set(key, e);
    }
    if (this.settings.perMinute > 0) {
      e.tokens = Math.min(this.settings.burst, e.tokens + (at - e.at) * this.perMs);
    }
    e.at = at;
    return e;
  }

  private prune(at: number): void {
    for (const [key, e] of this.entries) {
      const full = e.tokens + (at - e.at) * this.perMs >= this.settings.burst;
      if (e.inFlight === 0 && (full || this.settings.perMinute === 0)) this.entries.delete(key);
    }
  }

  /**
   * Admits one request of `key` costing `cost` (a batch of several messages costs several; a cost
   * above the burst is charged as the whole burst, so it can pass after a quiet spell). Call
   * `release` when the request is done; calling it twice is harmless.
   */
  admit(key: string, cost = 1): Admission {
    const { concurrent, perMinute, burst } = this.settings;
    const at = this.now();
    const e = this.entry(key, at);
    if (concurrent > 0 && e.inFlight >= concurrent) {
      return {
        ok: false,
        retryAfterSeconds: 1,
        reason: `${e.inFlight} requests of yours are still running (at most ${concurrent} at once)`,
      };
    }
    const charge = Math.min(Math.max(cost, 1), burst);
    if (perMinute > 0) {
      if (e.tokens < charge) {
        return {
          ok: false,
          retryAfterSeconds: Math.max(1, Math.ceil((charge - e.tokens) / this.perMs / 1000)),
          reason: `more than ${perMinute} requests a minute (bursts of up to ${burst})`,
        };
      }
      e.tokens -= charge;
    }
    e.inFlight++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        e.inFlight--;
      },
    };
  }
}
