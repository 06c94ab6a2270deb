import { type App, type Receiver, verifySlackRequest } from '@slack/bolt';
import { z } from 'zod';

export interface SlackHttpAnswer {
  status: number;
  body: unknown;
  /** Why a request was refused, for the audit (never the body: it is untrusted). */
  refused?: string;
}

const eventEnvelope = z.looseObject({
  type: z.enum(['url_verification', 'event_callback', 'app_rate_limited']),
  challenge: z.string().optional(),
  event_id: z.string().optional(),
});
const interactive = z.looseObject({ type: z.string().min(1) });
const slashCommand = z.looseObject({
  command: z.string().min(1),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  trigger_id: z.string().min(1),
  text: z.string().default(''),
});

/** The request body as Bolt expects it, or a 400 that says what is wrong. */
function parseBody(raw: string, contentType: string): { body: Record<string, unknown> } | { error: string } {
  try {
    if (contentType.startsWith('application/json')) {
      const e = eventEnvelope.safeParse(JSON.parse(raw));
      return e.success ? { body: e.data } : { error: `not a Slack event: ${e.error.issues[0]?.message}` };
    }
    const form = Object.fromEntries(new URLSearchParams(raw));
    if (typeof form.payload === 'string') {
      const p = interactive.safeParse(JSON.parse(form.payload));
      return p.success ? { body: p.data } : { error: 'not a Slack interaction payload' };
    }
    const c = slashCommand.safeParse(form);
    return c.success
      ? { body: c.data }
      : { error: `not a Slack slash command: ${c.error.issues[0]?.path.join('.')} is missing` };
  } catch {
    return { error: 'the body is not valid JSON' };
  }
}

/**
 * Bolt's HTTP receiver as a function of one request, so that Kubemate's own fastify server (under
 * `kubemate serve`) carries Slack's Events API, interactivity and slash commands. Every request is
 * verified first: v0 HMAC-SHA256 of `v0:timestamp:body` with the signing secret, at most 5 minutes old.
 */
export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  /** Deliveries Bolt is still running listeners for (they run on after the ack). */
  private readonly processing = new Set<Promise<unknown>>();

  constructor(
    private readonly signingSecret: string,
    private readonly ackTimeoutMs = 2500,
  ) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Resolves when every accepted delivery has reached its listeners (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.processing.size > 0) await Promise.allSettled([...this.processing]);
  }

  async handle(
    raw: string,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<SlackHttpAnswer> {
    const header = (n: string) => {
      const v = headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    try {
      verifySlackRequest({
        signingSecret: this.signingSecret,
        body: raw,
        headers: {
          'x-slack-signature': header('x-slack-signature') ?? '',
          'x-slack-request-timestamp': Number(header('x-slack-request-timestamp')),
        },
      });
    } catch (e) {
      const reason = (e as Error).message.replace(/^Failed to verify authenticity: /, '');
      return {
        status: 401,
        body: { error: 'invalid Slack request signature or timestamp' },
        refused: reason,
      };
    }
    const parsed = parseBody(raw, header('content-type') ?? '');
    if ('error' in parsed) return { status: 400, body: { error: `invalid request: ${parsed.error}` } };
    const { body } = parsed;
    if (body.type === 'url_verification') return { status: 200, body: { challenge: body.challenge } };
    if (!this.app) return { status: 503, body: { error: 'the Slack bot is not started' } };
    const retry = header('x-slack-retry-num');
    return new Promise<SlackHttpAnswer>((resolve) => {
      let done = false;
      const answer = (a: SlackHttpAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(a);
      };
      const timer = setTimeout(() => answer({ status: 200, body: '' }), this.ackTimeoutMs);
      const processing = this.app!.processEvent({
        body,
        ...(retry ? { retryNum: Number(retry), retryReason: header('x-slack-retry-reason') ?? '' } : {}),
        ack: async (response?: unknown) => answer({ status: 200, body: response ?? '' }),
      }).then(
        () => answer({ status: 200, body: '' }),
        () => answer({ status: 500, body: { error: 'internal error; see the server log' } }),
      );
      this.processing.add(processing);
      void processing.finally(() => this.processing.delete(processing));
    });
  }
}
