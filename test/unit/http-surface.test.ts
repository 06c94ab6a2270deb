import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { buildHttpServer } from '../../app/http.js';
import { type App, buildApp } from '../../app/wiring.js';
import { checkOrigin, hashToken } from '../../mcp/auth.js';
import { silentLogger } from '../../tools/core/logger.js';
import { type FakeApiServer, startFakeApiServer } from '../support/fake-apiserver.js';

const TOKEN = 'kmt_http-surface-test';

let api: FakeApiServer;
let app: App;
let server: FastifyInstance;

beforeAll(async () => {
  api = await startFakeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-http-'));
  app = buildApp(
    loadConfig({
      env: {
        KUBEMATE_DATA_DIR: dir,
        KUBEMATE_KUBERNETES__KUBECONFIG: api.kubeconfig(dir),
        KUBEMATE_AUTH__TOKENS: JSON.stringify([
          { name: 't', sha256: hashToken(TOKEN), principal: { id: 'token:alice', groups: [] } },
        ]),
      },
    }),
    silentLogger,
  );
  server = await buildHttpServer(app);
});
afterAll(async () => {
  await server.close();
  app.close();
  await api.close();
});

const get = (url: string, headers: Record<string, string>) => server.inject({ method: 'GET', url, headers });

describe('the HTTP surface', () => {
  it.each(['/healthz', '/readyz', '/metrics', '/api/ask', '/no-such-route'])(
    'refuses %s for a Host that is not allowed',
    async (url) => {
      const r = await get(url, { host: 'evil.example' });
      expect(r.statusCode).toBe(403);
      expect(r.json().error).toContain("Host 'evil.example' is not allowed");
      expect(r.body).not.toContain('fake');
    },
  );

  it('refuses /mcp for a Host that is not allowed, in JSON-RPC', async () => {
    const r = await server.inject({
      method: 'POST',
      url: '/mcp',
      headers: { host: 'evil.example', authorization: `Bearer ${TOKEN}` },
      payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.message).toContain("Host 'evil.example' is not allowed");
  });

  it('refuses a browser Origin that is not allowed on every route', async () => {
    const r = await get('/healthz', { host: 'localhost:8080', origin: 'https://evil.example' });
    expect(r.statusCode).toBe(403);
  });

  it('answers probes on an allowed Host', async () => {
    expect((await get('/healthz', { host: 'localhost:8080' })).statusCode).toBe(200);
    expect((await get('/metrics', { host: '127.0.0.1:8080' })).statusCode).toBe(200);
  });

  it('/readyz gives the status to anyone allowed in, cluster names only with a token', async () => {
    const anonymous = await get('/readyz', { host: 'localhost' });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ status: 'ready' });
    const wrong = await get('/readyz', { host: 'localhost', authorization: 'Bearer nope' });
    expect(wrong.json()).toEqual({ status: 'ready' });
    const named = await get('/readyz', { host: 'localhost', authorization: `Bearer ${TOKEN}` });
    expect(named.json()).toEqual({ status: 'ready', clusters: ['fake'] });
  });

  it('reads the Host header strictly', () => {
    const policy = { allowedHosts: ['localhost', '127.0.0.1', '[::1]'], allowedOrigins: [] };
    for (const ok of ['localhost', 'localhost:8080', '127.0.0.1:1', '[::1]:8080', 'LOCALHOST'])
      expect(checkOrigin(policy, ok, undefined), ok).toBeUndefined();
    for (const bad of ['127.0.0.1:evil.example', 'localhost:80:80', 'evil@localhost', '[::1]evil', '', ' '])
      expect(checkOrigin(policy, bad, undefined), bad).toBeDefined();
  });
});
