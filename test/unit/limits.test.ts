import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../../agent/index.js';
import { askHttpPlugin } from '../../app/ask-http.js';
import { ConfigError, loadConfig } from '../../app/config.js';
import { hashToken, TokenAuthenticator } from '../../mcp/auth.js';
import { mcpHttpPlugin } from '../../mcp/http.js';
import { PrincipalLimiter } from '../../tools/core/limits.js';
import { defineTool } from '../../tools/core/types.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom } from '../support/policy.js';

describe('PrincipalLimiter', () => {
  it('caps requests in flight per principal, and release frees a slot once', () => {
    const limiter = new PrincipalLimiter({ concurrent: 2, perMinute: 0, burst: 1 });
    const a = limiter.admit('alice');
    const b = limiter.admit('alice');
    expect(a.ok && b.ok).toBe(true);
    const c = limiter.admit('alice');
    expect(c).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.admit('bob').ok).toBe(true);
    if (a.ok) {
      a.release();
      a.release();
    }
    expect(limiter.admit('alice').ok).toBe(true);
    expect(limiter.admit('alice').ok).toBe(false);
  });

  it('allows a burst, then the sustained rate, and says when to retry', () => {
    let now = 0;
    const limiter = new PrincipalLimiter({ concurrent: 0, perMinute: 60, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) expect(limiter.admit('alice').ok).toBe(true);
    const refused = limiter.admit('alice');
    expect(refused).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    expect(refused.ok ? '' : refused.reason).toContain('more than 60 requests a minute');
    now += 1000;
    expect(limiter.admit('alice').ok).toBe(true);
    expect(limiter.admit('alice').ok).toBe(false);
    // A batch costs one per message; a cost above the burst is charged as the whole burst.
    now += 3000;
    expect(limiter.admit('alice', 2).ok).toBe(true);
    expect(limiter.admit('alice', 2)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    now += 10_000;
    expect(limiter.admit('alice', 50).ok).toBe(true);
    expect(limiter.admit('alice', 1)).toMatchObject({ ok: false });
  });
});

describe('limits configuration', () => {
  it('has defaults and refuses unknown keys', () => {
    const config = loadConfig({ env: {} });
    expect(config.limits).toEqual({
      ask: { concurrent: 2, perMinute: 30, burst: 10 },
      mcp: { concurrent: 16, perMinute: 600, burst: 120, maxBatch: 20 },
    });
    expect(loadConfig({ env: { KUBEMATE_LIMITS__MCP__MAX_BATCH: '5' } }).limits.mcp.maxBatch).toBe(5);
    expect(() => loadConfig({ env: { KUBEMATE_LIMITS__MCP__BATCH: '5' } })).toThrow(ConfigError);
  });
});

const TOKEN = 'kmt_limits';
const auth = new TokenAuthenticator([
  { name: 't', sha256: hashToken(TOKEN), principal: { id: 'token:alice', groups: [] } },
  { name: 'u', sha256: hashToken(`${TOKEN}-bob`), principal: { id: 'token:bob', groups: [] } },
]);
const origins = { allowedHosts: ['localhost'], allowedOrigins: [] };
const headers = (token = TOKEN) => ({ host: 'localhost', authorization: `Bearer ${token}` });

let servers: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** Resolves when `release` is called: a model or tool that takes as long as the test wants. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((r) => {
    release = r;
  });
  return { opened, release };
}

describe('/api/ask limits', () => {
  async function askServer(limiter: PrincipalLimiter, wait: Promise<void>) {
    const started: string[] = [];
    const agent = {
      async ask(input: { question: string }) {
        started.push(input.question);
        await wait;
        return {};
      },
      async resume() {
        await wait;
        return {};
      },
    } as unknown as Agent;
    const server = Fastify();
    await server.register(askHttpPlugin, { agent: () => agent, auth, origins, limiter });
    servers.push(server);
    return { server, started };
  }
  const ask = (server: FastifyInstance, question: string, token = TOKEN) =>
    server.inject({ method: 'POST', url: '/api/ask', headers: headers(token), payload: { question } });

  it('answers 429 with Retry-After past the questions in flight, per principal', async () => {
    const g = gate();
    const { server, started } = await askServer(
      new PrincipalLimiter({ concurrent: 1, perMinute: 0, burst: 1 }),
      g.opened,
    );
    const first = ask(server, 'one');
    while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await ask(server, 'two');
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.json().error).toContain('Too many requests: 1 requests of yours are still running');
    expect(started).toEqual(['one']);
    // Another principal is not held up.
    const other = ask(server, 'three', `${TOKEN}-bob`);
    g.release();
    expect((await first).statusCode).toBe(200);
    expect((await other).statusCode).toBe(200);
    expect((await ask(server, 'four')).statusCode).toBe(200);
  });

  it('answers 429 past the rate', async () => {
    const { server } = await askServer(
      new PrincipalLimiter({ concurrent: 0, perMinute: 1, burst: 2 }),
      Promise.resolve(),
    );
    expect((await ask(server, 'a')).statusCode).toBe(200);
    expect((await ask(server, 'b')).statusCode).toBe(200);
    const third = await ask(server, 'c');
    expect(third.statusCode).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});

describe('/mcp limits', () => {
  const slow = gate();
  let runs = 0;
  const tools = [
    defineTool({
      name: 'widget_wait',
      title: 'Widget: Wait',
      description: 'Waits until the test lets it finish.',
      input: z.object({}),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'test', verb: 'read', namespaced: false },
      async handler() {
        runs++;
        await slow.opened;
        return { kind: 'doc', text: 'done' };
      },
    }),
  ];
  const policy = engineFrom(
    'version: 1\nidentities: { alice: [token:alice] }\nbindings:\n  - subjects: [alice]\n    roles: [viewer]\n',
  );

  async function mcpServer(limiter: PrincipalLimiter, maxBatch = 20) {
    const { pipeline } = testPipeline({ tools, policy });
    const server = Fastify();
    await server.register(mcpHttpPlugin, { pipeline, auth, origins, limits: { limiter, maxBatch } });
    servers.push(server);
    return server;
  }
  const call = (id: number) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'widget_wait', arguments: {} },
  });
  const post = (server: FastifyInstance, payload: unknown) =>
    server.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        ...headers(),
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
      payload: JSON.stringify(payload),
    });

  it('refuses a batch larger than maxBatch before handling any of it', async () => {
    const server = await mcpServer(new PrincipalLimiter({ concurrent: 0, perMinute: 0, burst: 1 }), 3);
    runs = 0;
    const r = await post(server, [call(1), call(2), call(3), call(4)]);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: -32600 });
    expect(r.json().error.message).toContain('a batch of 4 messages is more than the 3 allowed');
    expect(runs).toBe(0);
  });

  it('counts each message of a batch against the rate, and answers 429 with Retry-After', async () => {
    const server = await mcpServer(new PrincipalLimiter({ concurrent: 0, perMinute: 6, burst: 3 }));
    const list = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
    expect((await post(server, [list(1), list(2)])).statusCode).toBe(200);
    const refused = await post(server, [list(3), list(4)]);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.json().error.message).toContain('Too many requests: more than 6 requests a minute');
  });

  it('caps calls in flight per principal', async () => {
    const server = await mcpServer(new PrincipalLimiter({ concurrent: 1, perMinute: 0, burst: 1 }));
    runs = 0;
    const first = post(server, call(1));
    while (runs === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await post(server, call(2));
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    slow.release();
    expect((await first).statusCode).toBe(200);
    expect((await post(server, call(3))).statusCode).toBe(200);
    expect(runs).toBe(2);
  });
});
