import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backends } from '../../tools/clients/backends.js';
import { BackendSet, type HttpBackendOptions } from '../../tools/clients/http-backend.js';
import { metricsToolset } from '../../tools/metrics/index.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';

// Two Prometheus instances on one local server; the path prefix tells which one was asked.
let server: Server;
let base: string;
let seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { job: 'api' }, value: [1700000000, '1'] }] },
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const instance = (name: string, cluster?: string): HttpBackendOptions => ({
  name,
  url: `${base}/${name}`,
  timeoutSeconds: 2,
  retries: 0,
  ...(cluster ? { cluster } : {}),
});

const policy = `
version: 1
identities: { alice: [token:alice] }
bindings:
  - subjects: [alice]
    roles: [viewer]
deny:
  - toolsets: [metrics]
    clusters: [prod]
    reason: production metrics are not for this team
`;

function setup(defaultCluster: string, instances: HttpBackendOptions[]) {
  const prometheus = new BackendSet('Prometheus', instances, () => defaultCluster);
  const backends = { kube: { as: () => ({}) }, prometheus } as unknown as Backends;
  const t = testPipeline({ tools: metricsToolset, policy: engineFrom(policy, defaultCluster), backends });
  return { ...t, close: () => prometheus.close() };
}

const alice = who('token:alice', [], 'mcp-http');
const query = (cluster?: string) => ({ query: 'up', ...(cluster ? { cluster } : {}) });

describe('observability calls are decided on the cluster of the instance they reach', () => {
  it('a deny on a cluster also covers its instance named by name', async () => {
    const { pipeline, audit, close } = setup('dev', [
      instance('prom-main', 'prod'),
      instance('prom-dev', 'dev'),
    ]);
    seen = [];
    for (const asked of ['prod', 'prom-main']) {
      const r = await pipeline.invoke('promql_query', query(asked), alice);
      expect(r.status).toBe('denied');
      expect(r.text).toContain('production metrics are not for this team');
    }
    expect(seen).toEqual([]);
    // What was decided is on the record: the cluster the instance watches.
    expect(audit.records.filter((r) => r.kind === 'decision').map((r) => r.decision?.effect)).toEqual([
      'deny',
      'deny',
    ]);

    for (const asked of ['dev', 'prom-dev', undefined]) {
      const r = await pipeline.invoke('promql_query', query(asked), alice);
      expect(r.status).toBe('success');
    }
    expect(seen.every((u) => u.startsWith('/prom-dev/'))).toBe(true);
    expect(seen).toHaveLength(3);
    close();
  });

  it('never falls back to another cluster when the default cluster has no instance', async () => {
    const { pipeline, close } = setup('staging', [
      instance('prom-main', 'prod'),
      instance('prom-dev', 'dev'),
    ]);
    seen = [];
    const r = await pipeline.invoke('promql_query', query(), alice);
    expect(r.status).toBe('error');
    expect(r.errorCode).toBe('unknown_cluster');
    expect(r.text).toContain("no Prometheus is configured for the default cluster 'staging'");
    expect(r.text).toContain('prom-main (cluster prod), prom-dev (cluster dev)');
    expect(seen).toEqual([]);
    close();
  });

  it('an instance without a cluster watches the default cluster, by name too', async () => {
    const { pipeline, close } = setup('prod', [instance('main')]);
    seen = [];
    for (const asked of ['main', 'prod', undefined]) {
      expect((await pipeline.invoke('promql_query', query(asked), alice)).status).toBe('denied');
    }
    expect(seen).toEqual([]);
    close();
  });
});
