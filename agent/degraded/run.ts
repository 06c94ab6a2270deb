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
import {
  type Inventory,
  type Mentions,
  mayNameObjects,
  mentions,
  resolveTarget,
  type Target,
} from './resolve.js';

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

  const named = mentions(state.question);
  if (mayNameObjects(named)) {
    const found = await investigate(ctx, named, threadContext);
    if (found) return { ...found, content: `${offline}\n\n${found.content}` };
  }

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

type Items = Array<Record<string, unknown>>;
const itemsOf = (r: InvokeResult): Items =>
  r.status === 'success' && Array.isArray(r.structured?.items) ? (r.structured.items as Items) : [];
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** What exists where the question points: namespaces, then the workloads, pods or nodes to match. */
async function inventory(ctx: CallContext, m: Mentions, threadContext: ThreadContext): Promise<Inventory> {
  const listed = itemsOf(await call(ctx, 'namespaces_list', {})).map((n) => str(n.name));
  // A caller who may not list namespaces can still name one.
  const namespaces = listed.length > 0 ? listed : [...m.refs.map((r) => r.namespace), ...m.namespaces];
  const known = new Set(namespaces);
  const namespace =
    [...m.refs.map((r) => r.namespace), ...m.namespaces, ...m.names].find((n) => known.has(n)) ??
    (threadContext.namespace && known.has(threadContext.namespace) ? threadContext.namespace : undefined);
  const scope = namespace ? { namespace } : {};
  const [workloads, pods, nodes] = await Promise.all([
    call(ctx, 'workloads_list', scope).then(itemsOf),
    namespace ? call(ctx, 'pods_list', scope).then(itemsOf) : Promise.resolve([] as Items),
    !namespace || m.kind === 'node'
      ? call(ctx, 'nodes_list', {}).then(itemsOf)
      : Promise.resolve([] as Items),
  ]);
  return {
    namespaces,
    workloads: workloads.map((w) => ({
      kind: str(w.kind),
      namespace: str(w.namespace) || (namespace ?? ''),
      name: str(w.name),
    })),
    pods: pods.map((p) => ({ namespace: str(p.namespace) || (namespace ?? ''), name: str(p.name) })),
    nodes: nodes.map((n) => str(n.name)),
  };
}

function readFor(t: Target): { tool: string; args: Record<string, unknown>; context: ThreadContext } {
  switch (t.kind) {
    case 'workload':
      return {
        tool: 'workload_describe',
        args: { namespace: t.namespace, kind: t.workloadKind, name: t.name },
        context: { namespace: t.namespace, name: t.name, kind: t.workloadKind },
      };
    case 'pod':
      return {
        tool: 'workload_describe',
        args: { namespace: t.namespace, kind: 'Pod', name: t.name },
        context: { namespace: t.namespace, name: t.name, kind: 'Pod' },
      };
    case 'node':
      return { tool: 'nodes_get', args: { name: t.name }, context: {} };
    case 'namespace':
      return {
        tool: 'namespace_summary',
        args: { namespace: t.namespace },
        context: { namespace: t.namespace },
      };
  }
}

/** Runbook passages for what the cluster showed (the diagnosis), not only for the question's words. */
async function passagesFor(ctx: CallContext, result: InvokeResult): Promise<Passage[]> {
  const { runbooks, config } = ctx.deps;
  if (!runbooks || config.runbookPassages === 0 || result.status !== 'success') return [];
  const s = result.structured ?? {};
  const problems = Array.isArray(s.problems) ? (s.problems as string[]) : [];
  const reasons = Object.keys((s.warningEvents as { byReason?: object } | undefined)?.byReason ?? {});
  const restarts = Array.isArray(s.recentRestarts)
    ? (s.recentRestarts as Array<{ reason?: string }>).map((r) => r.reason ?? '')
    : [];
  const query = [...problems, ...reasons, ...restarts].join('; ').slice(0, 600);
  if (!query.trim()) return [];
  try {
    const found = await runbooks.search(query, { limit: config.runbookPassages });
    for (const p of found.passages) {
      ctx.state.consulted.push(p.citation);
      ctx.state.reads.push(`runbook ${p.citation.source}`);
    }
    return found.passages;
  } catch {
    return [];
  }
}

/**
 * A plain question that names objects ("why does the quotes service in namespace trading keep
 * restarting?"): find what it names among what exists, read it (the diagnosis) through the
 * pipeline as the asker, and add the runbook sections that match what was found.
 */
async function investigate(
  ctx: CallContext,
  m: Mentions,
  threadContext: ThreadContext,
): Promise<DegradedResult | undefined> {
  const target = resolveTarget(m, await inventory(ctx, m, threadContext), threadContext.namespace);
  if (!target) return undefined;
  const read = readFor(target);
  const result = await call(ctx, read.tool, read.args);
  const label = callLabel(read.tool, read.args);
  const passages = await passagesFor(ctx, result);
  const parts = [`I read ${label} for this:`, result.text];
  if (passages.length) {
    parts.push(
      'What the runbooks say about what I found:',
      ...passages.map((p) => `${citationLabel(p.citation)}\n${excerpt(p.text)}`),
    );
  }
  return {
    content: parts.join('\n\n'),
    ...(Object.keys(read.context).length ? { context: read.context } : {}),
  };
}
