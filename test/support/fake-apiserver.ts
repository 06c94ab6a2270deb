import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A minimal Kubernetes API server on loopback for unit tests that must see exactly which requests
 * leave Kubemate: discovery for the core group (configmaps, namespaces, pods, nodes) and Status
 * 404s for every object, in the API server's own JSON shapes. Writes are echoed back as applied.
 * Integration tests use the real kube-apiserver instead.
 */
export interface FakeApiServer {
  url: string;
  /** `METHOD path?query` of every request received, in order. */
  seen: string[];
  /** Raw bodies by request, for answers the test wants to shape. */
  respond?: (method: string, path: string) => { status: number; body: string } | undefined;
  kubeconfig(dir: string): string;
  close(): Promise<void>;
}

const coreResources = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'configmaps',
      singularName: 'configmap',
      namespaced: true,
      kind: 'ConfigMap',
      verbs: ['get', 'list', 'patch', 'create'],
      shortNames: ['cm'],
    },
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['get', 'list', 'patch'],
      shortNames: ['ns'],
    },
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get', 'list'],
      shortNames: ['po'],
    },
    {
      name: 'nodes',
      singularName: 'node',
      namespaced: false,
      kind: 'Node',
      verbs: ['get', 'list', 'patch'],
      shortNames: ['no'],
    },
  ],
};

function notFound(path: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: `the server could not find the requested resource (${path})`,
    reason: 'NotFound',
    code: 404,
  });
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const fake: FakeApiServer = {
    url: '',
    seen: [],
    kubeconfig(dir: string) {
      const path = join(dir, 'kubeconfig');
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{ name: fake, cluster: { server: "' +
            fake.url +
            '", insecure-skip-tls-verify: true } }]',
          'users: [{ name: fake, user: { token: fake-token } }]',
          'contexts: [{ name: fake, context: { cluster: fake, user: fake } }]',
          'current-context: fake',
          '',
        ].join('\n'),
      );
      return path;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '';
      const path = url.split('?')[0]!;
      fake.seen.push(`${method} ${url}`);
      const json = (status: number, text: string) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      const custom = fake.respond?.(method, path);
      if (custom) return json(custom.status, custom.body);
      if (path === '/version')
        return json(200, JSON.stringify({ major: '1', minor: '33', gitVersion: 'v1.33.0' }));
      if (path === '/api') return json(200, JSON.stringify({ kind: 'APIVersions', versions: ['v1'] }));
      if (path === '/apis') return json(200, JSON.stringify({ kind: 'APIGroupList', groups: [] }));
      if (path === '/api/v1') return json(200, JSON.stringify(coreResources));
      if (method === 'PATCH') return json(200, body || '{}');
      return json(404, notFound(path));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = fake.close;
  fake.close = async () => {
    server.closeAllConnections();
    await close();
  };
  return fake;
}
