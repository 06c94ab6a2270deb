import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { PrincipalLimiter } from '../tools/core/limits.js';
import { checkOrigin, type OriginPolicy, type TokenAuthenticator } from './auth.js';
import { buildMcpServer } from './server.js';

export interface McpHttpOptions {
  pipeline: ToolPipeline;
  auth: TokenAuthenticator;
  origins: OriginPolicy;
  /** Per-principal limits: requests in flight and per minute (a batch costs one per message), batch size. */
  limits?: { limiter: PrincipalLimiter; maxBatch: number };
}

function jsonRpcError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply.code(status).send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * `/mcp` over Streamable HTTP, stateless: each POST gets a server built for the caller's
 * principal, so nothing is shared between callers and any instance can answer any request.
 */
export const mcpHttpPlugin: FastifyPluginAsync<McpHttpOptions> = async (app, opts) => {
  app.addHook('onRequest', async (req, reply) => {
    const refused = checkOrigin(opts.origins, req.headers.host, req.headers.origin);
    if (refused) return jsonRpcError(reply, 403, -32000, `Forbidden: ${refused}`);
    const principal = opts.auth.authenticate(req.headers.authorization);
    if (!principal) {
      reply.header('WWW-Authenticate', 'Bearer realm="kubemate"');
      const why = req.headers.authorization
        ? 'the bearer token is not recognised'
        : 'a bearer token is required';
      return jsonRpcError(reply, 401, -32001, `Unauthorized: ${why}`);
    }
    req.principal = principal;
  });

  // After the body is parsed (the batch size is known) and before any message is handled.
  app.addHook('preHandler', async (req, reply) => {
    const limits = opts.limits;
    if (!limits || req.method !== 'POST') return;
    const messages = Array.isArray(req.body) ? req.body.length : 1;
    if (messages > limits.maxBatch) {
      return jsonRpcError(
        reply,
        400,
        -32600,
        `Invalid Request: a batch of ${messages} messages is more than the ${limits.maxBatch} allowed (limits.mcp.maxBatch); send fewer at once`,
      );
    }
    const admission = limits.limiter.admit(req.principal!.id, messages);
    if (!admission.ok) {
      reply.header('Retry-After', String(admission.retryAfterSeconds));
      return jsonRpcError(
        reply,
        429,
        -32000,
        `Too many requests: ${admission.reason}; retry after ${admission.retryAfterSeconds} s`,
      );
    }
    // The reply is hijacked below: its end is seen on the raw response, whichever way it ends.
    reply.raw.once('finish', admission.release);
    reply.raw.once('close', admission.release);
  });

  app.post('/mcp', async (req, reply) => {
    const principal = req.principal!;
    const server = buildMcpServer(opts.pipeline, principal);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req.raw, reply.raw, req.body);
  });

  const notAllowed = async (_req: unknown, reply: FastifyReply) => {
    reply.header('Allow', 'POST');
    return jsonRpcError(reply, 405, -32000, 'Method not allowed: this server is stateless; use POST');
  };
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);
};

declare module 'fastify' {
  interface FastifyRequest {
    principal?: import('../policies/types.js').Principal;
  }
}
