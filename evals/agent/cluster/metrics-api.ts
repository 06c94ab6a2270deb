import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PodMetricsSpec } from '../schema.js';
import { selfSignedCert } from './certs.js';
import { type AdminRest, isStatus } from './rest.js';
import { waitUntil } from './wait.js';

const API_SERVICE = 'v1beta1.metrics.k8s.io';
const SERVICE = { name: 'kubemate-eval-metrics', namespace: 'kube-system' };

interface Rule extends PodMetricsSpec {
  namespace: string;
}

/**
 * The resource metrics API (metrics.k8s.io) for the test cluster, answering with the usage the
 * scenarios declare. metrics-server cannot run here (kwok's kubelets publish no resource metrics),
 * so this stands in for it, registered through the real aggregation layer: the API server proxies
 * to it and the real HPA controller computes utilisation and replica counts from it.
 */
export class MetricsApi {
  private readonly rules: Rule[] = [];
  private constructor(
    private readonly rest: AdminRest,
    private readonly server: Server,
  ) {}

  static async start(rest: AdminRest): Promise<MetricsApi> {
    const existing = await rest.get('apiregistration.k8s.io/v1', 'APIService', API_SERVICE).catch((e) => {
      if (isStatus(e, 404)) return undefined;
      throw e;
    });
    const svc = (existing?.spec as { service?: { name?: string } } | undefined)?.service;
    if (existing && svc?.name !== SERVICE.name) {
      throw new Error(
        `the cluster already serves ${API_SERVICE} (service ${svc?.name ?? 'local'}); scenarios with podMetrics need a test cluster without metrics-server`,
      );
    }
    const tls = await selfSignedCert('localhost', [], 2);
    let api: MetricsApi | undefined;
    const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      void api!.handle(req.url ?? '/').then(
        ([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              code: 500,
              message: e.message,
            }),
          );
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    api = new MetricsApi(rest, server);
    await api.register((server.address() as AddressInfo).port);
    return api;
  }

  add(namespace: string, spec: PodMetricsSpec): void {
    this.rules.push({ ...spec, namespace });
  }

  remove(namespace: string): void {
    for (let i = this.rules.length - 1; i >= 0; i--)
      if (this.rules[i]!.namespace === namespace) this.rules.splice(i, 1);
  }

  private async register(port: number): Promise<void> {
    await removeMetricsApi(this.rest);
    await this.rest.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...SERVICE },
      // The aggregator resolves an ExternalName service to its host name: here, this process on loopback.
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port }] },
    });
    await this.rest.create({
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: API_SERVICE },
      spec: {
        service: { ...SERVICE, port },
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    });
    await waitUntil(`${API_SERVICE} to become Available`, async () => {
      const s = await this.rest.get('apiregistration.k8s.io/v1', 'APIService', API_SERVICE);
      const ok = (s.status?.conditions as { type: string; status: string }[] | undefined)?.some(
        (c) => c.type === 'Available' && c.status === 'True',
      );
      return ok ? true : undefined;
    });
  }

  private async handle(url: string): Promise<[number, unknown]> {
    const u = new URL(url, 'https://localhost');
    if (u.pathname === '/apis/metrics.k8s.io/v1beta1') {
      return [
        200,
        {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'metrics.k8s.io/v1beta1',
          resources: [
            { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
            {
              name: 'nodes',
              singularName: '',
              namespaced: false,
              kind: 'NodeMetrics',
              verbs: ['get', 'list'],
            },
          ],
        },
      ];
    }
    if (u.pathname === '/apis/metrics.k8s.io/v1beta1/nodes') {
      return [
        200,
        { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items: [] },
      ];
    }
    const m = /^\/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/pods$/.exec(u.pathname);
    if (!m)
      return [404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }];
    const namespace = m[1]!;
    const asked = await this.rest.list(
      'v1',
      'Pod',
      namespace,
      u.searchParams.get('labelSelector') ?? undefined,
    );
    const now = new Date().toISOString();
    const items = [];
    for (const rule of this.rules.filter((r) => r.namespace === namespace)) {
      const covered = new Set(
        (await this.rest.list('v1', 'Pod', namespace, rule.selector)).map((p) => p.metadata!.name),
      );
      for (const pod of asked.filter((p) => covered.has(p.metadata!.name))) {
        items.push({
          metadata: {
            name: pod.metadata!.name,
            namespace,
            labels: pod.metadata!.labels ?? {},
            creationTimestamp: now,
          },
          timestamp: now,
          window: '30s',
          containers: Object.entries(rule.containers).map(([name, usage]) => ({ name, usage })),
        });
      }
    }
    return [200, { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items }];
  }

  async stop(): Promise<void> {
    await removeMetricsApi(this.rest).catch(() => undefined);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Removes this harness's metrics API registration (also one a killed run left behind). */
export async function removeMetricsApi(rest: AdminRest): Promise<void> {
  const existing = await rest
    .get('apiregistration.k8s.io/v1', 'APIService', API_SERVICE)
    .catch(() => undefined);
  if (
    existing &&
    (existing.spec as { service?: { name?: string } } | undefined)?.service?.name === SERVICE.name
  ) {
    await rest.delete('apiregistration.k8s.io/v1', 'APIService', API_SERVICE);
  }
  await rest.delete('v1', 'Service', SERVICE.name, SERVICE.namespace);
}
