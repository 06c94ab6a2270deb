import { z } from 'zod';
import type { Principal } from '../policies/types.js';
import type { Passage } from '../rag/types.js';
import { describeIssues } from '../tools/core/invoke.js';
import { answerParts, composeAnswer } from './answer.js';
import { cutToTokens } from './budget.js';
import { citationLabel } from './citations.js';
import { proposalsToConfirm, whichOne } from './confirm.js';
import { runDegraded } from './degraded/run.js';
import type { AgentDeps } from './deps.js';
import { type LoopOutcome, runLoop } from './loop.js';
import { prompt } from './prompts.js';
import { confirmable } from './proposal.js';
import type { ChatMessage } from './providers/types.js';
import { decidedTicket } from './resume.js';
import { emptyUsage, type RunState } from './state.js';
import { AgentStoreError, newId, type ThreadContext } from './store.js';
import { type CallContext, callLabel, invokeAsAsker } from './tool-call.js';
import type {
  AgentAnswer,
  AgentEvent,
  AnswerStatus,
  AskInput,
  BlockedWrite,
  ResumeOptions,
} from './types.js';
import { attr, newNonce, wrapUntrusted } from './untrusted.js';

export class AgentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentInputError';
  }
}

const askSchema = z.object({
  question: z
    .string()
    .trim()
    .min(1, 'the question is empty')
    .max(8000, 'the question is longer than 8000 characters'),
  principal: z.object({ id: z.string().min(1), groups: z.array(z.string()), source: z.string() }),
  threadId: z
    .string()
    .regex(/^th_[0-9a-f]{16}$/, 'must be a thread id such as th_0123456789abcdef')
    .optional(),
});

/** Remembered answers are kept short in the prompt; the thread keeps them whole. */
const MEMORY_ANSWER_TOKENS = 400;

/**
 * Pre-fetched passages go with every model call of the question, so each is kept to its opening
 * (most sections state the symptom and first checks there): the best match gets the most room,
 * the others are pointers; runbooks_search (in the catalog) reads whole sections.
 */
const PASSAGE_TOKENS = [100, 50];

/** The passage's head, cut at a line or sentence end (runbooks_search, in the catalog, reads on). */
export function trimPassage(text: string, tokens: number): string {
  const max = tokens * 4;
  if (text.length <= max) return text;
  const head = text.slice(0, max);
  const end = Math.max(head.lastIndexOf('\n'), head.lastIndexOf('. '));
  const kept = end > max / 2 ? head.slice(0, end + 1) : head.slice(0, head.lastIndexOf(' '));
  return `${kept.trimEnd()} …(cut)`;
}

/** An onEvent that throws must not break the run. */
function emitter(onEvent?: (e: AgentEvent) => void) {
  return (e: AgentEvent) => {
    try {
      onEvent?.(e);
    } catch {
      // the listener's problem, not the run's
    }
  };
}

/**
 * The ops agent. `ask` answers a question with the tools the asker may use, through the guarded
 * pipeline; a call that needs approval pauses the run (persisted), and `resume` continues it
 * once the ticket is decided, in this process or another. With no model it runs in degraded mode.
 */
export class Agent {
  constructor(private readonly deps: AgentDeps) {}

  async ask(input: AskInput): Promise<AgentAnswer> {
    const started = performance.now();
    const parsed = askSchema.safeParse(input);
    if (!parsed.success) throw new AgentInputError(`invalid question: ${describeIssues(parsed.error)}`);
    const { question, threadId } = parsed.data;
    const principal: Principal = { ...input.principal, groups: [...input.principal.groups] };
    const { store, config } = this.deps;
    const thread = threadId
      ? await store.thread(threadId, principal.id)
      : { id: await store.createThread(principal.id), context: {} as ThreadContext };
    const turns = await store.turns(thread.id, config.memoryTurns);
    const state: RunState = {
      version: 1,
      runId: newId('run'),
      threadId: thread.id,
      principal,
      question,
      nonce: newNonce(),
      userWords: [...turns.map((t) => t.question), question],
      messages: [],
      toolCalls: [],
      consulted: [],
      reads: [],
      blocked: [],
      notices: [],
      facts: [],
      usage: emptyUsage(),
      wallMs: 0,
      degraded: false,
    };
    const emit = emitter(input.onEvent);
    const ctx: CallContext = {
      deps: this.deps,
      state,
      emit,
      ...(input.signal ? { signal: input.signal } : {}),
    };
    await store.saveRun({ id: state.runId, status: 'running', state });
    const confirmed = await proposalsToConfirm(question, turns, store);
    if (confirmed.kind === 'one') return this.runConfirmed(ctx, started, confirmed.proposal);
    if (confirmed.kind === 'several')
      return this.finish(ctx, started, 'answered', whichOne(confirmed.proposals), undefined, false);
    if (confirmed.kind === 'refused')
      return this.finish(ctx, started, 'answered', confirmed.message, undefined, false);
    const passages = await this.prefetch(state, emit);

    const llm = this.deps.llm;
    let outcome: LoopOutcome | undefined;
    if (llm) {
      state.messages = [
        {
          role: 'system',
          content: prompt('system', {
            principal: principal.id,
            nonce: state.nonce,
            maxSteps: config.maxSteps,
          }),
        },
        ...turns.flatMap((t): ChatMessage[] => [
          { role: 'user', content: t.question },
          { role: 'assistant', content: cutToTokens(t.answer, MEMORY_ANSWER_TOKENS, 'earlier answer') },
        ]),
        { role: 'user', content: this.userMessage(state, passages) },
      ];
      outcome = await this.loop(ctx, { count: turns.length * 2 });
    }
    if (!llm || outcome?.kind === 'offline') {
      state.degraded = true;
      state.messages = [];
      const reason =
        outcome?.kind === 'offline' ? outcome.error.message : 'no model is configured (llm.provider: none)';
      const result = await runDegraded(ctx, reason, passages, thread.context);
      if (result.context) await store.setContext(thread.id, result.context);
      return this.finish(
        ctx,
        started,
        result.pending ? 'paused' : 'degraded',
        result.content,
        result.pending,
        false,
      );
    }
    return this.afterLoop(ctx, started, outcome!);
  }

