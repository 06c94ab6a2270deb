import type { ChatTurn, OllamaChatRequest } from '../../test/support/ollama-scripted.js';
import type { Prepared } from './cluster/env.js';
import { fillDeep } from './template.js';

/** Every scripted answer starts with this, so no one mistakes it for a model's. */
export const SCRIPTED_NOTICE = 'Scripted model (plumbing check, not a model evaluation).';

/**
 * The scripted model behind the plumbing check. For the scenario whose question is in the
 * conversation it calls the scenario's tools in order, one per turn, with the scenario's arguments;
 * then it answers with exactly what the tool results it received say. So the facts check passes
 * only when the agent ran those calls through the pipeline and handed their results back. It
 * works out where it is from the conversation alone, so scenarios may run at the same time.
 */
export function scriptedChat(prepared: readonly Prepared[]): (request: OllamaChatRequest) => ChatTurn {
  return (request) => {
    // Read on every request: the harness adds and removes scenarios while the server runs.
    const byQuestion = prepared.map((p) => ({ p, question: p.scenario.question.trim() }));
    const messages = request.messages;
    let at = -1;
    let match: Prepared | undefined;
    for (let i = messages.length - 1; i >= 0 && !match; i--) {
      const m = messages[i]!;
      if (m.role !== 'user') continue;
      const hit = byQuestion.find((q) => m.content.includes(q.question));
      if (hit) {
        at = i;
        match = hit.p;
      }
    }
    if (!match) return { content: `${SCRIPTED_NOTICE} No scenario question was found in the conversation.` };
    const after = messages.slice(at + 1);
    const made = after.reduce((n, m) => n + (m.role === 'assistant' ? (m.tool_calls?.length ?? 0) : 0), 0);
    const steps = match.scenario.tools;
    // The agent offers some tools in full and names the rest, which may be called by name; a
    // request that offers none is its last step, which must be answered.
    const mayCall = (request.tools?.length ?? 0) > 0;
    const next = steps[made];
    if (next && mayCall) {
      return { toolCalls: [{ name: next.name, arguments: fillDeep(next.args, match.vars) }] };
    }
    const results = after.filter((m) => m.role === 'tool').map((m) => m.content);
    const why = next ? ` The agent offered no more tools after ${made} of ${steps.length} calls.` : '';
    return {
      content: `${SCRIPTED_NOTICE}${why} What the tools returned:\n\n${results.join('\n\n')}`,
    };
  };
}
