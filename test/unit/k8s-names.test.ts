import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveKind } from '../../tools/clients/discovery.js';
import { KubeClusters } from '../../tools/clients/kube.js';
import { assertApiPath, KubeReader } from '../../tools/clients/kube-raw.js';
import { clusterTools } from '../../tools/cluster/index.js';
import { ToolError } from '../../tools/core/errors.js';
import { apiVersionProblem, nameProblem, nameRuleFor, pathSegment } from '../../tools/shared/k8s-names.js';
import { type FakeApiServer, startFakeApiServer } from '../support/fake-apiserver.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';

describe('Kubernetes name rules', () => {
  it.each([
    ['..', 'path-segment'],
    ['.', 'path-segment'],
    ['a/b', 'path-segment'],
    ['a%2fb', 'path-segment'],
    ['a..b', 'dns1123-subdomain'],
    ['-a', 'dns1123-subdomain'],
    ['a.', 'dns1123-subdomain'],
    ['Payments', 'dns1123-label'],
    ['a.b', 'dns1123-label'],
    ['x'.repeat(64), 'dns1123-label'],
    ['1api', 'dns1035-label'],
  ] as const)('refuses %j under %s', (name, rule) => {
    expect(nameProblem(name, rule)).toBeDefined();
  });

  it.each([
    ['api-7d9f8.x2k4q', 'dns1123-subdomain'],
    ['payments', 'dns1123-label'],
    ['api', 'dns1035-label'],
    ['system:aggregate-to-admin', 'path-segment'],
  ] as const)('accepts %j under %s', (name, rule) => {
    expect(nameProblem(name, rule)).toBeUndefined();
  });

  it("applies each kind's own rule", () => {
    expect(nameRuleFor('', 'Namespace')).toBe('dns1123-label');
    expect(nameRuleFor('', 'Service')).toBe('dns1035-label');
    expect(nameRuleFor('rbac.authorization.k8s.io', 'ClusterRole')).toBe('path-segment');
    expect(nameRuleFor('', 'ConfigMap')).toBe('dns1123-subdomain');
    expect(nameRuleFor('cert-manager.io', 'Certificate')).toBe('dns1123-subdomain');
  });

  it('checks apiVersions and path segments', () => {
    expect(apiVersionProblem('v1')).toBeUndefined();
    expect(apiVersionProblem('cert-manager.io/v1alpha2')).toBeUndefined();
    expect(apiVersionProblem('../../api/v1')).toBeDefined();
    expect(apiVersionProblem('apps/v1/../../api')).toBeDefined();
    expect(pathSegment('api-1', 'name')).toBe('api-1');
    expect(() => pathSegment('..', 'name')).toThrow(ToolError);
  });
});

let api: FakeApiServer;
let clusters: KubeClusters;

beforeAll(async () => {
  api = await startFakeApiServer();
  clusters = new KubeClusters({ kubeconfig: api.kubeconfig(mkdtempSync(join(tmpdir(), 'kmt-names-'))) });
});
afterAll(async () => {
  for (const name of clusters.names()) clusters.get(name).raw.close();
  await api.close();
});
beforeEach(() => {
  api.seen = [];
});

const policy = `
version: 1
identities: { alice: [token:alice] }
bindings:
  - subjects: [alice]
    roles: [operator]
approvals: []
`;
const alice = who('token:alice', [], 'mcp-http');

function pipeline() {
  return testPipeline({
    tools: clusterTools,
    policy: engineFrom(policy, 'fake'),
    backends: { kube: clusters },
  }).pipeline;
}

