import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentStoreError, createLlmProvider, llmConfigSchema } from '../../agent/index.js';
import { GuardOnlyPolicy } from '../../policies/guard.js';
import { defineTool } from '../../tools/core/types.js';
import { askCollect, makeAgent, memoryRunbooks, ollamaAt, streamed } from '../support/agent-harness.js';
import {
  alice,
  bob,
  dave,
  POLICY,
  script,
  toolMessages,
  toolNames,
  widgetRig,
} from '../support/agent-rig.js';
import { countingTools } from '../support/fake-tools.js';
import type { OllamaChatRequest, ScriptedOllama } from '../support/ollama-scripted.js';
import { startScriptedOllama } from '../support/ollama-scripted.js';
import { type OpenAiRequest, startScriptedOpenAi } from '../support/openai-scripted.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, noSwitches } from '../support/policy.js';

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

describe('the loop', () => {
  it('calls tools in several steps through the pipeline as the asker, streams, and names the calls', async () => {
    const { agent, audit, runs } = widgetRig(ollama);
    const seen = script(ollama, [
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
    expect(results.map((r) => [r.principal.id, r.principal.source, r.principal.via, r.outcome])).toEqual([
      ['token:alice', 'agent', alice.source, 'success'],
      ['token:alice', 'agent', alice.source, 'success'],
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
    const { agent, runs } = widgetRig(ollama, { config: { maxSteps: 3 } });
    const seen = script(ollama, [
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
    const { agent, runs } = widgetRig(ollama);
    const seen = script(ollama, [
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
    const { agent } = widgetRig(ollama);
    const seen = script(ollama, [{ content: 'ok' }]);
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
    script(ollama, [
      { toolCalls: [{ name: 'approvals_list', arguments: { mine: true } }] },
      { content: 'No tickets.' },
    ]);
    const listed = await agent.ask({ question: 'any tickets of mine?', principal: alice });
    expect(listed.toolCalls).toEqual([{ name: 'approvals_list', args: { mine: true }, status: 'no_data' }]);
  });

  it('keeps the prompt within the token budget by trimming the oldest tool results first', async () => {
    const { agent } = widgetRig(ollama, {
      extra: [blob],
      config: { tokenBudget: 2500, toolResultTokens: 1200 },
    });
    const seen = script(ollama, [
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
    const { agent } = widgetRig(ollama);
    const seen = script(ollama, [{ content: 'Widget api is healthy.' }, { content: 'Its logs are clean.' }]);
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
    const seen = script(ollama, [
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

describe('runbooks as a tool', () => {
  it('cites the passages a runbooks_search call returned', async () => {
    const search = defineTool({
      name: 'runbooks_search',
      title: 'Runbooks: Search',
      description: 'Search runbooks.',
      input: z.object({ query: z.string() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'runbooks', verb: 'read', namespaced: false },
      async handler() {
        const c = {
          source: 'oom.md',
          title: 'OOM',
          headingPath: ['OOMKilled', 'Fix'],
          lineStart: 4,
          lineEnd: 12,
        };
        return {
          kind: 'doc',
          text: '[1] oom.md › OOMKilled › Fix\nRaise the memory limit.',
          structured: { passages: [{ n: 1, ...c }] },
        };
      },
    });
    const { tools } = countingTools();
    const { pipeline } = testPipeline({ tools: [...tools, search], policy: new GuardOnlyPolicy(noSwitches) });
    const { agent } = makeAgent({ pipeline, llm: ollamaAt(ollama.url) });
    script(ollama, [
      { toolCalls: [{ name: 'runbooks_search', arguments: { query: 'OOMKilled' } }] },
      { content: 'Raise the limit [oom.md › OOMKilled › Fix].' },
    ]);
    const answer = await agent.ask({ question: 'my pod is OOMKilled', principal: alice });
    expect(answer.citations).toEqual([
      { source: 'oom.md', title: 'OOM', headingPath: ['OOMKilled', 'Fix'], lineStart: 4, lineEnd: 12 },
    ]);
    expect(answer.text).toContain('Runbooks: [oom.md › OOMKilled › Fix]');
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
    const { agent, runs } = widgetRig(ollama);
    script(ollama, [
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
