import { ApprovalError, type Ticket } from '../policies/approvals.js';
import type { AgentDeps } from './deps.js';
import type { PendingCall } from './state.js';
import { toolMessage } from './tool-call.js';

export interface Decided {
  /** One line for the answer, whatever the model makes of it. */
  fact: string;
  /** What the model reads back for the paused call. */
  toolMessage: string;
}

const firstLine = (text: string) => {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
};

/**
 * The decision on a paused run's ticket, read from the approval store: the pipeline records the
 * outcome of an approved call on the ticket (executed or failed, with its result text). Undefined
 * while the ticket is still pending, approved-but-not-run, or running.
 */
export async function decidedTicket(
  deps: AgentDeps,
  pending: PendingCall,
  nonce: string,
): Promise<Decided | undefined> {
  const store = deps.pipeline.approvals;
  let ticket: Ticket;
  try {
    if (!store) throw new ApprovalError('not_found', 'no approval store is configured');
    ticket = await store.get(pending.ticketId);
  } catch (e) {
    if (!(e instanceof ApprovalError)) throw e;
    const fact = `Ticket ${pending.ticketId} can no longer be found (${e.message}); ${pending.plan} did not run as far as Kubemate knows.`;
    return { fact, toolMessage: `status: error\n${fact}` };
  }
  const limit = deps.config.toolResultTokens;
  const state = { nonce } as Parameters<typeof toolMessage>[0];
  const approvers = ticket.approvals.map((a) => a.person).join(', ') || ticket.decidedBy || 'an approver';
  switch (ticket.status) {
    case 'executed': {
      const text = ticket.outcome?.text ?? '';
      return {
        fact: `Ticket ${ticket.id} was approved by ${approvers} and ran: ${pending.plan} Result: ${firstLine(text)}`,
        toolMessage: toolMessage(
          state,
          pending.call.name,
          pending.call.arguments,
          ticket.outcome?.status ?? 'success',
          `approved by ${approvers} and executed.\n${text}`,
          limit,
        ),
      };
    }
    case 'failed': {
      const text = ticket.outcome?.text ?? '';
      return {
        fact: `Ticket ${ticket.id} was approved by ${approvers}, but the call failed: ${firstLine(text)}`,
        toolMessage: toolMessage(
          state,
          pending.call.name,
          pending.call.arguments,
          ticket.outcome?.status ?? 'error',
          `approved by ${approvers}, but it failed.\n${text}`,
          limit,
        ),
      };
    }
    case 'rejected': {
      const fact = `Ticket ${ticket.id} was rejected by ${ticket.decidedBy ?? 'an approver'}${ticket.note ? ` ("${firstLine(ticket.note)}")` : ''}; ${pending.plan} did not run.`;
      return {
        fact,
        toolMessage: toolMessage(state, pending.call.name, pending.call.arguments, 'rejected', fact, limit),
      };
    }
    case 'expired': {
      const fact = `Ticket ${ticket.id} expired at ${ticket.expiresAt} without a decision; ${pending.plan} did not run. Ask again to request a new ticket.`;
      return { fact, toolMessage: `status: expired\n${fact}` };
    }
    default:
      return undefined;
  }
}
