import type { Passage } from '../../rag/types.js';
import type { InvokeResult } from '../../tools/core/invoke.js';
import { citationLabel } from '../citations.js';
import { readLabel } from '../guard.js';
import { plainPlan } from '../plan.js';
import { prompt } from '../prompts.js';
import type { ThreadContext } from '../store.js';
import { actingAs, type CallContext, callLabel } from '../tool-call.js';
import { attr } from '../untrusted.js';
import { COMMAND_EXAMPLES, type Intent, parseIntent } from './intent.js';

export interface DegradedResult {
  content: string;
  pending?: { id: string; plan: string };
  context?: ThreadContext;
}

const help = () => prompt('degraded-help', { examples: COMMAND_EXAMPLES.map((e) => `  - ${e}`).join('\n') });

function excerpt(text: string, max = 700): string {
  const flat = text.trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Degraded mode: no model. A direct command runs through the pipeline as the asker (the policy
 * and approvals decide as always); anything else gets the best runbook passages, cited, and help.
 */
export async function runDegraded(
  ctx: CallContext,
  reason: string,
  passages: Passage[],
  threadContext: ThreadContext,
): Promise<DegradedResult> {
  const { state } = ctx;
  const offline = `The model is offline (${reason}), so I am answering without it.`;
  state.notices.push(`model offline: ${reason}`);
  ctx.emit({ type: 'notice', message: `model offline: ${reason}` });
  const intent = parseIntent(state.question, threadContext);

  if (intent.kind === 'tool' || intent.kind === 'logs') {
    const run = await runIntent(ctx, intent);
    return { ...run, content: `${offline}\n\n${run.content}` };
  }
  if (intent.kind === 'incomplete') return { content: `${offline}\n\n${intent.message}.\n\n${help()}` };
  if (intent.kind === 'help') return { content: `${offline}\n\n${help()}` };

  const parts = [offline];
  if (passages.length) {
    parts.push(
      'What the runbooks say about this:',
      ...passages.map((p) => `${citationLabel(p.citation)}\n${excerpt(p.text)}`),
    );
  } else {
    parts.push('No runbook passage matches this question.');
  }
  parts.push(
    `I did not understand a command in that; try one of these:\n${COMMAND_EXAMPLES.map((e) => `  - ${e}`).join('\n')}`,
  );
  return { content: parts.join('\n\n') };
}

async function call(ctx: CallContext, tool: string, args: Record<string, unknown>): Promise<InvokeResult> {
  const { deps, state } = ctx;
  const def = deps.pipeline.registry.find(tool);
  const isWrite = !!def && !def.annotations.readOnlyHint;
  ctx.emit({ type: 'tool_call', name: tool, args });
  const started = performance.now();
  const result = await deps.pipeline.invoke(tool, args, actingAs(state.principal), {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(isWrite
      ? {
          origin: attr(
            `requested directly by ${deps.pipeline.policy.personOf(state.principal)} as a command ("${attr(state.question, 120)}") while the model was offline`,
            400,
          ),
        }
      : {}),
  });
  state.usage.toolMs += performance.now() - started;
  state.toolCalls.push({ name: tool, args, status: result.status });
  if (!isWrite) state.reads.push(readLabel(tool, args));
  ctx.emit({
    type: 'tool_result',
    name: tool,
    status: result.status,
    summary: result.text.split('\n')[0]?.slice(0, 200) ?? '',
  });
  return result;
}

/** The pod a `logs` command means: the pod itself, else the first of the workload's pods (unhealthy first). */
async function logsOf(ctx: CallContext, intent: Extract<Intent, { kind: 'logs' }>) {
  const base = { namespace: intent.namespace, ...(intent.previous ? { previous: true } : {}) };
  const direct = await call(ctx, 'pods_logs', { ...base, pod: intent.name });
  if (direct.errorCode !== 'not_found') return direct;
  const pods = await call(ctx, 'pods_list', { namespace: intent.namespace });
  const items = (pods.structured?.items ?? []) as Array<{ name?: string }>;
  const pod = items.find((p) => p.name?.startsWith(`${intent.name}-`))?.name;
  if (!pod) return direct;
  return call(ctx, 'pods_logs', { ...base, pod });
}

async function runIntent(
  ctx: CallContext,
  intent: Extract<Intent, { kind: 'tool' | 'logs' }>,
): Promise<DegradedResult> {
  const result =
    intent.kind === 'logs' ? await logsOf(ctx, intent) : await call(ctx, intent.tool, intent.args);
  const last = ctx.state.toolCalls.at(-1)!;
  const label = callLabel(last.name, last.args);
  const context = intent.context;
  if (result.status === 'approval_required' && result.ticket) {
    const plan = plainPlan(result.ticket.plan);
    ctx.state.pending = {
      call: { id: 'degraded', name: last.name, arguments: last.args },
      ticketId: result.ticket.id,
      plan,
      skipped: [],
    };
    ctx.emit({ type: 'approval_required', ticketId: result.ticket.id, plan });
    return {
      content: `I ran ${label} through the guarded pipeline; it needs approval before it runs.`,
      pending: { id: result.ticket.id, plan },
      ...(context ? { context } : {}),
    };
  }
  return { content: `${label}:\n\n${result.text}`, ...(context ? { context } : {}) };
}
