import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llmConfigSchema } from '../../agent/config.js';
import { createLlmProvider } from '../../agent/providers/index.js';
import { OllamaProvider } from '../../agent/providers/ollama.js';
import { OpenAiCompatibleProvider } from '../../agent/providers/openai.js';
import { type ChatMessage, LlmError, type ToolSpec } from '../../agent/providers/types.js';
import {
  type OllamaChatRequest,
  type ScriptedOllama,
  startScriptedOllama,
} from '../support/ollama-scripted.js';
import { type OpenAiRequest, type ScriptedOpenAi, startScriptedOpenAi } from '../support/openai-scripted.js';

const tools: ToolSpec[] = [
  {
    name: 'pods_list',
    description: 'List pods.',
    parameters: { type: 'object', properties: { namespace: { type: 'string' } } },
  },
];
const messages: ChatMessage[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'pods in payments?' },
];

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function ollama(url: string, model = 'llama3.1:8b', timeoutMs = 5000) {
  return new OllamaProvider({
    url,
    model,
    contextWindow: 16384,
    temperature: 0.2,
    keepAlive: '10m',
    timeoutMs,
  });
}

describe('Ollama provider', () => {
  let server: ScriptedOllama;
  beforeAll(async () => {
    server = await startScriptedOllama({ contextLength: 32768 });
  });
  afterAll(() => server.close());

  it('streams text, returns tool calls, and sends tools, keep_alive, num_ctx and temperature', async () => {
    server.setChat(() => ({
      content: 'Let me look at the pods first.',
      toolCalls: [{ name: 'pods_list', arguments: { namespace: 'payments' } }],
    }));
    const deltas: string[] = [];
    const res = await ollama(server.url).chat({ messages, tools, onText: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Let me look at the pods first.');
    expect(res.content).toBe('Let me look at the pods first.');
    expect(res.toolCalls).toHaveLength(1);
    expect(res.toolCalls[0]).toMatchObject({ name: 'pods_list', arguments: { namespace: 'payments' } });
    expect(res.toolCalls[0]!.id).toMatch(/^call_/);
    expect(res.promptTokens).toBeGreaterThan(0);
    const sent = server.requests.at(-1)!.body as OllamaChatRequest;
    expect(sent.stream).toBe(true);
    expect(sent.keep_alive).toBe('10m');
    expect(sent.options).toEqual({ num_ctx: 16384, temperature: 0.2 });
    expect(sent.tools?.[0]).toEqual({
      type: 'function',
      function: { name: 'pods_list', description: 'List pods.', parameters: tools[0]!.parameters },
    });
  });

  it('sends assistant tool calls and tool results in Ollama form', async () => {
    server.setChat(() => ({ content: 'done' }));
    await ollama(server.url).chat({
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'c1', name: 'pods_list', arguments: { namespace: 'x' } }],
        },
        { role: 'tool', toolCallId: 'c1', name: 'pods_list', content: '3 pods' },
      ],
      tools: [],
    });
    const sent = server.requests.at(-1)!.body as OllamaChatRequest;
    expect(sent.tools).toBeUndefined();
    expect(sent.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'pods_list', arguments: { namespace: 'x' } } }],
      },
      { role: 'tool', content: '3 pods', tool_name: 'pods_list' },
    ]);
  });

  it('says which model is missing and how to pull it', async () => {
    const p = ollama(server.url, 'qwen2.5:14b');
    const err = await p.chat({ messages, tools }).catch((e) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err.code).toBe('model_not_found');
    expect(err.message).toBe(
      `model 'qwen2.5:14b' is not on the Ollama server at ${server.url}; pull it with: ollama pull qwen2.5:14b`,
    );
    const health = await p.check();
    expect(health).toMatchObject({
      ok: false,
      reachable: true,
      modelAvailable: false,
      fix: 'ollama pull qwen2.5:14b',
    });
    expect(health.message).toContain('llama3.1:8b');
  });

  it('reports server errors with Ollama’s own message', async () => {
    server.setChat(() => ({ error: { status: 500, message: 'llama runner process has terminated' } }));
    const err = await ollama(server.url)
      .chat({ messages, tools })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'server_error' });
    expect(err.message).toContain('llama runner process has terminated');
  });

  it('times out a slow model with a clear message', async () => {
    server.setChat(() => ({ content: 'late', delayMs: 1500 }));
    const err = await ollama(server.url, 'llama3.1:8b', 300)
      .chat({ messages, tools })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'timeout' });
    expect(err.message).toMatch(/did not answer within 0.3 s; raise llm.timeoutSeconds/);
  });

  it('health check: model present, context length and tool support from /api/show', async () => {
    const health = await ollama(server.url).check();
    expect(health).toMatchObject({
      ok: true,
      reachable: true,
      modelAvailable: true,
      contextLength: 32768,
      tools: true,
    });
  });

  it('unreachable server: says so and how to start it', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const err = await ollama(url)
      .chat({ messages, tools })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'unreachable' });
    expect(err.message).toContain(`cannot reach the Ollama server at ${url} (ECONNREFUSED)`);
    const health = await ollama(url).check();
    expect(health).toMatchObject({ ok: false, reachable: false });
    expect(health.message).toContain('ECONNREFUSED');
  });
});

