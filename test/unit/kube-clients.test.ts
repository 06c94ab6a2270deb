import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FilePolicyEngine } from '../../policies/engine.js';
import { type PolicyFile, parsePolicy, policyFileSchema } from '../../policies/policy-file.js';
import { KubeClusters, kubeCall, kubeError } from '../../tools/clients/kube.js';
import { ToolError } from '../../tools/core/errors.js';
import { noSwitches, who } from '../support/policy.js';

/**
 * A stand-in API server on loopback that records the headers of every request and answers with
 * whatever the test sets: enough to see exactly what Kubemate puts on the wire.
 */
let server: Server;
let kubeconfig: string;
const seen: IncomingHttpHeaders[] = [];
let reply: { status: number; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(reply.status, { 'Content-Type': 'application/json' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubemate-kube-clients-')), 'config');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "${url}", insecure-skip-tls-verify: true } }]
users: [{ name: kubemate, user: { token: own-token, as: someone-else } }]
contexts: [{ name: fake, context: { cluster: fake, user: kubemate } }]
current-context: fake
`,
  );
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Every value of every Impersonate-* header of a request, as `name: value`. */
function impersonation(headers: IncomingHttpHeaders): string[] {
  return Object.entries(headers)
    .filter(([k]) => k.startsWith('impersonate-'))
    .flatMap(([k, v]) => (Array.isArray(v) ? v : String(v).split(', ')).map((one) => `${k}: ${one}`))
    .sort();
}

describe('impersonation never forwards system: groups', () => {
  const POLICY = `
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
groups:
  "system:masters": [bob]
  sre: [bob]
bindings:
  - subjects: [alice, bob]
    roles: [viewer]
impersonation:
  enabled: true
  users:
    alice: { user: alice@bank.example, groups: [payments-devs, "system:masters"] }
`;

  it('a policy file that asks for a system: group is refused with the reason', () => {
    expect(() => parsePolicy(POLICY, 'policy.yaml', parseYaml)).toThrow(
      /impersonation\.users\.alice\.groups\.1: system: groups are reserved by Kubernetes \(system:masters is cluster-admin\)/,
    );
    for (const g of ['System:Masters', ' system:nodes']) {
      expect(
        policyFileSchema.safeParse({
          version: 1,
          impersonation: { enabled: true, users: { a: { user: 'a', groups: [g] } } },
        }).success,
        g,
      ).toBe(false);
    }
  });

  it('an engine given such a file anyway (not through the parser) still drops them', () => {
    // What the parser would refuse, built by hand: the engine must not rely on the parser alone.
    const raw = parseYaml(POLICY) as Record<string, unknown>;
    const file = {
      ...policyFileSchema.parse({ ...raw, impersonation: { enabled: true } }),
      impersonation: {
        enabled: true,
        users: { alice: { user: 'alice@bank.example', groups: ['payments-devs', 'system:masters'] } },
      },
    } as PolicyFile;
    const engine = new FilePolicyEngine(file, noSwitches, () => 'fake');
    expect(engine.kubeIdentity(who('slack:UALICE', ['system:masters']))).toEqual({
      user: 'alice@bank.example',
      groups: ['payments-devs'],
    });
    expect(engine.kubeIdentity(who('slack:UBOB', ['system:masters']))).toEqual({
      user: 'bob',
      groups: ['sre'],
    });
  });

  it('on the wire: both Kubernetes clients send only the permitted groups, and no kubeconfig act-as header', async () => {
    const clusters = new KubeClusters({ kubeconfig });
    clusters.impersonate(() => ({
      user: 'alice',
      groups: ['payments-devs', 'system:masters', 'SYSTEM:authenticated', 'payments-devs'],
    }));
    const cluster = clusters.as(who('slack:UALICE')).get();
    reply = { status: 200, body: '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"}}' };
    seen.length = 0;
    await cluster.core.readNamespace({ name: 'x' });
    await cluster.raw.get('/api/v1/namespaces/x');
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(impersonation(headers)).toEqual(['impersonate-group: payments-devs', 'impersonate-user: alice']);
    }
  });
});

describe('errors are classified honestly', () => {
  const clusters = () => new KubeClusters({ kubeconfig });

  it('a reply that is not what a Kubernetes API server sends is a backend error naming the request, not "unreachable"', async () => {
    const cluster = clusters().get();
    reply = { status: 200, body: '<html>proxy login</html>' };
    const e = await kubeCall(cluster, 'read namespace x', () =>
      cluster.raw.get('/api/v1/namespaces/x'),
    ).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).code).toBe('backend_error');
    expect((e as ToolError).message).toContain(
      "cannot read namespace x in cluster 'fake': the reply to GET /api/v1/namespaces/x is not JSON",
    );
    expect((e as ToolError).message).not.toContain('unreachable');
  });

  it('a TypeError while reading a reply is an internal error with a clear message', async () => {
    const cluster = clusters().get();
    reply = { status: 200, body: '{"kind":"PodList"}' };
    const e = await kubeCall(cluster, 'list pods', async () => {
      const list = await cluster.raw.get<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/pods');
      return list.items.map((p) => p.metadata.name);
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).code).toBe('internal');
    expect((e as ToolError).message).toMatch(
      /^cannot list pods in cluster 'fake': Kubemate failed on the reply \(TypeError: .*\); this is a bug in Kubemate or an unexpected reply, not a connection problem$/,
    );
  });

  it('only a failed connection is reported as unreachable', async () => {
    const cluster = clusters().get();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(kubeError(cluster, 'list pods', refused)).toMatchObject({ code: 'backend_unavailable' });
    expect(kubeError(cluster, 'list pods', refused).message).toContain('is unreachable (ECONNREFUSED');
    // Node's fetch wraps the system error in a TypeError: the cause decides, not the wrapper.
    const viaFetch = new TypeError('fetch failed', { cause: refused });
    expect(kubeError(cluster, 'list pods', viaFetch)).toMatchObject({ code: 'backend_unavailable' });
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(kubeError(cluster, 'list pods', tls)).toMatchObject({ code: 'backend_unavailable' });
    const aborted = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(kubeError(cluster, 'list pods', aborted)).toMatchObject({ code: 'timeout' });
    for (const bug of [
      new TypeError("Cannot read properties of undefined (reading 'map')"),
      new RangeError('x'),
    ]) {
      const e = kubeError(cluster, 'list pods', bug);
      expect(e.code).toBe('internal');
      expect(e.message).not.toContain('unreachable');
    }
  });
});
