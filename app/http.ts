import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from 'fastify';
import { alertsHttpPlugin } from '../alerts/http.js';
import { checkOrigin } from '../mcp/auth.js';
import { mcpHttpPlugin } from '../mcp/http.js';
import { PrincipalLimiter } from '../tools/core/limits.js';
import type { Alerts } from './alerts.js';
import { askHttpPlugin } from './ask-http.js';
import { type Bots, dingtalkHttpPlugin, feishuHttpPlugin, slackHttpPlugin, wecomHttpPlugin } from './bots.js';
import { flaggerGatePlugin } from './flagger-gate.js';
import { reportsHttpPlugin } from './reports-http.js';
import type { App } from './wiring.js';

const READINESS_TTL_MS = 5000;
const READINESS_TIMEOUT_MS = 2000;

/** Liveness and readiness. Ready means every configured cluster's API server answered recently. */
const healthPlugin: FastifyPluginAsync<{ app: App }> = async (fastify, { app }) => {
  let cached: { at: number; unreachable: string[] } | undefined;
  const probe = async () => {
    if (cached && Date.now() - cached.at < READINESS_TTL_MS) return cached.unreachable;
    const names = app.clusters.names();
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          await Promise.race([
            app.clusters.get(name).raw.get('/version'),
            new Promise((_, reject) =>
              setTimeout(() => reject(new Error('timeout')), READINESS_TIMEOUT_MS).unref(),
            ),
          ]);
          return undefined;
        } catch {
          return name;
        }
      }),
    );
    cached = { at: Date.now(), unreachable: results.filter((n): n is string => n !== undefined) };
    return cached.unreachable;
  };
  fastify.get('/healthz', async () => ({ status: 'ok' }));
  // Cluster names are for callers with a token; anyone else (a load balancer, a probe) gets the status.
  fastify.get('/readyz', async (req, reply) => {
    const unreachable = await probe();
    const named = app.auth.authenticate(req.headers.authorization) !== undefined;
    if (unreachable.length > 0) {
      return reply
        .code(503)
        .send({ status: 'not ready', ...(named ? { unreachableClusters: unreachable } : {}) });
    }
    return { status: 'ready', ...(named ? { clusters: app.clusters.names() } : {}) };
  });
};

const metricsPlugin: FastifyPluginAsync<{ app: App }> = async (fastify, { app }) => {
  fastify.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
};

export async function buildHttpServer(app: App, bots: Bots = {}, alerts?: Alerts): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: app.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per tool call comes from the pipeline; per-request lines would repeat it.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const origins = {
    allowedHosts: app.config.server.allowedHosts,
    allowedOrigins: app.config.server.allowedOrigins,
  };
  // DNS-rebinding protection for every route, unknown ones included: a hook on the root instance
  // runs before any plugin's routes and before the 404 handler. The MCP and ask plugins check again.
  fastify.addHook('onRequest', async (req, reply) => {
    const refused = checkOrigin(origins, req.headers.host, req.headers.origin);
    if (!refused) return;
    const message = `Forbidden: ${refused}`;
    return reply
      .code(403)
      .send(
        req.url === '/mcp' || req.url.startsWith('/mcp?')
          ? { jsonrpc: '2.0', error: { code: -32000, message }, id: null }
          : { error: message },
      );
  });
  fastify.addHook('onResponse', async (req, reply) => {
    app.metrics.service.observeRequest(
      req.method,
      req.routeOptions.url ?? '(unmatched)',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  await fastify.register(healthPlugin, { app });
  await fastify.register(metricsPlugin, { app });
  const { ask, mcp } = app.config.limits;
  await fastify.register(mcpHttpPlugin, {
    pipeline: app.pipeline,
    auth: app.auth,
    origins,
    limits: { limiter: new PrincipalLimiter(mcp), maxBatch: mcp.maxBatch },
  });
  await fastify.register(askHttpPlugin, {
    agent: () => app.agent(),
    auth: app.auth,
    origins,
    limiter: new PrincipalLimiter(ask),
  });
  await fastify.register(reportsHttpPlugin, {
    pipeline: app.pipeline,
    auth: app.auth,
    store: app.inspections,
  });
  if (bots.slack) await fastify.register(slackHttpPlugin, { bot: bots.slack, app });
  if (alerts)
    await fastify.register(alertsHttpPlugin, {
      service: alerts.service,
      store: alerts.store,
      token: alerts.token,
      audit: app.audit,
    });
  await fastify.register(flaggerGatePlugin, {
    pipeline: app.pipeline,
    auth: app.auth,
    store: app.canaryPlans,
    ...(app.approvals ? { approvals: app.approvals } : {}),
  });
  if (bots.feishu && app.config.bots.feishu.mode === 'webhook')
    await fastify.register(feishuHttpPlugin, { bot: bots.feishu, app });
  if (bots.wecom?.mode === 'callback') await fastify.register(wecomHttpPlugin, { bot: bots.wecom, app });
  if (bots.dingtalk?.mode === 'http') await fastify.register(dingtalkHttpPlugin, { bot: bots.dingtalk, app });
  return fastify;
}