  async resume(runId: string, principal?: Principal, options: ResumeOptions = {}): Promise<AgentAnswer> {
    const started = performance.now();
    const { store, pipeline } = this.deps;
    const record = await store.getRun(runId);
    const state = record.state;
    const emit = emitter(options.onEvent);
    if (principal && pipeline.policy.personOf(principal) !== pipeline.policy.personOf(state.principal)) {
      throw new AgentStoreError(
        'forbidden',
        `run ${runId} was started by someone else; only they can resume it`,
      );
    }
    if (record.status !== 'paused' || !state.pending) {
      if (record.answer) {
        emit({ type: 'done', answer: record.answer });
        return record.answer;
      }
      throw new AgentStoreError(
        'conflict',
        `run ${runId} is still running; try again when it has paused or finished`,
      );
    }
    const ctx: CallContext = {
      deps: this.deps,
      state,
      emit,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const decided = await decidedTicket(this.deps, state.pending, state.nonce);
    if (!decided) {
      // Still waiting: say so and stay paused.
      const pending = { id: state.pending.ticketId, plan: state.pending.plan };
      const answer = composeAnswer(
        state,
        'paused',
        `Ticket ${pending.id} has not been decided yet; nothing has run.`,
        pending,
      );
      emit({ type: 'notice', message: `ticket ${pending.id} is still waiting for approval` });
      emit({ type: 'done', answer });
      return answer;
    }
    if (!(await store.claimPaused(runId))) {
      throw new AgentStoreError('conflict', `run ${runId} is being resumed elsewhere`);
    }
    state.facts.push(decided.fact);
    emit({ type: 'notice', message: decided.fact });
    const { call, skipped } = state.pending;
    delete state.pending;
    const llm = this.deps.llm;
    if (state.degraded || state.direct || !llm) {
      return this.finish(ctx, started, state.degraded ? 'degraded' : 'answered', '', undefined, false);
    }
    state.messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: decided.toolMessage });
    for (const s of skipped) {
      state.messages.push({
        role: 'tool',
        toolCallId: s.id,
        name: s.name,
        content:
          'status: not_run\nThis call did not run: the conversation paused for approval before it. Call it again if you still need it.',
      });
    }
    const outcome = await this.loop(ctx, { count: 0 });
    if (outcome.kind === 'offline') {
      state.notices.push(`model offline after the ticket was decided: ${outcome.error.message}`);
      return this.finish(ctx, started, 'degraded', '', undefined, false);
    }
    return this.afterLoop(ctx, started, outcome);
  }

  /**
   * The user said yes to a change the previous answer showed whole and did not run: run exactly
   * that call (see confirm.ts), without the model, as the user. Approvals pause it as usual.
   */
  private async runConfirmed(
    ctx: CallContext,
    started: number,
    proposal: BlockedWrite,
  ): Promise<AgentAnswer> {
    const { deps, state, emit } = ctx;
    state.direct = true;
    if (!confirmable(proposal)) {
      // The arguments are not those whose digest was shown: run nothing.
      const content = `The change you confirmed no longer matches what my last answer showed, so nothing has run. Ask for it in your own words.`;
      return this.finish(ctx, started, 'failed', content, undefined, false);
    }
    const person = deps.pipeline.policy.personOf(state.principal);
    const label = callLabel(proposal.name, proposal.args);
    const origin = attr(`${proposal.origin}; confirmed by ${person} ("${attr(state.question, 60)}")`, 800);
    emit({ type: 'tool_call', name: proposal.name, args: proposal.args });
    const { result, outcome } = await invokeAsAsker(ctx, proposal.name, proposal.args, origin);
    if (outcome.paused) {
      const call = { id: `confirmed_${state.runId}`, name: proposal.name, arguments: proposal.args };
      state.pending = { call, ticketId: outcome.ticketId, plan: outcome.plan, skipped: [] };
      const content = `You confirmed the change I proposed: ${label}.`;
      return this.finish(
        ctx,
        started,
        'paused',
        content,
        { id: outcome.ticketId, plan: outcome.plan },
        false,
      );
    }
    const content = result.isError
      ? `You confirmed the change I proposed, ${label}, but it did not run (${result.status}):\n${result.text}`
      : `Done, as you confirmed: ${label}.\n\n${result.text}`;
    return this.finish(ctx, started, result.isError ? 'failed' : 'answered', content, undefined, false);
  }

  private async loop(ctx: CallContext, memory: { count: number }): Promise<LoopOutcome> {
    try {
      return await runLoop(ctx, this.deps.llm!, memory);
    } catch (e) {
      this.deps.logger.error(
        { run: ctx.state.runId, error: String((e as Error)?.stack ?? e) },
        'agent run failed',
      );
      return { kind: 'failed', message: `internal error: ${(e as Error)?.message ?? String(e)}` };
    }
  }

  private afterLoop(ctx: CallContext, started: number, outcome: LoopOutcome): Promise<AgentAnswer> {
    const { state } = ctx;
    switch (outcome.kind) {
      case 'paused': {
        const p = state.pending!;
        return this.finish(ctx, started, 'paused', '', { id: p.ticketId, plan: p.plan }, true);
      }
      case 'failed':
        state.notices.push(outcome.message);
        return this.finish(ctx, started, 'failed', `The run stopped: ${outcome.message}`, undefined, false);
      case 'answered':
        return this.finish(
          ctx,
          started,
          'answered',
          outcome.content || '(the model gave no answer)',
          undefined,
          true,
        );
      default:
        return this.finish(ctx, started, 'failed', 'The model could not be reached.', undefined, false);
    }
  }

  /** Runbook passages for the question, before the model is asked; trouble becomes a notice. */
  private async prefetch(state: RunState, emit: (e: AgentEvent) => void): Promise<Passage[]> {
    const { runbooks, config } = this.deps;
    if (!runbooks || config.runbookPassages === 0) return [];
    try {
      const result = await runbooks.search(state.question, { limit: config.runbookPassages });
      if (result.notice) {
        state.notices.push(result.notice);
        emit({ type: 'notice', message: result.notice });
      }
      for (const p of result.passages) {
        state.consulted.push(p.citation);
        state.reads.push(`runbook ${p.citation.source}`);
      }
      return result.passages;
    } catch (e) {
      const note = `runbook search failed: ${(e as Error).message}`;
      state.notices.push(note);
      emit({ type: 'notice', message: note });
      return [];
    }
  }

  private userMessage(state: RunState, passages: Passage[]): string {
    if (!passages.length) return state.question;
    const blocks = passages.map((p, i) =>
      wrapUntrusted(
        state.nonce,
        `runbook ${citationLabel(p.citation)}`,
        trimPassage(
          p.text,
          Math.min(PASSAGE_TOKENS[i] ?? PASSAGE_TOKENS.at(-1)!, this.deps.config.toolResultTokens),
        ),
      ),
    );
    return `${state.question}\n\n${prompt('runbook-context', { passages: blocks.join('\n') })}`;
  }

  /** Composes, streams the parts not streamed yet, persists the run and the thread turn, emits done. */
  private async finish(
    ctx: CallContext,
    started: number,
    status: AnswerStatus,
    content: string,
    pending: { id: string; plan: string } | undefined,
    contentStreamed: boolean,
  ): Promise<AgentAnswer> {
    const { state, emit } = ctx;
    const { store } = this.deps;
    state.wallMs += performance.now() - started;
    const answer = composeAnswer(state, status, content, pending);
    const { tail } = answerParts(state, pending);
    const rest = [contentStreamed ? '' : content, tail].filter((p) => p.trim()).join('\n\n');
    if (rest) emit({ type: 'text', delta: contentStreamed && content ? `\n\n${rest}` : rest });
    await store.saveRun({
      id: state.runId,
      status,
      state,
      answer,
      ...(pending ? { ticketId: pending.id } : {}),
    });
    await store.recordTurn(state.threadId, state.runId, state.question, answer.text);
    emit({ type: 'done', answer });
    return answer;
  }
}