describe('OpenAI-compatible provider (vLLM)', () => {
  let server: ScriptedOpenAi;
  let script: (r: OpenAiRequest, i: number) => import('../support/openai-scripted.js').OpenAiTurn;
  beforeAll(async () => {
    server = await startScriptedOpenAi({
      apiKey: 'sk-test',
      maxModelLen: 32768,
      chat: (r, i) => script(r, i),
    });
  });
  afterAll(() => server.close());
  const provider = (model = 'Qwen/Qwen2.5-7B-Instruct', apiKey: string | undefined = 'sk-test') =>
    createLlmProvider(
      llmConfigSchema.parse({
        provider: 'openai-compatible',
        url: server.url,
        model,
        ...(apiKey ? { apiKey } : {}),
      }),
    )!;

  it('streams SSE text and assembles tool calls from argument fragments, with usage', async () => {
    script = () => ({
      content: 'Checking.',
      toolCalls: [
        { name: 'pods_list', arguments: { namespace: 'payments', unhealthy: true } },
        { name: 'events_list', arguments: { namespace: 'payments' } },
      ],
    });
    const p = provider();
    expect(p).toBeInstanceOf(OpenAiCompatibleProvider);
    expect(p.url).toBe(`${server.url}/v1`);
    const deltas: string[] = [];
    const res = await p.chat({ messages, tools, onText: (d) => deltas.push(d) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(res.content).toBe('Checking.');
    expect(res.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ['pods_list', { namespace: 'payments', unhealthy: true }],
      ['events_list', { namespace: 'payments' }],
    ]);
    expect(res.toolCalls[0]!.id).toBe('chatcmpl-tool-1-0');
    expect(res.promptTokens).toBeGreaterThan(0);
    const req = server.requests.at(-1)!;
    expect(req.headers.authorization).toBe('Bearer sk-test');
    const body = req.body as OpenAiRequest;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.tools?.[0]?.function.name).toBe('pods_list');
  });

  it('sends tool results with their call ids', async () => {
    script = () => ({ content: 'ok' });
    await provider().chat({
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'call_9', name: 'pods_list', arguments: { namespace: 'x' } }],
        },
        { role: 'tool', toolCallId: 'call_9', name: 'pods_list', content: '3 pods' },
      ],
      tools,
    });
    const body = server.requests.at(-1)!.body as OpenAiRequest;
    expect(body.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_9', type: 'function', function: { name: 'pods_list', arguments: '{"namespace":"x"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_9', content: '3 pods' },
    ]);
  });

  it('keeps arguments that are not valid JSON as text, for the loop to refuse', async () => {
    script = () => ({
      toolCalls: [{ name: 'pods_list', arguments: {} }],
      rawArguments: '{"namespace": "pay',
    });
    const res = await provider().chat({ messages, tools });
    expect(res.toolCalls[0]!.arguments).toBe('{"namespace": "pay');
  });

  it('model not served, wrong key: clear errors; health lists what is served', async () => {
    const missing = await provider('llama3.1:70b')
      .chat({ messages, tools })
      .catch((e) => e);
    expect(missing).toMatchObject({ code: 'model_not_found' });
    expect(missing.message).toContain("does not serve model 'llama3.1:70b'");
    const unauthorized = await provider(undefined, 'wrong')
      .chat({ messages, tools })
      .catch((e) => e);
    expect(unauthorized).toMatchObject({ code: 'unauthorized' });
    const health = await provider('llama3.1:70b').check();
    expect(health).toMatchObject({
      ok: false,
      reachable: true,
      modelAvailable: false,
      available: ['Qwen/Qwen2.5-7B-Instruct'],
    });
    expect(await provider().check()).toMatchObject({ ok: true, modelAvailable: true, contextLength: 32768 });
  });

  it('provider none means no model: degraded mode', () => {
    expect(createLlmProvider(llmConfigSchema.parse({ provider: 'none' }))).toBeNull();
  });
});
