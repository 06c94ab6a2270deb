import { ApprovalStore } from '../../policies/approvals.js';
import { approvalTools } from '../../tools/approvals/index.js';
import type { ToolDef } from '../../tools/core/types.js';
import { makeAgent, ollamaAt } from './agent-harness.js';
import { countingTools } from './fake-tools.js';
import type { ChatTurn, OllamaChatRequest, ScriptedOllama } from './ollama-scripted.js';
import { testPipeline } from './pipeline.js';
import { engineFrom, who } from './policy.js';

/** The agent's unit tests: counting widget tools, a policy file (writes need approval) or one without approvals. */
export const POLICY = `
version: 1
identities:
  alice: [token:alice]
  bob: [token:bob]
  dave: [token:dave]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
  - subjects: [dave]
    roles: [viewer]
`;
export const alice = who('token:alice', [], 'mcp-http');
export const bob = who('token:bob', [], 'mcp-http');
export const dave = who('token:dave', [], 'mcp-http');

/** Scripts the model: the n-th request gets the n-th turn (the last one repeats). Returns the requests. */
export function script(
  ollama: ScriptedOllama,
  turns: Array<ChatTurn | ((r: OllamaChatRequest) => ChatTurn)>,
) {
  const seen: OllamaChatRequest[] = [];
  ollama.setChat((r, i) => {
    seen.push(r);
    const t = turns[Math.min(i, turns.length - 1)]!;
    return typeof t === 'function' ? t(r) : t;
  });
  return seen;
}

export function widgetRig(
  ollama: ScriptedOllama,
  opts: { policy?: 'file' | 'allow'; config?: Record<string, unknown>; extra?: ToolDef[] } = {},
) {
  const { tools, runs } = countingTools();
  const approvals = new ApprovalStore(':memory:', 60_000);
  const { pipeline, audit } = testPipeline({
    tools: [...tools, ...approvalTools, ...(opts.extra ?? [])],
    // 'allow': the same people and roles, with no approval rules, so writes the policy grants run outright.
    policy: engineFrom(opts.policy === 'allow' ? `${POLICY}approvals: []\n` : POLICY),
    approvals,
  });
  const { agent, store } = makeAgent({
    pipeline,
    llm: ollamaAt(ollama.url),
    ...(opts.config ? { config: opts.config } : {}),
  });
  return { agent, store, pipeline, audit, runs, approvals };
}

export const toolNames = (r: OllamaChatRequest) => (r.tools ?? []).map((t) => t.function.name).sort();
export const toolMessages = (r: OllamaChatRequest) =>
  r.messages.filter((m) => m.role === 'tool').map((m) => m.content);
