/**
 * `/flagger/<gate>`: Flagger's confirm webhooks (confirm-rollout, confirm-traffic-increase,
 * confirm-promotion) answered from Kubemate approvals. Flagger asks at every analysis interval;
 * the first ask requests `canary_gate_open` through the pipeline as the webhook's own principal,
 * which the policy sends to a second person (a ticket, approved in chat or the CLI, audited); the
 * answer is 200 only once that ticket has run. Flagger sends no credentials of its own: the
 * bearer token comes in the Authorization header (a mesh or proxy can add it) or in the
 * webhook's metadata as `token`.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { TokenAuthenticator } from '../mcp/auth.js';
import { ApprovalError, type Approvals } from '../policies/approvals.js';
import { GATES, type Gate, gateKey } from '../tools/canary/gates.js';
import type { CanaryPlanStore } from '../tools/clients/canary-plans.js';
import type { ToolPipeline } from '../tools/core/invoke.js';

export interface FlaggerGateOptions {
  pipeline: ToolPipeline;
  auth: TokenAuthenticator;
  store: CanaryPlanStore;
  approvals?: Approvals;
}

// The payload Flagger posts (flaggerv1.CanaryWebhookPayload).
const payload = z.object({
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(63),
  phase: z.string().max(64).optional(),
  // The release's identity: without it one approval would open the gate for every later release.
  checksum: z
    .string({ error: 'checksum is missing: this Flagger does not say which release asks; upgrade Flagger' })
    .min(1, 'checksum is empty: this Flagger does not say which release asks; upgrade Flagger')
    .max(128),
  metadata: z.record(z.string(), z.string()).optional(),
});

const answer = (reply: FastifyReply, status: number, body: Record<string, unknown>) =>
  reply.code(status).send(body);

export const flaggerGatePlugin: FastifyPluginAsync<FlaggerGateOptions> = async (app, opts) => {
  app.post<{ Params: { gate: string } }>('/flagger/:gate', async (req, reply) => {
    const gate = req.params.gate as Gate;
    const parsed = payload.safeParse(req.body);
    const metaToken = parsed.success ? parsed.data.metadata?.token : undefined;
    const principal =
      opts.auth.authenticate(req.headers.authorization) ??
      (metaToken ? opts.auth.authenticate(`Bearer ${metaToken}`) : undefined);
    if (!principal) {
      return answer(reply, 401, {
        error: 'a bearer token is required (Authorization header, or metadata.token in the Canary webhook)',
      });
    }
    if (!GATES.includes(gate)) {
      return answer(reply, 404, {
        error: `unknown gate '${req.params.gate}'; Kubemate answers ${GATES.join(', ')}`,
      });
    }
    if (!parsed.success) {
      return answer(reply, 400, {
        error: `not a Flagger webhook payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
      });
    }
    const cluster = parsed.data.metadata?.cluster;
    const args = {
      ...(cluster ? { cluster } : {}),
      namespace: parsed.data.namespace,
      name: parsed.data.name,
      gate,
      checksum: parsed.data.checksum,
    };
    const key = gateKey(args);
    const known = await opts.store.gate(key);
    if (known?.openedAt) return answer(reply, 200, { open: true, gate, openedAt: known.openedAt });
    if (known?.ticket && opts.approvals) {
      const status = await (async () => {
        try {
          return (await opts.approvals!.get(known.ticket!)).status;
        } catch (e) {
          if (e instanceof ApprovalError) return 'missing';
          throw e;
        }
      })();
      if (status === 'pending' || status === 'approved' || status === 'executing') {
        return answer(reply, 403, {
          open: false,
          gate,
          ticket: known.ticket,
          status,
          message: `waiting for approval of ticket ${known.ticket}`,
        });
      }
      if (status === 'rejected') {
        return answer(reply, 403, {
          open: false,
          gate,
          ticket: known.ticket,
          status,
          message: `ticket ${known.ticket} was rejected; this release stays held at ${gate}`,
        });
      }
      // expired or failed: ask again below
    }
    const r = await opts.pipeline.invoke('canary_gate_open', args, principal);
    if (r.status === 'success') return answer(reply, 200, { open: true, gate });
    if (r.status === 'approval_required' && r.ticket) {
      await opts.store.setGateTicket(key, r.ticket.id);
      return answer(reply, 403, {
        open: false,
        gate,
        ticket: r.ticket.id,
        status: 'pending',
        message: `waiting for approval of ticket ${r.ticket.id}`,
      });
    }
    return answer(reply, r.status === 'invalid' ? 400 : 403, {
      open: false,
      gate,
      status: r.status,
      message: r.text,
    });
  });
};
