import { citationLabel, orderCitations } from './citations.js';
import { distinctProposals } from './confirm.js';
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
    tail.push(
      `Paused for approval: ${pending.plan}\nTicket ${pending.id} waits for an approver (kubemate approvals approve ${pending.id}); once it is decided, continue with: kubemate ask --resume ${state.runId}`,
    );
  }
  const orYes =
    distinctProposals(state.blocked).length === 1
      ? ', or reply "yes" to run exactly this call (approval rules still apply)'
      : '';
  for (const b of state.blocked) {
    tail.push(
      `Not done: ${callLabel(b.name, b.args)}. Kubemate did not run it because it was ${b.reason}. It was ${b.origin}. If you want this change, ask for it in your own words${orYes}.`,
    );
  }
  const calls = state.toolCalls.map((c) => `${callLabel(c.name, c.args)} → ${c.status}`);
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
