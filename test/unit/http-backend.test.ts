import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendSet, HttpBackend, type HttpBackendOptions } from '../../tools/clients/http-backend.js';
import { ToolError } from '../../tools/core/errors.js';

let server: Server;
let base: string;
let seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let flaky = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/slow')) return; // never answers
    if (req.url?.startsWith('/flaky') && flaky-- > 0) {
      res.writeHead(503).end('overloaded');
      return;
    }
    if (req.url?.startsWith('/bad')) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ok: true, url: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function backend(over: Partial<HttpBackendOptions> = {}): HttpBackend {
  return new HttpBackend('Prometheus', { name: 'main', url: base, timeoutSeconds: 1, retries: 2, ...over });
}

async function failure(p: Promise<unknown>): Promise<ToolError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ToolError);
  return e as ToolError;
}

describe('HttpBackend', () => {
  it('sends bearer auth, the tenant header and query parameters', async () => {
    seen = [];
    const b = backend({ bearerToken: 's3cret', tenant: 'team-a' });
    const out = await b.json<{ url: string }>('/api/v1/query', { query: { query: 'up', match: ['a', 'b'] } });
    expect(out.url).toBe('/api/v1/query?query=up&match=a&match=b');
    expect(seen[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(seen[0]!.headers['x-scope-orgid']).toBe('team-a');
    b.close();
  });

  it('sends basic auth and keeps a path prefix in the URL', async () => {
    seen = [];
    const b = backend({ url: `${base}/prom`, basicAuth: { username: 'u', password: 'p' } });
    await b.json('api/v1/labels');
    expect(seen[0]!.url).toBe('/prom/api/v1/labels');
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    b.close();
  });

  it('never calls a path outside the instance, whatever the path says', async () => {
    seen = [];
    const b = backend({ url: `${base}/prom` });
    for (const path of ['../admin', 'api/../../admin', '//evil.example/x', 'api/%2e%2e/x', 'a%2Fb']) {
      const e = await failure(b.request(path));
      expect(e.code).toBe('invalid_arguments');
      expect(e.message).toContain("refusing to call Prometheus 'main'");
    }
    expect(seen).toEqual([]);
    await b.request('api/v1/status/buildinfo');
    expect(seen[0]!.url).toBe('/prom/api/v1/status/buildinfo');
    b.close();
  });

  it('retries a 503 and then succeeds', async () => {
    flaky = 2;
    seen = [];
    const b = backend();
    await expect(b.json('/flaky')).resolves.toMatchObject({ ok: true });
    expect(seen.length).toBe(3);
    b.close();
  });

  it("returns the backend's own message for a 4xx, without retrying", async () => {
    seen = [];
    const b = backend();
    const e = await failure(b.json('/bad'));
    expect(e.code).toBe('backend_error');
    expect(e.message).toBe(`Prometheus 'main' at ${base} (HTTP 400): parse error at char 5`);
    expect(seen.length).toBe(1);
    b.close();
  });

  it('names a stopped backend and fails fast', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const b = backend({ url: `http://127.0.0.1:${port}`, retries: 1 });
    const started = Date.now();
    const e = await failure(b.json('/api/v1/query'));
    expect(e.code).toBe('backend_unavailable');
    expect(e.message).toContain(`Prometheus 'main' at http://127.0.0.1:${port} is unreachable: ECONNREFUSED`);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('gives up on a hung backend within its timeout, naming it', async () => {
    const b = backend({ timeoutSeconds: 0.5 });
    const started = Date.now();
    const e = await failure(b.json('/slow'));
    const took = Date.now() - started;
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/Prometheus 'main' at .* did not answer within 0.5 s/);
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
    b.close();
  });
});

describe('BackendSet', () => {
  const opts = (name: string, cluster?: string): HttpBackendOptions => ({
    name,
    url: base,
    timeoutSeconds: 1,
    retries: 0,
    ...(cluster ? { cluster } : {}),
  });

  it('picks by cluster, by name, and defaults to the default cluster', () => {
    const set = new BackendSet('Loki', [opts('a', 'east'), opts('b', 'west')], () => 'west');
    expect(set.pick('east').name).toBe('a');
    expect(set.pick('b').name).toBe('b');
    expect(set.pick().name).toBe('b');
    expect(() => set.pick('north')).toThrow(
      "no Loki is configured for 'north'; configured: a (cluster east), b (cluster west)",
    );
  });

  it('says how to configure a backend when there is none', () => {
    expect(() => new BackendSet('Jaeger', []).pick()).toThrow(/add it under observability.jaeger/);
  });
});
