import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddingError, OllamaEmbedder } from '../../rag/embeddings.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';

let ollama: ScriptedOllama | undefined;
afterEach(async () => {
  await ollama?.close();
  ollama = undefined;
});

const embedBodies = (o: ScriptedOllama) =>
  o.requests.filter((r) => r.path === '/api/embed').map((r) => r.body as { model: string; input: string[] });

async function failure(p: Promise<unknown>): Promise<EmbeddingError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EmbeddingError);
  return e as EmbeddingError;
}

describe('Ollama embeddings client', () => {
  it('batches documents, prefixes them as the model expects and returns unit vectors', async () => {
    ollama = await startScriptedOllama({ embedDimension: 64 });
    const embedder = new OllamaEmbedder({ url: `${ollama.url}/`, model: 'nomic-embed-text', batchSize: 2 });
    const vectors = await embedder.embedDocuments(['one', 'two', 'three', 'four', 'five']);
    expect(vectors).toHaveLength(5);
    for (const v of vectors) {
      expect(v).toHaveLength(64);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    const bodies = embedBodies(ollama);
    expect(bodies.map((b) => b.input.length)).toEqual([2, 2, 1]);
    expect(bodies[0]).toMatchObject({
      model: 'nomic-embed-text',
      input: ['search_document: one', 'search_document: two'],
    });
    await embedder.embedQuery('why');
    expect(embedBodies(ollama).at(-1)!.input).toEqual(['search_query: why']);
    expect(await embedder.probe()).toBe(64);
  });

  it('says how to get a missing model', async () => {
    ollama = await startScriptedOllama({ models: ['llama3.1:8b'] });
    const e = await failure(new OllamaEmbedder({ url: ollama.url, model: 'nomic-embed-text' }).probe());
    expect(e.code).toBe('model_missing');
    expect(e.message).toBe(
      `embedding model nomic-embed-text not found on ${ollama.url}; pull it with \`ollama pull nomic-embed-text\``,
    );
  });

  it('says when the server is unreachable, or too slow', async () => {
    const closed = await startScriptedOllama();
    const url = closed.url;
    await closed.close();
    const down = await failure(new OllamaEmbedder({ url, model: 'm' }).probe());
    expect(down.code).toBe('unreachable');
    expect(down.message).toBe(`embedding server ${url} is unreachable (ECONNREFUSED)`);

    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slowUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const slow = await failure(new OllamaEmbedder({ url: slowUrl, model: 'm', timeoutMs: 200 }).probe());
      expect(slow.code).toBe('timeout');
      expect(slow.message).toBe(`embedding server ${slowUrl} did not answer within 0.2 s (model m)`);
      // A search query waits less than a batch of documents.
      const query = await failure(
        new OllamaEmbedder({ url: slowUrl, model: 'm', timeoutMs: 60_000, queryTimeoutMs: 150 }).embedQuery(
          'q',
        ),
      );
      expect(query.message).toBe(`embedding server ${slowUrl} did not answer within 0.15 s (model m)`);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('refuses answers that are not one embedding per input', async () => {
    ollama = await startScriptedOllama({ embed: (texts) => texts.slice(1).map(() => [1, 0]) });
    const e = await failure(
      new OllamaEmbedder({ url: ollama.url, model: 'nomic-embed-text' }).embedDocuments(['a', 'b']),
    );
    expect(e.code).toBe('bad_response');
    expect(e.message).toContain('answered without 2 embeddings');
  });
});
