import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeCluster } from '../../tools/clients/kube.js';
import { isTransient, KubeReader } from '../../tools/clients/kube-raw.js';
import { catalog, resolveResource } from '../../tools/cluster/discovery.js';
import { describeEvents } from '../../tools/cluster/events.js';

/**
 * A keep-alive API server that cuts some responses short: it sends the headers and part of a
 * chunked body, then closes the socket.
 */
let server: Server;
let url: string;
let hits = new Map<string, number>();
/** path → how many of its first requests are cut short */
let flaky = new Map<string, number>();
let posts = 0;

const RESOURCES: Record<string, unknown> = {
  '/api': { versions: ['v1'] },
  '/apis': {
    groups: [
      { name: 'apps', preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } },
      { name: 'batch', preferredVersion: { groupVersion: 'batch/v1', version: 'v1' } },
    ],
  },
  '/api/v1': {
    resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'] }],
  },
  '/apis/apps/v1': {
    resources: [
      {
        name: 'deployments',
        singularName: 'deployment',
        namespaced: true,
        kind: 'Deployment',
        verbs: ['get', 'list'],
        shortNames: ['deploy'],
      },
    ],
  },
  '/apis/batch/v1': {
    resources: [{ name: 'jobs', singularName: 'job', namespaced: true, kind: 'Job', verbs: ['get', 'list'] }],
  },
};

function handle(req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '').split('?')[0]!;
  const n = (hits.get(path) ?? 0) + 1;
  hits.set(path, n);
  if (req.method === 'POST') posts++;
  const body = JSON.stringify(RESOURCES[path] ?? { kind: 'Status', code: 404 });
  if (n <= (flaky.get(path) ?? 0)) {
    // Chunked, as the API server sends lists: the terminating chunk never comes.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(body.slice(0, Math.floor(body.length / 2)));
    setTimeout(() => req.socket.destroy(), 5);
    return;
  }
  res.writeHead(RESOURCES[path] ? 200 : 404, { 'Content-Type': 'application/json' });
  res.end(body);
}

function reader(): KubeReader {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'flaky', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'flaky', cluster: 'flaky', user: 'u' }],
    currentContext: 'flaky',
  });
  return new KubeReader(kc);
}

beforeAll(async () => {
  server = createServer({ keepAlive: true }, handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function reset(cuts: Record<string, number>) {
  hits = new Map();
  flaky = new Map(Object.entries(cuts));
  posts = 0;
}

describe('KubeReader over connections that drop mid-response', () => {
  it('sends a GET again after a premature close and returns the whole body', async () => {
    reset({ '/apis/apps/v1': 2 });
    const raw = reader();
    try {
      const got = await raw.get<{ resources: unknown[] }>('/apis/apps/v1');
      expect(got.resources).toHaveLength(1);
      expect(hits.get('/apis/apps/v1')).toBe(3);
    } finally {
      raw.close();
    }
  });

  it('gives up after two retries, and never resends a write', async () => {
    reset({ '/apis/apps/v1': 5, '/api/v1': 5 });
    const raw = reader();
    try {
      await expect(raw.get('/apis/apps/v1')).rejects.toSatisfy(isTransient);
      expect(hits.get('/apis/apps/v1')).toBe(3);
      await expect(raw.request('POST', '/api/v1', { body: {} })).rejects.toSatisfy(isTransient);
      expect(posts).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('keeps many concurrent reads whole while some connections drop', async () => {
    // More reads than sockets (16), so sockets are reused at once: node-fetch 2 failed complete
    // responses here as "Premature close" (node-fetch#1767), besides the two cut per path.
    reset({ '/api/v1': 2, '/apis/apps/v1': 2, '/apis/batch/v1': 2 });
    const raw = reader();
    try {
      const paths = Array.from(
        { length: 60 },
        (_, i) => ['/api/v1', '/apis/apps/v1', '/apis/batch/v1'][i % 3]!,
      );
      const all = await Promise.all(paths.map((p) => raw.get<{ resources: unknown[] }>(p)));
      expect(all.every((r) => r.resources.length === 1)).toBe(true);
    } finally {
      raw.close();
    }
  });
});

describe('the discovery catalog', () => {
  const cluster = (raw: KubeReader, name: string) => ({ name, server: url, raw }) as unknown as KubeCluster;

  it('reads a group again rather than caching a catalog without it', async () => {
    reset({});
    const raw = reader();
    // Every read of apps/v1 fails at first, beyond what the reader's own retries cover.
    const get = raw.get.bind(raw);
    let failures = 4;
    raw.get = (async (path: string, ...rest: []) => {
      if (path === '/apis/apps/v1' && failures-- > 0)
        throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      return get(path, ...rest);
    }) as typeof raw.get;
    try {
      const c = cluster(raw, 'catalog-a');
      // The first load tries apps/v1 twice and says it could not read it.
      const first = await catalog(c);
      expect(first.some((e) => e.group === 'apps')).toBe(false);
      await expect(resolveResource(c, 'Deployment', 'get')).rejects.toThrow(
        /did not answer discovery for the API groups apps/,
      );
      // That lookup read the catalog again at once (still failing: 2 more); the next one succeeds.
      const res = await resolveResource(c, 'deploy', 'get');
      expect(res.entry.kind).toBe('Deployment');
      expect((await catalog(c)).some((e) => e.group === 'apps')).toBe(true);
    } finally {
      raw.close();
    }
  });
});

describe('event messages', () => {
  it('keep their start and their end when long', () => {
    const message = `Failed to pull image "registry.example.com/payments/api:1.2.3": rpc error: code = Unknown desc = failed to pull and unpack image: ${'x'.repeat(300)} failed to authorize: 401 Unauthorized`;
    const [line] = describeEvents([{ type: 'Warning', reason: 'Failed', message, count: 3 } as never]);
    expect(line).toContain('Failed to pull image "registry.example.com/payments/api:1.2.3"');
    expect(line).toContain('failed to authorize: 401 Unauthorized');
    expect(line!.length).toBeLessThan(320);
  });
});
