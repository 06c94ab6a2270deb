import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { OllamaProvider } from '../../agent/providers/ollama.js';
import { LlmError } from '../../agent/providers/types.js';
import { EmbeddingError, OllamaEmbedder } from '../../rag/embeddings.js';
import { HttpBackend } from '../../tools/clients/http-backend.js';
import { KubeReader } from '../../tools/clients/kube-raw.js';
import { ToolError } from '../../tools/core/errors.js';

const MiB = 1024 * 1024;
let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** A local server; `hits` counts requests, so a test can see that nothing was retried. */
async function serve(handler: RequestListener) {
  const state = { url: '', hits: 0 };
  const server = createServer((req, res) => {
    state.hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Writes `total` bytes of JSON-looking text in chunks without a Content-Length (chunked). */
function stream(total: number, chunk = 64 * 1024): RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const piece = Buffer.alloc(chunk, 'a');
    let sent = 0;
    const write = () => {
      while (sent < total) {
        sent += chunk;
        if (!res.write(piece)) return res.once('drain', write);
      }
      res.end();
    };
    write();
  };
}

async function failure<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(type);
  return e as T;
}

describe('backend answers are read up to a byte cap', () => {
  it('Prometheus: a streamed answer past maxResponseMiB fails with what to do, and is not retried', async () => {
    const s = await serve(stream(3 * MiB));
    const prom = new HttpBackend('Prometheus', {
      name: 'main',
      url: s.url,
      timeoutSeconds: 5,
      retries: 2,
      maxResponseMiB: 1,
    });
    const e = await failure(prom.json('api/v1/query'), ToolError);
    expect(e.message).toBe(
      `Prometheus 'main' at ${s.url}: the response exceeded 1 MiB; narrow the query (a shorter range, a coarser step, fewer series or labels), or raise maxResponseMiB for this instance`,
    );
    expect(s.hits).toBe(1);
    prom.close();
  });

  it('Prometheus: a declared Content-Length past the cap is refused before reading', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(2 * MiB) });
      res.write('x');
    });
    const prom = new HttpBackend('Loki', {
      name: 'l',
      url: s.url,
      timeoutSeconds: 5,
      retries: 0,
      maxResponseMiB: 1,
    });
    expect((await failure(prom.request('x'), ToolError)).message).toContain('exceeded 1 MiB');
    prom.close();
  });

  it('an answer under the cap still reads whole', async () => {
    const s = await serve(stream(512 * 1024));
    const prom = new HttpBackend('Jaeger', {
      name: 'j',
      url: s.url,
      timeoutSeconds: 5,
      retries: 0,
      maxResponseMiB: 1,
    });
    expect((await prom.request('api/traces')).body.length).toBe(512 * 1024);
    prom.close();
  });

  it('Kubernetes: the cap counts decompressed bytes, so a gzip bomb stops early', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * MiB, ' '));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb);
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: s.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const raw = new KubeReader(kc, undefined, { maxResponseBytes: MiB });
    const e = await failure(raw.get('/api/v1/pods'), ToolError);
    expect(e.message).toBe(
      "the API server's answer to GET /api/v1/pods exceeded 1 MiB; narrow the request (a namespace, a label or field selector), or raise kubernetes.maxResponseMiB",
    );
    expect(s.hits).toBe(1);
    raw.close();
  });

  it('embeddings: an answer past the cap is a bad response, not a full memory', async () => {
    const s = await serve(stream(3 * MiB));
    const embedder = new OllamaEmbedder({ url: s.url, model: 'm', maxResponseBytes: MiB });
    const e = await failure(embedder.embedQuery('q'), EmbeddingError);
    expect(e.code).toBe('bad_response');
    expect(e.message).toContain('answered with more than 1 MiB for 1 texts');
  });

  it('the model: a streamed reply that never ends a line stops at the cap', async () => {
    const s = await serve(stream(3 * MiB));
    const ollama = new OllamaProvider({
      url: s.url,
      model: 'm',
      contextWindow: 8192,
      temperature: 0,
      keepAlive: '5m',
      timeoutMs: 10_000,
      maxResponseBytes: MiB,
    });
    const e = await failure(
      ollama.chat({ messages: [{ role: 'user', content: 'hi' }], tools: [] }),
      LlmError,
    );
    expect(e.code).toBe('bad_response');
    expect(e.message).toContain(`the model server at ${s.url} sent more than 1 MiB in one answer`);
  });
});
