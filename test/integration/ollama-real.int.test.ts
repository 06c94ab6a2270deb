// The agent's Ollama provider and the runbook embedder against a real Ollama (test/env/ollama.ts):
// wire format and plumbing, not answer quality. The scripted server stays for deterministic
// agent scenarios.
import { describe, expect, inject, it } from 'vitest';
import { OllamaProvider } from '../../agent/providers/ollama.js';
import { OllamaEmbedder } from '../../rag/embeddings.js';
import { TEST_CHAT_MODEL, TEST_EMBED_DIMENSIONS, TEST_EMBED_MODEL } from '../env/ollama.js';

const podsList = {
  name: 'pods_list',
  description: 'List the pods in a namespace.',
  parameters: {
    type: 'object',
    properties: { namespace: { type: 'string', description: 'The namespace' } },
    required: ['namespace'],
  },
};
const nodesList = {
  name: 'nodes_list',
  description: 'List the nodes of the cluster.',
  parameters: { type: 'object', properties: {} },
};

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('runbook embeddings through the real /api/embed (MiniLM)', () => {
  it('gives 384 dimensions and sentence-transformers’ similarities', async () => {
    const embedder = new OllamaEmbedder({
      url: inject('ollamaUrl'),
      model: TEST_EMBED_MODEL,
      timeoutMs: 60_000,
    });
    expect(await embedder.probe()).toBe(TEST_EMBED_DIMENSIONS);
    // The same sentences and published similarities the NumPy stand-in checks itself against.
    const [a, b, c] = await embedder.embedDocuments([
      'The weather is lovely today.',
      "It's so sunny outside!",
      'He drove to the stadium.',
    ]);
    expect(cosine(a!, b!)).toBeCloseTo(0.666, 2);
    expect(cosine(a!, c!)).toBeCloseTo(0.1046, 2);
    expect(cosine(b!, c!)).toBeCloseTo(0.1411, 2);
    const q = await embedder.embedQuery('The weather is lovely today.');
    expect(cosine(q, a!)).toBeCloseTo(1, 4);
  });

  it('says the model is missing when it is', async () => {
    const embedder = new OllamaEmbedder({
      url: inject('ollamaUrl'),
      model: 'no-such-embedder:1',
      timeoutMs: 30_000,
    });
    await expect(embedder.probe()).rejects.toMatchObject({ code: 'model_missing' });
  });
});

describe('the agent provider against a real model', () => {
  const provider = () =>
    new OllamaProvider({
      url: inject('ollamaUrl'),
      model: TEST_CHAT_MODEL,
      contextWindow: 2048,
      temperature: 0,
      keepAlive: '5m',
      timeoutMs: 120_000,
    });

  it('gets a real tool call back, parsed into name and arguments, and sends a tool result back', async () => {
    const p = provider();
    const first = await p.chat({
      messages: [{ role: 'user', content: 'List the pods in namespace payments.' }],
      tools: [podsList, nodesList],
    });
    expect(first.toolCalls).toHaveLength(1);
    const call = first.toolCalls[0]!;
    expect(call.name).toBe('pods_list');
    expect(call.arguments).toEqual({ namespace: 'payments' });
    expect(call.id).toMatch(/^call_/);
    expect(first.promptTokens).toBeGreaterThan(50);

    // The tool result goes back in Ollama's wire format (role tool, tool_name) and is accepted.
    const streamed: string[] = [];
    const second = await p.chat({
      messages: [
        { role: 'user', content: 'List the pods in namespace payments.' },
        { role: 'assistant', content: '', toolCalls: [call] },
        {
          role: 'tool',
          toolCallId: call.id,
          name: 'pods_list',
          content: 'NAME READY STATUS\napi-1 1/1 Running',
        },
        { role: 'user', content: 'How many pods are there?' },
      ],
      tools: [],
      onText: (d) => streamed.push(d),
    });
    expect(second.toolCalls).toEqual([]);
    expect(second.content.length).toBeGreaterThan(0);
    expect(streamed.join('')).toBe(second.content);
    expect(second.completionTokens).toBeGreaterThan(0);
  });

  it('names a model the server does not have', async () => {
    const p = new OllamaProvider({
      url: inject('ollamaUrl'),
      model: 'no-such-model:1b',
      contextWindow: 2048,
      temperature: 0,
      keepAlive: 0,
      timeoutMs: 30_000,
    });
    await expect(p.chat({ messages: [{ role: 'user', content: 'hi' }], tools: [] })).rejects.toMatchObject({
      code: 'model_not_found',
    });
  });
});
