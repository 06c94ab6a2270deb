import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RefusedDeliveries } from '../bots/core/people.js';
import type { AuditSink } from '../policies/types.js';
import type { AlertService } from './service.js';
import type { AlertStore } from './store.js';
import { explain, webhookSchema } from './webhook.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the Authorization header carries the token (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return !!m && timingSafeEqual(digest(m[1]!.trim()), digest(token));
}

/**
 * POST /api/alerts: Alertmanager's webhook. Authenticated with the bearer token Alertmanager sends
 * (`http_config.authorization`); the payload is validated and stored before the answer, so a 200
 * means nothing is lost; a bad payload gets a 400 saying what is wrong, is counted, and changes nothing.
 */
export const alertsHttpPlugin: FastifyPluginAsync<{
  service: AlertService;
  store: AlertStore;
  token: string;
  audit: AuditSink;
}> = async (fastify, { service, store, token, audit }) => {
  const refused = new RefusedDeliveries(audit, 'alertmanager');
  // The token is checked before the body is read: a caller without it costs no parsing.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    if (bearerMatches(req.headers.authorization, token)) return;
    await store.count('unauthorized');
    if (refused.record('missing or wrong bearer token on /api/alerts'))
      req.log.warn('alertmanager webhook refused: bad bearer token');
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized: send the alerts.token as a bearer token (http_config.authorization)' });
  };
  fastify.post('/api/alerts', { bodyLimit: 8 * 1024 * 1024, onRequest: authenticate }, async (req, reply) => {
    const parsed = webhookSchema.safeParse(req.body);
    if (!parsed.success) {
      await store.count('invalid');
      return reply
        .code(400)
        .send({ error: `invalid Alertmanager webhook payload: ${explain(parsed.error)}` });
    }
    const { group, fired, resolved } = await service.receive(parsed.data);
    return reply.send({ ok: true, group: group.id, fired: fired.length, resolved: resolved.length });
  });
};
