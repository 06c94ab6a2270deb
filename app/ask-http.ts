import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Agent, type AgentEvent, AgentInputError, AgentStoreError } from '../agent/index.js';
import { checkOrigin, type OriginPolicy, type TokenAuthenticator } from '../mcp/auth.js';
import type { Principal } from '../policies/types.js';
import { describeIssues } from '../tools/core/invoke.js';
import type { PrincipalLimiter } from '../tools/core/limits.js';

export interface AskHttpOptions {
  agent: () => Agent;
  auth: TokenAuthenticator;
  origins: OriginPolicy;
  /** Per-principal limits on questions (and resumes): in flight at once and per minute. */
  limiter?: PrincipalLimiter;
}

const askBody = z.strictObject({
  question: z
    .string()
    .trim()
    .min(1, 'the question is empty')
    .max(8000, 'the question is longer than 8000 characters'),
  threadId: z
    .string()
    .regex(/^th_[0-9a-f]{16}$/, 'must be a thread id such as th_0123456789abcdef')
    .optional(),
});
const resumeBody = z.strictObject({
  runId: z.string().regex(/^run_[0-9a-f]{16}$/, 'must be a run id such as run_0123456789abcdef'),
});

function problem(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({ error: message });
}

/**
 * Streams a run as server-sent events: one `event: <type>` per AgentEvent, `done` last with the
 * answer. A client that goes away cancels the run (tool calls in flight end as cancelled).
 */
async function stream(
  req: FastifyRequest,
  reply: FastifyReply,
  run: (signal: AbortSignal, onEvent: (e: AgentEvent) => void) => Promise<unknown>,
) {
  const controller = new AbortController();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  const send = (type: string, data: unknown) => {
    if (!res.destroyed) res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    await run(controller.signal, (e) => send(e.type, e));
  } catch (e) {
    const known = e instanceof AgentInputError || e instanceof AgentStoreError;
    if (!known) req.log.error({ error: String((e as Error)?.stack ?? e) }, 'ask failed');
    send('error', {
      type: 'error',
      message: known ? (e as Error).message : 'internal error; see the server log',
    });
  } finally {
    res.end();
  }
}

/**
 * `/api/ask` and `/api/ask/resume`: the agent over HTTP for chat front ends and scripts,
 * bearer-authenticated like /mcp (same tokens, same Host/Origin checks), answers as SSE.
 */
export const askHttpPlugin: FastifyPluginAsync<AskHttpOptions> = async (app, opts) => {
  app.addHook('onRequest', async (req, reply) => {
    const refused = checkOrigin(opts.origins, req.headers.host, req.headers.origin);
    if (refused) return problem(reply, 403, `Forbidden: ${refused}`);
    const principal = opts.auth.authenticate(req.headers.authorization);
    if (!principal) {
      reply.header('WWW-Authenticate', 'Bearer realm="kubemate"');
      return problem(
        reply,
        401,
        `Unauthorized: ${req.headers.authorization ? 'the bearer token is not recognised' : 'a bearer token is required'}`,
      );
    }
    req.principal = principal;
  });

  // Each question runs a model and tools for a while: one principal may not queue up many.
  app.addHook('preHandler', async (req, reply) => {
    if (!opts.limiter) return;
    const admission = opts.limiter.admit((req.principal as Principal).id);
    if (!admission.ok) {
      reply.header('Retry-After', String(admission.retryAfterSeconds));
      return problem(
        reply,
        429,
        `Too many requests: ${admission.reason}; retry after ${admission.retryAfterSeconds} s`,
      );
    }
    reply.raw.once('finish', admission.release);
    reply.raw.once('close', admission.release);
  });

  app.post('/api/ask', async (req, reply) => {
    const body = askBody.safeParse(req.body ?? {});
    if (!body.success) return problem(reply, 400, `invalid request: ${describeIssues(body.error)}`);
    const principal = req.principal as Principal;
    const agent = opts.agent();
    await stream(req, reply, (signal, onEvent) =>
      agent.ask({
        question: body.data.question,
        principal,
        ...(body.data.threadId ? { threadId: body.data.threadId } : {}),
        signal,
        onEvent,
      }),
    );
  });

  app.post('/api/ask/resume', async (req, reply) => {
    const body = resumeBody.safeParse(req.body ?? {});
    if (!body.success) return problem(reply, 400, `invalid request: ${describeIssues(body.error)}`);
    const agent = opts.agent();
    await stream(req, reply, (signal, onEvent) =>
      agent.resume(body.data.runId, req.principal, { signal, onEvent }),
    );
  });
};
