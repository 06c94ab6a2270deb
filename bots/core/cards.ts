import type { Ticket } from '../../policies/approvals.js';
import { describeCall } from '../../tools/core/invoke.js';
import type { ApprovalCard } from './types.js';

const DECIDED = new Set(['executed', 'rejected', 'expired', 'failed']);

function outcomeOf(t: Ticket): string | undefined {
  const who = t.decidedBy ?? t.approvals.map((a) => a.person).join(', ');
  const when = t.outcome?.at ?? t.approvals.at(-1)?.at;
  switch (t.status) {
    case 'executed':
    case 'failed':
      return `Approved by ${who}${when ? ` at ${when}` : ''}; result: ${t.outcome?.status ?? t.status}${
        t.outcome?.text ? ` — ${t.outcome.text.slice(0, 300)}` : ''
      }`;
    case 'rejected':
      return `Rejected by ${t.decidedBy ?? 'someone'}${t.note ? `: ${t.note.slice(0, 300)}` : ''}`;
    case 'expired':
      return `Expired at ${t.expiresAt}; nothing ran.`;
    default:
      return undefined;
  }
}

/** The card for a ticket, built from the ticket alone: the message is a view over it. */
export function cardOf(t: Ticket, notice?: string): ApprovalCard {
  const outcome = outcomeOf(t);
  return {
    ticketId: t.id,
    tool: t.tool,
    call: describeCall(t.tool, t.args),
    plan: t.plan,
    requester: t.requesterPerson,
    expiresAt: t.expiresAt,
    status: t.status,
    approvals: t.approvals.map((a) => a.person),
    required: t.required.count,
    ...(outcome ? { outcome } : {}),
    ...(notice ? { notice } : {}),
  };
}

/** Buttons only while a press can still change something. */
export const cardOpen = (c: ApprovalCard) => !DECIDED.has(c.status) && c.status === 'pending';

export function cardText(c: ApprovalCard): string {
  return `Approval needed (${c.ticketId}) for ${c.requester}: ${c.plan}`;
}
