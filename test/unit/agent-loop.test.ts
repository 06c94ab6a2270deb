import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentStoreError, createLlmProvider, llmConfigSchema } from '../../agent/index.js';
import { ApprovalStore } from '../../policies/approvals.js';
import { GuardOnlyPolicy } from '../../policies/guard.js';
import { approvalTools } from '../../tools/approvals/index.js';
import { defineTool, type ToolDef } from '../../tools/core/types.js';
import { askCollect, makeAgent, memoryRunbooks, ollamaAt, streamed } from '../support/agent-harness.js';
import { countingTools } from '../support/fake-tools.js';
import type { ChatTurn, OllamaChatRequest, ScriptedOllama } from '../support/ollama-scripted.js';
import { startScriptedOllama } from '../support/ollama-scripted.js';
import { type OpenAiRequest, startScriptedOpenAi } from '../support/openai-scripted.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, noSwitches, who } from '../support/policy.js';

const POLICY = `
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
const alice = who('token:alice', [], 'mcp-http');
const bob = who('token:bob', [], 'mcp-http');
const dave = who('token:dave', [], 'mcp-http');

/** A read tool with a large answer, for the token budget. */
const blob = defineTool({
  name: 'blob_get',
  title: 'Blob: Get',
  description: 'Read a large blob.',
  input: z.object({ id: z.string() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  permission: { toolset: 'test', verb: 'read', namespaced: false },
  async handler(args) {
    return { kind: 'doc', text: `blob ${args.id}: ${'lorem ipsum '.repeat(600)}` };
  },
});

let ollama: ScriptedOllama;
beforeAll(async () => {
  ollama = await startScriptedOllama();
});
afterAll(() => ollama.close());

function script(turns: Array<ChatTurn | ((r: OllamaChatRequest) => ChatTurn)>) {
  const seen: OllamaChatRequest[] = [];
  ollama.setChat((r, i) => {
    seen.push(r);
    const t = turns[Math.min(i, turns.length - 1)]!;
    return typeof t === 'function' ? t(r) : t;
  });
  return seen;
}

function setup(
  opts: { policy?: 'file' | 'allow'; config?: Record<string, unknown>; extra?: ToolDef[] } = {},
) {
  const { tools, runs } = countingTools();
  const approvals = new ApprovalStore(':memory:', 60_000);
  const { pipeline, audit } = testPipeline({
    tools: [...tools, ...approvalTools, ...(opts.extra ?? [])],
    policy: opts.policy === 'allow' ? new GuardOnlyPolicy(noSwitches) : engineFrom(POLICY),
    approvals,
  });
  const { agent, store } = makeAgent({
    pipeline,
    llm: ollamaAt(ollama.url),
    ...(opts.config ? { config: opts.config } : {}),
  });
  return { agent, store, pipeline, audit, runs, approvals };
}

const toolNames = (r: OllamaChatRequest) => (r.tools ?? []).map((t) => t.function.name).sort();
const toolMessages = (r: OllamaChatRequest) =>
  r.messages.filter((m) => m.role === 'tool').map((m) => m.content);

describe('the loop', () => {
  it('calls tools in several steps through the pipeline as the asker, streams, and names the calls', async () => {
    const { agent, audit, runs } = setup();
    const seen = script([
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { content: 'Looking closer.', toolCalls: [{ name: 'widget_get', arguments: { id: 'db' } }] },
      { content: 'Widget api and widget db both exist.' },
    ]);
    const { answer, events } = await askCollect(agent, 'do widgets api and db exist?', alice);
    expect(answer.status).toBe('answered');
    expect(runs.read).toBe(2);
    expect(answer.toolCalls).toEqual([
      { name: 'widget_get', args: { id: 'api' }, status: 'success' },
      { name: 'widget_get', args: { id: 'db' }, status: 'success' },
    ]);
    expect(answer.text).toContain('Widget api and widget db both exist.');
    expect(answer.text).toContain('Tool calls: widget_get id="api" → success; widget_get id="db" → success');
    expect(answer.usage.steps).toBe(3);
    expect(answer.usage.promptTokens).toBeGreaterThan(0);
    // The pipeline ran them as alice, marked as coming through the agent.
    const results = audit.records.filter((r) => r.kind === 'result' && r.tool === 'widget_get');
    expect(results.map((r) => [r.principal.id, r.principal.source, r.outcome])).toEqual([
      ['token:alice', 'agent', 'success'],
      ['token:alice', 'agent', 'success'],
    ]);
    // Each tool result came back as untrusted data under the run's nonce.
    const nonce = /nonce="([0-9a-f]{24})"/.exec(seen[0]!.messages[0]!.content)![1]!;
    const back = toolMessages(seen[2]!);
    expect(back).toHaveLength(2);
    expect(back[0]).toBe(
      `status: success\n<untrusted-data nonce="${nonce}" source="widget_get api">\nwidget api\n</untrusted-data nonce="${nonce}">`,
    );
    // Events: calls and results in order, text streamed, done last and once.
    expect(events.map((e) => e.type).filter((t) => t !== 'text')).toEqual([
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'done',
    ]);
    expect(streamed(events)).toContain('Looking closer.Widget api and widget db both exist.');
    expect(streamed(events)).toContain('Tool calls: widget_get id="api"');
  });

  it('stops at the step limit: the last call offers no tools and asks for an answer', async () => {
    const { agent, runs } = setup({ config: { maxSteps: 3 } });
    const seen = script([
      (r) =>
        r.tools?.length
          ? { toolCalls: [{ name: 'widget_get', arguments: { id: `w${r.messages.length}` } }] }
          : { content: 'Best I can say with three steps.' },
    ]);
    const { answer } = await askCollect(agent, 'look at every widget', alice);
    expect(seen).toHaveLength(3);
    const offered = seen[0]!.tools!.length;
    expect(offered).toBeGreaterThan(0);
    expect(seen.map((r) => r.tools?.length ?? 0)).toEqual([offered, offered, 0]);
    expect(seen[2]!.tools).toBeUndefined();
    expect(seen[2]!.messages.at(-1)!.content).toContain('You have used every round of tool calls');
    expect(runs.read).toBe(2);
    expect(answer.usage.steps).toBe(3);
    expect(answer.text).toContain('Best I can say with three steps.');
  });

  it('feeds back unknown tools, arguments that are not an object and invalid arguments, and runs none of them', async () => {
    const { agent, runs } = setup();
    const seen = script([
      {
        toolCalls: [
          { name: 'widget_gett', arguments: { id: 'api' } },
          { name: 'widget_get', arguments: { id: 5 } },
        ],
      },
      { content: 'Sorry, fixed.', toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { content: 'Widget api exists.' },
    ]);
    const { answer } = await askCollect(agent, 'does widget api exist?', alice);
    const back = toolMessages(seen[1]!);
    expect(back[0]).toMatch(/^status: invalid\n/);
    expect(back[0]).toContain("unknown tool 'widget_gett'; did you mean 'widget_get'?");
    expect(back[1]).toContain(
      'invalid arguments for widget_get: id: Invalid input: expected string, received number',
    );
    expect(runs.read).toBe(1);
    expect(answer.toolCalls.map((c) => c.status)).toEqual(['invalid', 'invalid', 'success']);
    expect(answer.status).toBe('answered');
  });

  it('offers only the tools the asker may use, and writes only when the asker asks for that action', async () => {
    const { agent } = setup();
    const seen = script([{ content: 'ok' }]);
    await agent.ask({ question: 'scale widget api to 3', principal: dave });
    await agent.ask({ question: 'scale widget api to 3', principal: alice });
    await agent.ask({ question: 'how is widget api doing?', principal: alice });
    expect(toolNames(seen[0]!)).toEqual(['widget_get']);
    expect(toolNames(seen[1]!)).toEqual(['widget_get', 'widget_scale']);
    expect(toolNames(seen[2]!)).toEqual(['widget_get']);
    // Read tools not offered in full are named in the system prompt, and may be called by name.
    expect(seen[2]!.messages[0]!.content).toMatch(
      /\n\nOther read-only tools you may call by name \(the arguments are checked and errors say what is missing\): approvals_list\(status\?, mine\?\), approvals_get\(ticket\)\.$/,
    );
    script([
      { toolCalls: [{ name: 'approvals_list', arguments: { mine: true } }] },
      { content: 'No tickets.' },
    ]);
    const listed = await agent.ask({ question: 'any tickets of mine?', principal: alice });
    expect(listed.toolCalls).toEqual([{ name: 'approvals_list', args: { mine: true }, status: 'no_data' }]);
  });

  it('keeps the prompt within the token budget by trimming the oldest tool results first', async () => {
    const { agent } = setup({ extra: [blob], config: { tokenBudget: 2500, toolResultTokens: 1200 } });
    const seen = script([
      { toolCalls: [{ name: 'blob_get', arguments: { id: 'one' } }] },
      { toolCalls: [{ name: 'blob_get', arguments: { id: 'two' } }] },
      { toolCalls: [{ name: 'blob_get', arguments: { id: 'three' } }] },
      { content: 'Three blobs read.' },
    ]);
    const { answer, events } = await askCollect(agent, 'read blobs one, two and three', alice);
    expect(answer.status).toBe('answered');
    const estimate = (r: OllamaChatRequest) =>
      Math.ceil((JSON.stringify(r.messages) + JSON.stringify(r.tools ?? [])).length / 4);
    // Every request fits (the estimate counts JSON quoting too, hence the margin).
    for (const r of seen) expect(estimate(r)).toBeLessThan(2500 * 1.15);
    const last = toolMessages(seen[3]!);
    expect(last[0]).toMatch(/^\[result of blob_get trimmed to fit the token budget/);
    expect(last[2]).toContain('blob three');
    expect(
      events.some((e) => e.type === 'notice' && e.message.includes('trimmed to fit the token budget')),
    ).toBe(true);
  });

  it('remembers the thread: the follow-up sees the earlier turn; another person cannot use the thread', async () => {
    const { agent } = setup();
    const seen = script([{ content: 'Widget api is healthy.' }, { content: 'Its logs are clean.' }]);
    const first = await agent.ask({ question: 'how is widget api?', principal: alice });
    const second = await agent.ask({ question: 'and its logs?', principal: alice, threadId: first.threadId });
    expect(second.threadId).toBe(first.threadId);
    expect(seen[1]!.messages.map((m) => [m.role, m.content.split('\n')[0]])).toEqual([
      ['system', expect.stringContaining('You are Kubemate')],
      ['user', 'how is widget api?'],
      ['assistant', 'Widget api is healthy.'],
      ['user', 'and its logs?'],
    ]);
    await expect(agent.ask({ question: 'hi', principal: bob, threadId: first.threadId })).rejects.toThrow(
      AgentStoreError,
    );
    await expect(agent.ask({ question: '  ', principal: alice })).rejects.toThrow(
      'invalid question: question: the question is empty',
    );
  });

  it('pre-fetches runbook passages as untrusted data and cites them', async () => {
    const { tools } = countingTools();
    const { pipeline } = testPipeline({ tools, policy: engineFrom(POLICY) });
    const runbooks = memoryRunbooks([
      {
        source: 'widgets/restarts.md',
        headingPath: ['Widget restarts', 'Checks'],
        text: 'When a widget restarts, read its logs.',
      },
      { source: 'network/dns.md', headingPath: ['DNS'], text: 'Unrelated.' },
    ]);
    const { agent } = makeAgent({ pipeline, llm: ollamaAt(ollama.url), runbooks });
    const seen = script([
      { content: 'Read the logs first [widgets/restarts.md › Widget restarts › Checks].' },
    ]);
    const answer = await agent.ask({ question: 'why does a widget keep restarts?', principal: alice });
    const user = seen[0]!.messages.at(-1)!.content;
    expect(user).toMatch(/^why does a widget keep restarts\?\n\nRunbook passages/);
    expect(user).toMatch(
      /<untrusted-data nonce="[0-9a-f]{24}" source="runbook \[widgets\/restarts.md › Widget restarts › Checks\]">\nWhen a widget restarts, read its logs.\n<\/untrusted-data/,
    );
    expect(answer.citations.map((c) => c.source)).toEqual(['widgets/restarts.md']);
    expect(answer.text).toContain('Runbooks: [widgets/restarts.md › Widget restarts › Checks]');
    expect(answer.notices).toContain('embedding model unreachable: keyword retrieval only');
  });
});

describe('model trouble', () => {
  it('a missing model falls back to degraded mode and says how to pull it', async () => {
    const { tools } = countingTools();
    const { pipeline } = testPipeline({ tools, policy: engineFrom(POLICY) });
    const { agent } = makeAgent({ pipeline, llm: ollamaAt(ollama.url, { model: 'mistral-nemo:12b' }) });
    const answer = await agent.ask({ question: 'what is wrong?', principal: alice });
    expect(answer.status).toBe('degraded');
    expect(answer.text).toContain(
      `The model is offline (model 'mistral-nemo:12b' is not on the Ollama server at ${ollama.url}; pull it with: ollama pull mistral-nemo:12b)`,
    );
    expect(answer.text).toContain('I did not understand a command in that; try one of these:');
  });

  it('a model failing mid-run ends the run as failed, keeping what was done', async () => {
    const { agent, runs } = setup();
    script([
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { error: { status: 500, message: 'CUDA error: out of memory' } },
    ]);
    const answer = await agent.ask({ question: 'how is widget api?', principal: alice });
    expect(answer.status).toBe('failed');
    expect(answer.text).toContain('The run stopped: Ollama at');
    expect(answer.text).toContain('CUDA error: out of memory');
    expect(answer.text).toContain('Tool calls: widget_get id="api" → success');
    expect(runs.read).toBe(1);
  });
});

describe('approvals', () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
  });

  async function pause() {
    const seen = script([
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      {
        content: 'Scaling.',
        toolCalls: [
          { name: 'widget_scale', arguments: { id: 'api', replicas: 4 } },
          { name: 'widget_get', arguments: { id: 'db' } },
        ],
      },
      (r) => ({ content: `Final: ${toolMessages(r).at(-2)?.split('\n').slice(2, 4).join(' ')}` }),
    ]);
    const { answer, events } = await askCollect(ctx.agent, 'scale widget api to 4 replicas', alice);
    return { answer, events, seen };
  }

  it('pauses on a ticket labelled with its origin, and resumes with the outcome once approved', async () => {
    const { answer, events, seen } = await pause();
    expect(answer.status).toBe('paused');
    expect(ctx.runs.write).toBe(0);
    const id = answer.pendingTicket!.id;
    expect(answer.pendingTicket!.plan).toBe('widget_scale id="api" replicas=4');
    expect(events.find((e) => e.type === 'approval_required')).toEqual({
      type: 'approval_required',
      ticketId: id,
      plan: 'widget_scale id="api" replicas=4',
    });
    expect(answer.text).toContain(`Ticket ${id} waits for an approver`);
    expect(answer.text).toContain(`kubemate ask --resume ${answer.runId}`);
    const ticket = ctx.approvals.get(id);
    expect(ticket.plan).toBe(
      `widget_scale id="api" replicas=4\nrequested via: proposed by the Kubemate agent for alice (asked: 'scale widget api to 4 replicas') after reading: widget_get api`,
    );
    // Not decided yet: resuming says so and stays paused.
    const early = await ctx.agent.resume(answer.runId, alice);
    expect(early.status).toBe('paused');
    expect(early.text).toContain('has not been decided yet');
    // Bob approves through the pipeline: the call runs there, once.
    const approved = await ctx.pipeline.approve(id, bob);
    expect(approved.status).toBe('success');
    expect(ctx.runs.write).toBe(1);
    const resumed = await ctx.agent.resume(answer.runId, alice);
    expect(resumed.status).toBe('answered');
    expect(resumed.text).toMatch(
      new RegExp(
        `^Ticket ${id} was approved by bob and ran: widget_scale id="api" replicas=4 Result: scaled api to 4`,
      ),
    );
    expect(resumed.text).toContain('Final: approved by bob and executed. scaled api to 4');
    // The skipped call was answered as not run, and the write ran exactly once.
    expect(toolMessages(seen.at(-1)!).at(-1)).toMatch(/^status: not_run\nThis call did not run/);
    expect(ctx.runs.write).toBe(1);
    expect(resumed.toolCalls.map((c) => c.status)).toEqual(['success', 'approval_required']);
    // Resuming again returns the finished answer.
    expect((await ctx.agent.resume(answer.runId)).text).toBe(resumed.text);
    // Someone else cannot resume alice's run.
    await expect(ctx.agent.resume(answer.runId, bob)).rejects.toThrow('started by someone else');
  });

  it('rejected: the answer says so and nothing ran', async () => {
    const { answer } = await pause();
    ctx.pipeline.reject(answer.pendingTicket!.id, bob, 'not during the freeze');
    const resumed = await ctx.agent.resume(answer.runId);
    expect(resumed.text).toContain(
      `Ticket ${answer.pendingTicket!.id} was rejected by bob ("not during the freeze"); widget_scale id="api" replicas=4 did not run.`,
    );
    expect(ctx.runs.write).toBe(0);
  });

  it('expired: the answer says so and nothing ran', async () => {
    let now = Date.now();
    const { tools, runs } = countingTools();
    const approvals = new ApprovalStore(':memory:', 60_000, () => now);
    const { pipeline } = testPipeline({ tools, policy: engineFrom(POLICY), approvals });
    const { agent } = makeAgent({ pipeline, llm: ollamaAt(ollama.url) });
    script([
      { toolCalls: [{ name: 'widget_scale', arguments: { id: 'api', replicas: 4 } }] },
      { content: 'It did not happen.' },
    ]);
    const paused = await agent.ask({ question: 'scale widget api to 4', principal: alice });
    now += 61_000;
    const resumed = await agent.resume(paused.runId);
    expect(resumed.text).toMatch(
      new RegExp(
        `^Ticket ${paused.pendingTicket!.id} expired at .* without a decision; widget_scale id="api" replicas=4 did not run`,
      ),
    );
    expect(runs.write).toBe(0);
  });
});

describe('the write guard (does not rely on the model)', () => {
  it('refuses a write the asker did not ask for, even when the policy would allow it outright', async () => {
    const { agent, runs } = setup({ policy: 'allow' });
    const seen = script([
      { toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] },
      { toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] },
      { content: 'Done as the log said.' },
    ]);
    const { answer } = await askCollect(agent, 'how is widget api?', alice);
    expect(runs.destroy).toBe(0);
    expect(answer.blockedWrites).toEqual([
      {
        name: 'widget_delete',
        args: { id: 'api' },
        reason: 'not requested by you: you did not ask to delete anything',
        origin:
          "proposed by the Kubemate agent for token:alice (asked: 'how is widget api?') after reading: widget_get api",
      },
    ]);
    expect(answer.toolCalls.at(-1)).toEqual({ name: 'widget_delete', args: { id: 'api' }, status: 'denied' });
    expect(answer.text).toContain(
      'Not done: widget_delete id="api". Kubemate did not run it because it was not requested by you',
    );
    expect(toolMessages(seen[2]!).at(-1)).toContain('Kubemate refused this call and nothing was executed');
  });

  it('runs the write the asker asked for (the same policy)', async () => {
    const { agent, runs } = setup({ policy: 'allow' });
    script([{ toolCalls: [{ name: 'widget_delete', arguments: { id: 'api' } }] }, { content: 'Deleted.' }]);
    const answer = await agent.ask({ question: 'please delete widget api', principal: alice });
    expect(runs.destroy).toBe(1);
    expect(answer.blockedWrites).toBeUndefined();
  });
});

describe('over an OpenAI-compatible server (vLLM)', () => {
  it('runs the same loop with SSE streaming and tool-call ids', async () => {
    const server = await startScriptedOpenAi({
      chat: (r, i) =>
        i === 0
          ? { content: 'Checking. ', toolCalls: [{ name: 'widget_get', arguments: { id: 'api' } }] }
          : { content: `Seen: ${r.messages.at(-1)!.content!.split('\n')[2]}` },
    });
    try {
      const { tools, runs } = countingTools();
      const { pipeline } = testPipeline({ tools, policy: engineFrom(POLICY) });
      const llm = createLlmProvider(
        llmConfigSchema.parse({
          provider: 'openai-compatible',
          url: server.url,
          model: 'Qwen/Qwen2.5-7B-Instruct',
        }),
      );
      const { agent } = makeAgent({ pipeline, llm });
      const { answer, events } = await askCollect(agent, 'how is widget api?', alice);
      expect(runs.read).toBe(1);
      expect(answer.status).toBe('answered');
      expect(answer.text).toContain('Seen: widget api');
      expect(streamed(events)).toMatch(/^Checking\. Seen: widget api/);
      const second = server.requests.at(-1)!.body as OpenAiRequest;
      expect(second.messages.at(-2)).toMatchObject({
        role: 'assistant',
        tool_calls: [{ id: 'chatcmpl-tool-1-0', type: 'function', function: { name: 'widget_get' } }],
      });
      expect(second.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'chatcmpl-tool-1-0' });
    } finally {
      await server.close();
    }
  });
});
