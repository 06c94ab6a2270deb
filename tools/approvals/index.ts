import { z } from 'zod';
import { ApprovalError, type Ticket } from '../../policies/approvals.js';
import { ToolError } from '../core/errors.js';
import { defineToolset, type Toolset } from '../core/toolset.js';
import { defineTool, listOutput, type ToolContext, type ToolDef } from '../core/types.js';

/** Tools of this toolset are never themselves put behind an approval (see policies/engine.ts). */
const TOOLSET = 'approvals';
const ticketArg = z
  .string()
  .regex(/^apr_[0-9a-f]{12}$/, 'must be a ticket id such as apr_1a2b3c4d5e6f')
  .describe('Approval ticket id, e.g. apr_1a2b3c4d5e6f');

const ticketOut = z.object({
  id: z.string(),
  tool: z.string(),
  plan: z.string(),
  status: z.string(),
  requester: z.string(),
  approvals: z.array(z.string()),
  required: z.number(),
  expiresAt: z.string(),
  outcome: z.string().optional(),
});

function access(ctx: ToolContext) {
  if (!ctx.approvals) {
    throw new ToolError(
      'backend_unavailable',
      'approvals are not configured: set policy.file to use approval tickets',
    );
  }
  return ctx.approvals;
}

function view(t: Ticket) {
  return {
    id: t.id,
    tool: t.tool,
    plan: t.plan,
    status: t.status,
    requester: t.requesterPerson,
    approvals: t.approvals.map((a) => a.person),
    required: t.required.count,
    expiresAt: t.expiresAt,
    ...(t.outcome ? { outcome: `${t.outcome.status}: ${t.outcome.text.slice(0, 300)}` } : {}),
  };
}

async function ticketOrError(ctx: ToolContext, id: string): Promise<Ticket> {
  try {
    return await access(ctx).get(id);
  } catch (e) {
    if (e instanceof ApprovalError) throw new ToolError('not_found', e.message);
    throw e;
  }
}

const writeAnnotations = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
} as const;
const readAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

export const approvalTools: ToolDef[] = [
  defineTool({
    name: 'approvals_list',
    title: 'Approvals: List',
    description:
      'List approval tickets: calls that wait for a second person before they run, with what each will run exactly, who asked, who approved and when it expires. Call this to find tickets to approve or to follow up your own.',
    input: z.object({
      status: z
        .enum(['pending', 'approved', 'executing', 'executed', 'failed', 'rejected', 'expired'])
        .optional()
        .describe('Only tickets in this state; omit for all recent tickets'),
      mine: z.boolean().optional().describe('Only tickets you requested'),
    }),
    output: listOutput({
      total: z.number(),
      items: z.array(ticketOut),
    }),
    annotations: readAnnotations,
    permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
    async handler(args, ctx) {
      const tickets = await access(ctx).list({
        ...(args.status ? { status: args.status } : {}),
        mine: args.mine ?? false,
      });
      const rows = tickets.map(view);
      return {
        kind: 'list',
        header: `${rows.length} approval tickets${args.status ? ` ${args.status}` : ''}${args.mine ? ' requested by you' : ''}.`,
        columns: ['TICKET', 'STATUS', 'REQUESTER', 'APPROVALS', 'EXPIRES', 'PLAN'],
        items: rows,
        row: (r: ReturnType<typeof view>) => [
          r.id,
          r.status,
          r.requester,
          `${r.approvals.length}/${r.required}`,
          r.expiresAt,
          r.plan,
        ],
        toStructured: (r: ReturnType<typeof view>) => ({ ...r }),
        narrow: 'give a status such as pending, or mine=true',
        totals: { total: rows.length },
      };
    },
  }),
  defineTool({
    name: 'approvals_get',
    title: 'Approvals: Get',
    description:
      'Show one approval ticket: the exact call it will run, its requester, approvals so far, expiry and, once run, its outcome.',
    input: z.object({ ticket: ticketArg }),
    output: ticketOut,
    annotations: readAnnotations,
    permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
    async handler(args, ctx) {
      const t = view(await ticketOrError(ctx, args.ticket));
      const text = [
        `Ticket ${t.id}: ${t.status}. Runs exactly: ${t.plan}`,
        `Requested by ${t.requester}; approvals ${t.approvals.length} of ${t.required}${t.approvals.length ? ` (${t.approvals.join(', ')})` : ''}; expires ${t.expiresAt}.`,
        ...(t.outcome ? [`Outcome: ${t.outcome}`] : []),
      ].join('\n');
      return { kind: 'doc', text, structured: t };
    },
  }),
  defineTool({
    name: 'approvals_approve',
    title: 'Approvals: Approve',
    description:
      "Approve another person's pending ticket. When the required number of approvals is reached, the exact approved call runs once, as its requester, and its result is returned. You cannot approve your own ticket, and you must yourself be allowed to run the call.",
    input: z.object({ ticket: ticketArg }),
    annotations: writeAnnotations,
    permission: { toolset: TOOLSET, verb: 'write', namespaced: false },
    async handler(args, ctx) {
      const result = await access(ctx).approve(args.ticket);
      if (result.status === 'denied' || result.status === 'error')
        throw new ToolError('forbidden', result.text);
      return { kind: 'doc', text: result.text };
    },
  }),
  defineTool({
    name: 'approvals_reject',
    title: 'Approvals: Reject',
    description:
      'Reject a pending ticket (or withdraw your own) so that its call never runs; give a reason for the requester.',
    input: z.object({
      ticket: ticketArg,
      reason: z.string().max(500).optional().describe('Why, for the requester'),
    }),
    annotations: { ...writeAnnotations, destructiveHint: false, idempotentHint: true },
    permission: { toolset: TOOLSET, verb: 'write', namespaced: false },
    async handler(args, ctx) {
      const result = await access(ctx).reject(args.ticket, args.reason);
      if (result.status !== 'success') throw new ToolError('forbidden', result.text);
      return { kind: 'doc', text: result.text };
    },
  }),
];

export const approvalsToolset: Toolset = defineToolset({
  name: 'approvals',
  backends: [],
  tools: approvalTools,
});