describe('tools validate names before any request', () => {
  const manifests = {
    'a name of ..':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ..\n  namespace: payments\ndata: { a: "1" }\n',
    'JSON with a name of ..':
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"..","namespace":"payments"}}',
    'a List item named .': `apiVersion: v1\nkind: List\nitems:\n  - { apiVersion: v1, kind: ConfigMap, metadata: { name: ok, namespace: payments } }\n  - { apiVersion: v1, kind: ConfigMap, metadata: { name: ".", namespace: payments } }\n`,
    'a name with a slash':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a/../../b\n  namespace: payments\n',
    'a namespace of ..': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ..\n',
    'an apiVersion that climbs': 'apiVersion: ../../api/v1\nkind: ConfigMap\nmetadata:\n  name: settings\n',
    'a kind with a slash': 'apiVersion: v1\nkind: ConfigMap/x\nmetadata:\n  name: settings\n',
  };

  it.each(Object.entries(manifests))('resources_apply refuses %s and sends nothing', async (_, yaml) => {
    const r = await pipeline().invoke('resources_apply', { namespace: 'payments', yaml }, alice);
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/^invalid arguments for resources_apply: yaml: document \d+: /);
    expect(r.text).toContain('Nothing was executed');
    expect(api.seen).toEqual([]);
  });

  it("resources_apply checks the kind's own rule once the kind is known", async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a..b\n  namespace: payments\n';
    const r = await pipeline().invoke('resources_apply', { yaml }, alice);
    expect(r.status).toBe('error');
    expect(r.errorCode).toBe('invalid_arguments');
    expect(r.text).toContain('ConfigMap name "a..b" is not valid: it must be a DNS-1123 subdomain');
    // Discovery only: no read and no PATCH of any object.
    expect(api.seen.every((s) => /^GET \/api(s|\/v1)?$/.test(s))).toBe(true);
  });

  it('resources_get checks the name against its kind before reading it', async () => {
    const r = await pipeline().invoke(
      'resources_get',
      { kind: 'configmaps', name: 'a..b', namespace: 'payments' },
      alice,
    );
    expect(r.errorCode).toBe('invalid_arguments');
    expect(api.seen.some((s) => s.includes('configmaps'))).toBe(false);
    const dots = await pipeline().invoke('resources_get', { kind: 'cm', name: '..', namespace: 'p' }, alice);
    expect(dots.status).toBe('invalid');
  });

  it.each([
    ['pods_get', { namespace: 'payments', name: '..' }],
    ['pods_get', { namespace: '..', name: 'api' }],
    ['pods_logs', { namespace: 'payments', pod: 'api', container: '../x' }],
    ['nodes_cordon', { name: 'node..1' }],
    ['nodes_drain', { name: '..' }],
    ['events_list', { namespace: 'payments', kind: 'Pod', name: 'a/b' }],
    ['resources_list', { kind: 'configmaps', namespace: 'a%2e' }],
  ])('%s refuses %j before any request', async (tool, args) => {
    const r = await pipeline().invoke(tool, args, alice);
    expect(r.status).toBe('invalid');
    expect(api.seen).toEqual([]);
  });
});

describe('path segments are checked again where paths are built', () => {
  it('discovery never builds a path from an invalid segment', async () => {
    const kind = await resolveKind(clusters.get(), 'v1', 'ConfigMap');
    expect(kind.objectPath('settings', 'payments')).toBe('/api/v1/namespaces/payments/configmaps/settings');
    expect(() => kind.objectPath('..', 'payments')).toThrow(/cannot be part of an API path/);
    expect(() => kind.objectPath('x', '..')).toThrow(/cannot be part of an API path/);
    await expect(resolveKind(clusters.get(), '../v1', 'ConfigMap')).rejects.toThrow(/apiVersion/);
  });

  it('the raw client refuses dot segments, encoded or not, and sends nothing', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig(mkdtempSync(join(tmpdir(), 'kmt-raw-'))));
    const raw = new KubeReader(kc);
    api.seen = [];
    for (const path of [
      '/api/v1/namespaces/payments/configmaps/..',
      '/api/v1/namespaces/payments/configmaps/%2e%2E',
      '/api/v1/namespaces/payments/configmaps/.%2e/x',
      '/api/v1/namespaces/payments/configmaps/a%2Fb',
      '/api/v1/namespaces/payments/configmaps/a?x=1',
    ]) {
      await expect(raw.get(path)).rejects.toBeInstanceOf(ToolError);
    }
    expect(api.seen).toEqual([]);
    expect(() => assertApiPath('/api/v1/namespaces/payments/configmaps/settings')).not.toThrow();
    raw.close();
  });
});
