import { estimateTokens, fitToBudget, promptTokens } from './budget.js';
import { effectiveTokenBudget } from './config.js';
import { prompt } from './prompts.js';
import { type ChatMessage, type ChatResponse, LlmError, type LlmProvider } from './providers/types.js';
import { type CallContext, runToolCall } from './tool-call.js';
import { offeredTools } from './tool-specs.js';

export type LoopOutcome =
  | { kind: 'answered'; content: string }
  | { kind: 'paused' }
  /** The model could not be reached before anything happened: the caller falls back to degraded mode. */
  | { kind: 'offline'; error: LlmError }
  | { kind: 'failed'; message: string };

/**
 * The tool-calling loop: ask the model, run the tool calls it makes through the pipeline, feed
 * the results back, until it answers, the step limit is reached (the last call offers no tools,
 * so the run always ends with an answer), or a call needs approval (the run pauses).
 * `memory` counts the remembered-turn messages after the system prompt (the budget may drop them).
 */
export async function runLoop(
  ctx: CallContext,
  llm: LlmProvider,
  memory: { count: number },
): Promise<LoopOutcome> {
  const { deps, state, emit } = ctx;
  const { maxSteps } = deps.config;
  const budget = effectiveTokenBudget(deps.config, llm.contextWindow);
  const { specs: tools, catalog } = offeredTools(deps.pipeline, state.principal, state.userWords);
  const system = state.messages[0];
  if (catalog && system?.role === 'system' && !system.content.includes(catalog)) {
    system.content = `${system.content.replace(/\n\nOther read-only tools you may call by name[^\n]*$/, '')}\n\n${catalog}`;
  }
  let warnedTrim = false;
  for (;;) {
    const last = state.usage.steps + 1 >= maxSteps;
    const offer = last ? [] : tools;
    const tail: ChatMessage[] = last ? [{ role: 'user', content: prompt('step-limit', { maxSteps }) }] : [];
    const fit = fitToBudget(state.messages, offer, budget - promptTokens(tail, []), memory);
    if ((fit.trimmedResults || fit.droppedTurns || fit.over) && !warnedTrim) {
      warnedTrim = true;
      const note = fit.over
        ? `the conversation does not fit the token budget (${budget}) even after trimming; the answer may miss context`
        : `trimmed to fit the token budget (${budget}): ${fit.trimmedResults} older tool results, ${fit.droppedTurns} earlier turns`;
      state.notices.push(note);
      emit({ type: 'notice', message: note });
    }
    const messages = [...state.messages, ...tail];
    const started = performance.now();
    let res: ChatResponse;
    try {
      res = await llm.chat({
        messages,
        tools: offer,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onText: (delta) => emit({ type: 'text', delta }),
      });
    } catch (e) {
      state.usage.modelMs += performance.now() - started;
      if (!(e instanceof LlmError)) throw e;
      const nothingYet = state.usage.steps === 0 && state.toolCalls.length === 0;
      if (nothingYet && (e.code === 'unreachable' || e.code === 'model_not_found'))
        return { kind: 'offline', error: e };
      return { kind: 'failed', message: e.message };
    }
    state.usage.modelMs += performance.now() - started;
    state.usage.steps++;
    state.usage.promptTokens += res.promptTokens ?? promptTokens(messages, offer);
    state.usage.completionTokens +=
      res.completionTokens ?? estimateTokens(res.content + JSON.stringify(res.toolCalls));

    if (res.toolCalls.length === 0 || last) {
      if (last && res.toolCalls.length) {
        state.notices.push(`stopped at the step limit (${maxSteps}); the model still wanted to call tools`);
      }
      return { kind: 'answered', content: res.content.trim() };
    }
    state.messages.push({ role: 'assistant', content: res.content, toolCalls: res.toolCalls });
    for (let i = 0; i < res.toolCalls.length; i++) {
      const call = res.toolCalls[i]!;
      const outcome = await runToolCall(ctx, call);
      if (outcome.paused) {
        state.pending = {
          call,
          ticketId: outcome.ticketId,
          plan: outcome.plan,
          skipped: res.toolCalls.slice(i + 1),
        };
        return { kind: 'paused' };
      }
    }
  }
}
