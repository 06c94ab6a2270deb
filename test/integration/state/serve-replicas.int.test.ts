// Two `kubemate serve` processes (the built CLI) on one real PostgreSQL 15 and the real test cluster,
// reached over MCP Streamable HTTP: a ticket requested on one replica and approved on the other runs
// once (a Deployment in this file's namespace really scales); two approvals of one ticket at once on
// both replicas run it once; calls on both replicas at once leave an audit chain `kubemate audit
// verify` accepts; and when the scheduler lease holder is SIGKILLed, the other replica runs the next
// due inspection within the lease time, and no due run happens twice.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../../mcp/auth.js';
import { baseEnv, runKubemate } from '../../support/cli.js';
import {
  adminClients,
  createDeployment,
  createNamespace,
  deleteNamespace,
  testKubeconfig,
  uniqueName,
  waitFor,
} from '../../support/kube.js';
import { freshDatabase, startStatePostgres, stopStatePostgres } from '../../support/pg-state.js';
import { callTool, mcpOver, type Served, startServe } from '../../support/serve.js';
import { closeAll, pgState } from './backends.js';

const ns = uniqueName('ha-serve');
const LEASE_SECONDS = 4;
const TOKENS = {
  alice: 'alice-token-for-the-replica-tests-0001',
  bob: 'bob-token-for-the-replica-tests-00002',
};
// Default approvals: every write needs one approval from another person who may run it.
const POLICY = `
version: 1
identities:
  alice: [token:alice]
  bob: [token:bob]
roles:
  inspector:
    - toolsets: [inspection, cluster]
      verbs: [read]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
  - subjects: ["kubemate:scheduler-a", "kubemate:scheduler-b"]
    roles: [inspector]
`;

let url: string;
/** One pool for the test's own reads (a pool per read would use up the server's connections). */
let db: ReturnType<typeof pgState> | undefined;
const replicas: Record<'a' | 'b', Served | undefined> = { a: undefined, b: undefined };
const clients: Client[] = [];

function env(name: 'a' | 'b', policyFile: string): Record<string, string> {
  return {
    KUBEMATE_STATE__URL: url,
    KUBEMATE_STATE__LEASE_SECONDS: String(LEASE_SECONDS),
    KUBEMATE_DATA_DIR: mkdtempSync(join(tmpdir(), `kubemate-replica-${name}-`)),
    KUBEMATE_POLICY__FILE: policyFile,
    KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
    KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
    KUBEMATE_LOG__LEVEL: 'info',
    KUBEMATE_AUTH__TOKENS: JSON.stringify(
      (['alice', 'bob'] as const).map((p) => ({
        name: p,
        sha256: hashToken(TOKENS[p]),
        principal: { id: `token:${p}`, groups: [] },
      })),
    ),
    KUBEMATE_INSPECTIONS__SUMMARY: 'template',
    KUBEMATE_INSPECTIONS__PLANS: JSON.stringify([
      { name: 'ha-every-minute', cron: '* * * * *', namespace: ns, scopes: ['app'] },
    ]),
    KUBEMATE_INSPECTIONS__PRINCIPAL: JSON.stringify({ id: `kubemate:scheduler-${name}`, groups: [] }),
  };
}

async function client(replica: 'a' | 'b', person: 'alice' | 'bob'): Promise<Client> {
  const c = await mcpOver(replicas[replica]!.mcpUrl, TOKENS[person]);
  clients.push(c);
  return c;
}

const replicasOf = async (name: string) =>
  (await adminClients().apps.readNamespacedDeployment({ namespace: ns, name })).spec?.replicas;

/** Audit rows as PostgreSQL holds them. */
async function auditRows(where: string, params: unknown[] = []) {
  db ??= pgState(url);
  const res = await db.pool.query<{ seq: string; principal: string; record: string }>(
    `SELECT seq, principal, record FROM audit WHERE ${where} ORDER BY seq`,
    params,
  );
  // The principal column (its id) after the record, whose own `principal` is the whole object.
  return res.rows.map((r) => ({ ...JSON.parse(r.record), seq: Number(r.seq), principal: r.principal }));
}

async function leaseHeld(replica: Served): Promise<boolean> {
  const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
  return /kubemate_lease_held\{lease="scheduler"\} 1/.test(text);
}

beforeAll(async () => {
  await createNamespace(ns);
  await createDeployment(ns, 'api', 1);
  await createDeployment(ns, 'web', 1);
  url = freshDatabase(await startStatePostgres());
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-replicas-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  [replicas.a, replicas.b] = await Promise.all([
    startServe(env('a', policyFile)),
    startServe(env('b', policyFile)),
  ]);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await Promise.all(Object.values(replicas).map((r) => r?.stop()));
  await closeAll();
  await stopStatePostgres();
  await deleteNamespace(ns);
}, 60_000);

