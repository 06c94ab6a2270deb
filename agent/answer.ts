import { citationLabel, orderCitations } from './citations.js';
import { distinctProposals } from './confirm.js';
import { confirmable } from './proposal.js';
import type { RunState } from './state.js';
import { callLabel } from './tool-call.js';
import type { AgentAnswer, AnswerStatus } from './types.js';

/**
 * The parts of an answer that do not depend on the model: outcomes of decided tickets, the pause
 * and how to continue, changes refused because nobody asked for them, and the tool calls and
 * runbooks the answer rests on. `lead` comes first (ticket outcomes), `tail` after the model's text.
 */
export function answerParts(state: RunState, pending?: { id: string; plan: string }) {
  const lead = state.facts.join('\n');
  const tail: string[] = [];
  if (pending) {
    // In chat the card below the answer is how it is decided, and the run goes on by itself.
    const next =
      state.principal.source === 'chat'
        ? `Ticket ${pending.id} waits for an approver: the card in this thread has Approve / Reject, and I continue here once it is decided.`
        : `Ticket ${pending.id} waits for an approver (kubemate approvals approve ${pending.id}); once it is decided, continue with: kubemate ask --resume ${state.runId}`;
    tail.push(`Paused for approval: ${pending.plan}\n${next}`);
  }
  // A plain yes is enough when only one change was proposed; with several, the digest says which.
  const single = distinctProposals(state.blocked).length === 1;
  for (const b of state.blocked) {
    const shown = b.shown ?? callLabel(b.name, b.args);
    const howToConfirm = confirmable(b)
      ? `, or reply "yes ${b.digest}"${single ? ' (or just "yes")' : ''} to run exactly the call shown here (approval rules still apply)`
      : `; a yes cannot confirm it because ${b.notConfirmable ?? 'it was not shown whole'}`;
    tail.push(
      `Not done: ${shown}. Kubemate did not run it because it was ${b.reason}. It was ${b.origin}. If you want this change, ask for it in your own words${howToConfirm}.`,
    );
  }
  // A refused call is named as its proposal shows it (values a tool masks stay masked).
  const proposed = new Map(state.blocked.map((b) => [`${b.name} ${JSON.stringify(b.args)}`, b.shown]));
  const calls = state.toolCalls.map((c) => {
    const shown = c.status === 'denied' ? proposed.get(`${c.name} ${JSON.stringify(c.args)}`) : undefined;
    const label = shown
      ? shown.length > 160
        ? `${shown.slice(0, 159)}…`
        : shown
      : callLabel(c.name, c.args);
    return `${label} → ${c.status}`;
  });
  if (calls.length) tail.push(`Tool calls: ${calls.join('; ')}`);
  return { lead, tail: tail.join('\n\n') };
}

export function composeAnswer(
  state: RunState,
  status: AnswerStatus,
  content: string,
  pending?: { id: string; plan: string },
): AgentAnswer {
  const { lead, tail } = answerParts(state, pending);
  const { all } = orderCitations(content, state.consulted);
  const runbooks = all.length ? `Runbooks: ${all.slice(0, 5).map(citationLabel).join('; ')}` : '';
  const text = [lead, content, tail, runbooks].filter((p) => p.trim()).join('\n\n');
  const usage = {
    ...state.usage,
    overheadMs: Math.max(0, state.wallMs - state.usage.modelMs - state.usage.toolMs),
  };
  return {
    runId: state.runId,
    threadId: state.threadId,
    status,
    text,
    citations: all,
    toolCalls: state.toolCalls.map((c) => ({ ...c })),
    ...(pending ? { pendingTicket: pending } : {}),
    ...(state.blocked.length ? { blockedWrites: state.blocked.map((b) => ({ ...b })) } : {}),
    notices: [...state.notices],
    usage,
  };
}
