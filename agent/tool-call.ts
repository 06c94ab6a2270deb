import type { Principal } from '../policies/types.js';
import type { InvokeResult } from '../tools/core/invoke.js';
import { cutToTokens } from './budget.js';
import { citationsFrom } from './citations.js';
import type { AgentDeps } from './deps.js';
import { originLabel, readLabel, withoutDefaults, writeRequested } from './guard.js';
import { plainPlan } from './plan.js';
import { exactCall, proposalView } from './proposal.js';
import type { ToolCall } from './providers/types.js';
import type { RunState } from './state.js';
import type { AgentEvent } from './types.js';
import { wrapUntrusted } from './untrusted.js';

export interface CallContext {
  deps: AgentDeps;
  state: RunState;
  emit: (e: AgentEvent) => void;
  signal?: AbortSignal;
}

export type CallOutcome = { paused: false } | { paused: true; ticketId: string; plan: string };

/**
 * The principal the agent acts as: the asker, marked as acting through the agent and, for the
 * audit, the surface they asked through.
 */
export function actingAs(p: Principal): Principal {
  const via = p.source === 'agent' ? p.via : p.source;
  return { id: p.id, groups: [...p.groups], source: 'agent', ...(via ? { via } : {}) };
}

export function argsObject(args: unknown): Record<string, unknown> {
  return args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
}

/**
 * `pods_logs namespace="payments" pod="api-x"`, bounded: how answers name the calls they rest on.
 * Characters that do not show are written as escapes, as in a proposal (proposal.ts).
 */
export function callLabel(name: string, args: unknown): string {
  const text = exactCall(name, argsObject(args));
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

function summary(text: string): string {
  const first = text.split('\n').find((l) => l.trim()) ?? '';
  return first.length > 200 ? `${first.slice(0, 199)}…` : first;
}

/** What the model reads back: Kubemate's status line, then the result as untrusted data. */
export function toolMessage(
  state: RunState,
  name: string,
  args: unknown,
  status: string,
  text: string,
  limit: number,
) {
  return `status: ${status}\n${wrapUntrusted(state.nonce, readLabel(name, args), cutToTokens(text, limit, 'result'))}`;
}

/**
 * Runs one tool call the model asked for: the write guard first, then the pipeline as the asking
 * principal. Appends the tool message to the run and records the call; pauses on approval.
 */
export async function runToolCall(ctx: CallContext, call: ToolCall): Promise<CallOutcome> {
  const { deps, state, emit } = ctx;
  const limit = deps.config.toolResultTokens;
  const push = (status: string, text: string) =>
    state.messages.push({
      role: 'tool',
      toolCallId: call.id,
      name: call.name,
      content: toolMessage(state, call.name, call.arguments, status, text, limit),
    });
  emit({ type: 'tool_call', name: call.name, args: call.arguments });

  const def = deps.pipeline.registry.find(call.name);
  const isWrite = !!def && !def.annotations.readOnlyHint;
  let origin: string | undefined;
  if (isWrite) {
    const parsed = def.input.safeParse(call.arguments ?? {});
    origin = originLabel(deps.pipeline.policy.personOf(state.principal), state.question, state.reads);
    if (parsed.success) {
      // What the model asked for, as the tool will read it; defaults, sent or not, are not targets.
      const given = argsObject(call.arguments);
      const data = parsed.data as Record<string, unknown>;
      const args = Object.fromEntries(Object.entries(data).filter(([k]) => k in given));
      const verdict = writeRequested(def, withoutDefaults(def, given, data), state.userWords);
      if (!verdict.ok) {
        const view = proposalView(def, call.name, call.arguments);
        state.blocked.push({
          name: call.name,
          args: call.arguments,
          reason: verdict.reason,
          origin,
          ...view,
        });
        state.toolCalls.push({ name: call.name, args: call.arguments, status: 'denied' });
        await deps.pipeline.recordRefusal(
          state.principal,
          call.name,
          args,
          verdict.reason,
          'agent write guard',
        );
        deps.logger.warn(
          { tool: call.name, principal: state.principal.id, run: state.runId, reason: verdict.reason },
          'agent refused a change the user did not ask for',
        );
        push(
          'refused',
          `Kubemate refused this call and nothing was executed: ${verdict.reason}. Do not retry it. Tell the user what you would change and why; they can ask for it in their own words.`,
        );
        emit({ type: 'tool_result', name: call.name, status: 'denied', summary: verdict.reason });
        return { paused: false };
      }
    }
  }

  const { result, outcome } = await invokeAsAsker(ctx, call.name, call.arguments, origin);
  if (def?.annotations.readOnlyHint && result.status !== 'invalid' && result.status !== 'denied') {
    state.reads.push(readLabel(call.name, call.arguments));
  }
  state.consulted.push(...citationsFrom(result.structured));
  if (!outcome.paused) push(result.status, result.text);
  return outcome;
}

/**
 * One call through the pipeline as the asker: timed, recorded among the run's calls, reported as
 * events, and paused (with the ticket's plan in plain words) when it needs approval.
 */
export async function invokeAsAsker(
  ctx: CallContext,
  name: string,
  args: unknown,
  origin?: string,
): Promise<{ result: InvokeResult; outcome: CallOutcome }> {
  const { deps, state, emit } = ctx;
  const started = performance.now();
  let result: InvokeResult;
  try {
    result = await deps.pipeline.invoke(name, args ?? {}, actingAs(state.principal), {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(origin ? { origin } : {}),
    });
  } finally {
    state.usage.toolMs += performance.now() - started;
  }
  state.toolCalls.push({ name, args, status: result.status });
  if (result.status === 'approval_required' && result.ticket) {
    const plan = plainPlan(result.ticket.plan);
    emit({
      type: 'tool_result',
      name,
      status: result.status,
      summary: `approval required: ticket ${result.ticket.id}`,
    });
    emit({ type: 'approval_required', ticketId: result.ticket.id, plan });
    return { result, outcome: { paused: true, ticketId: result.ticket.id, plan } };
  }
  emit({
    type: 'tool_result',
    name,
    status: result.status,
    summary: summary(result.text),
    ...(result.images?.length ? { images: result.images } : {}),
  });
  return { result, outcome: { paused: false } };
}