describe('two kubemate serve replicas on one PostgreSQL', () => {
  it('a ticket requested on replica A and approved on replica B runs once, and the Deployment is scaled', async () => {
    const asked = await callTool(await client('a', 'alice'), 'deployment_scale', {
      namespace: ns,
      name: 'api',
      replicas: 3,
    });
    expect(asked.text).toContain('approval required');
    const ticket = /Ticket (apr_[0-9a-f]{12})/.exec(asked.text)![1]!;
    expect(await replicasOf('api')).toBe(1);
    const approved = await callTool(await client('b', 'bob'), 'approvals_approve', { ticket });
    expect(approved.isError).toBeFalsy();
    expect(await replicasOf('api')).toBe(3);
    const results = await auditRows("kind = 'result' AND tool = 'deployment_scale' AND record LIKE $1", [
      `%${ticket}%`,
    ]);
    expect(results.filter((r) => r.outcome === 'success')).toHaveLength(1);
  }, 60_000);

  it('two approvals of one ticket at once, one on each replica, run it once', async () => {
    const asked = await callTool(await client('b', 'alice'), 'deployment_scale', {
      namespace: ns,
      name: 'web',
      replicas: 4,
    });
    const ticket = /Ticket (apr_[0-9a-f]{12})/.exec(asked.text)![1]!;
    const [onA, onB] = [await client('a', 'bob'), await client('b', 'bob')];
    const both = await Promise.all([
      callTool(onA, 'approvals_approve', { ticket }),
      callTool(onB, 'approvals_approve', { ticket }),
    ]);
    expect(both.filter((r) => !r.isError)).toHaveLength(1);
    expect(both.find((r) => r.isError)!.text).toMatch(/already approved|not pending|never runs twice/);
    expect(await replicasOf('web')).toBe(4);
    const runs = await auditRows(
      "kind = 'result' AND tool = 'deployment_scale' AND principal = 'token:alice' AND record LIKE $1",
      [`%"ticketId":"${ticket}"%`],
    );
    expect(runs.filter((r) => r.outcome === 'success')).toHaveLength(1);
  }, 60_000);

  it('calls on both replicas at once leave one audit chain that kubemate audit verify accepts', async () => {
    const before = (await auditRows("tool = 'pods_list'")).length;
    const callers = await Promise.all([client('a', 'alice'), client('b', 'alice'), client('b', 'bob')]);
    const calls = await Promise.all(
      Array.from({ length: 45 }, (_, i) => callTool(callers[i % 3]!, 'pods_list', { namespace: ns })),
    );
    expect(calls.every((c) => !c.isError)).toBe(true);
    // A decision and a result record for each call.
    expect((await auditRows("tool = 'pods_list'")).length - before).toBe(90);
    const verify = await runKubemate(['audit', 'verify'], { ...baseEnv(), KUBEMATE_STATE__URL: url });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^audit log intact: \d+ records/);
  }, 60_000);

  it('when the scheduler lease holder is SIGKILLed the other replica runs the next due inspection, and no run happens twice', async () => {
    const [a, b] = [replicas.a!, replicas.b!];
    const holderName = await waitFor(
      'a replica to hold the scheduler lease',
      async () => ((await leaseHeld(a)) ? 'a' : (await leaseHeld(b)) ? 'b' : undefined),
      20_000,
    );
    const holder = holderName === 'a' ? a : b;
    const other = holderName === 'a' ? b : a;
    const otherName = holderName === 'a' ? 'b' : 'a';
    expect(await leaseHeld(other)).toBe(false);
    const scheduled = () =>
      auditRows("source = 'schedule' AND kind = 'decision' AND tool = 'inspection_run'");
    // The holder runs a due inspection first (cron every minute).
    await waitFor(
      `the lease holder to run a scheduled inspection; its log:\n${holder
        .log()
        .split('\n')
        .filter((l) => !l.includes('"tool call"'))
        .slice(-15)
        .join('\n')}`,
      async () =>
        (await scheduled()).some((r) => r.principal === `kubemate:scheduler-${holderName}`)
          ? true
          : undefined,
      // A new plan counts from its first tick on the holder; the next minute is due within 60 s of it.
      150_000,
    );
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await waitFor(
      'the other replica to take the lease',
      async () => ((await leaseHeld(other)) ? true : undefined),
      30_000,
    );
    const tookOverMs = Date.now() - killedAt;
    expect(tookOverMs).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 2000);
    const rows = await waitFor(
      'the other replica to run the next due inspection',
      async () => {
        const r = await scheduled();
        return r.some((x) => x.principal === `kubemate:scheduler-${otherName}`) ? r : undefined;
      },
      90_000,
    );
    // Runs start within seconds of their due minute: one run per minute, whichever replica ran it.
    const minutes = rows.map((r) => (r.at as string).slice(0, 16));
    expect(new Set(minutes).size).toBe(minutes.length);
  }, 300_000);
});
