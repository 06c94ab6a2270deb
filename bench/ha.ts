/**
 * `npm run bench -- ha`: Kubemate's state on a real PostgreSQL 15 shared by two replicas (two
 * processes, each its own pool, over the real stores): audit appends per second across both, with one
 * replica and SQLite as references; approval decisions per second (split tickets, and the same
 * tickets raced on both); and failover time of the scheduled-work lease after SIGKILL of its holder.
 * Needs Debian's postgresql-15 (test/env/observability.sh install) and the dev dependencies (tsx).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { hashToken } from '../mcp/auth.js';
import { PgApprovalStore } from '../policies/approvals-pg.js';
import { AuditLog } from '../policies/audit-log.js';
import { PgAuditLog } from '../policies/audit-log-pg.js';
import { PgState } from '../state/postgres.js';
import { startPostgres } from '../test/env/postgres.js';

import { callTool, mcpOver, type Served, startServe } from '../test/support/serve.js';
import { realisticRecord } from './audit.js';
import { percentile } from './stats.js';

const DRIVER = resolve('test/support/state-replica.ts');
const AUDIT_PER_REPLICA = Number(process.env.BENCH_HA_AUDIT ?? 10_000);
const TICKETS = Number(process.env.BENCH_HA_TICKETS ?? 600);
const FAILOVERS = Number(process.env.BENCH_HA_FAILOVERS ?? 3);
const MCP_CLIENTS = Number(process.env.BENCH_HA_CLIENTS ?? 100);
const MCP_CALLS = Number(process.env.BENCH_HA_CALLS ?? 5);

/**
 * `pods_list` over MCP Streamable HTTP: `MCP_CLIENTS` clients at once, spread round-robin over the
 * replicas, each with its own token (the per-principal limit never throttles), `MCP_CALLS` calls each.
 */
async function mcpPodsList(
  replicas: Served[],
  tokens: string[],
  namespace: string,
): Promise<{ p50: number; p99: number; errors: number }> {
  const clients = await Promise.all(tokens.map((t, i) => mcpOver(replicas[i % replicas.length]!.mcpUrl, t)));
  const times: number[] = [];
  let errors = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < MCP_CALLS; i++) {
        const t0 = performance.now();
        const r = await callTool(c, 'pods_list', { namespace });
        times.push(performance.now() - t0);
        if (r.isError) errors++;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return { p50: percentile(times, 50), p99: percentile(times, 99), errors };
}

async function benchMcp(url: string, out: string[]): Promise<void> {
  // The test cluster (`eval "$(bash test/env/up.sh)"` sets KUBECONFIG); kube-system's pods are listed.
  const kubeconfig = process.env.KUBEMATE_TEST_KUBECONFIG ?? process.env.KUBECONFIG;
  if (!kubeconfig) {
    out.push('MCP pods_list: not measured (start the test cluster: eval "$(bash test/env/up.sh)")');
    return;
  }
  const ns = 'kube-system';
  {
    const tokens = Array.from({ length: MCP_CLIENTS }, (_, i) => `kmt_bench-ha-client-${i}-0123456789`);
    const common = {
      KUBEMATE_KUBERNETES__KUBECONFIG: kubeconfig,
      KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
      KUBEMATE_LOG__LEVEL: 'warn',
      KUBEMATE_AUTH__TOKENS: JSON.stringify(
        tokens.map((t, i) => ({
          name: `c${i}`,
          sha256: hashToken(t),
          principal: { id: `client-${i}`, groups: [] },
        })),
      ),
    };
    const dir = () => mkdtempSync(join(tmpdir(), 'kubemate-bench-ha-'));
    const pgReplicas = await Promise.all(
      ['a', 'b'].map(() => startServe({ ...common, KUBEMATE_STATE__URL: url, KUBEMATE_DATA_DIR: dir() })),
    );
    let two: Awaited<ReturnType<typeof mcpPodsList>>;
    try {
      two = await mcpPodsList(pgReplicas, tokens, ns);
    } finally {
      await Promise.all(pgReplicas.map((r) => r.stop()));
    }
    const sqlite = await startServe({ ...common, KUBEMATE_DATA_DIR: dir() });
    let one: Awaited<ReturnType<typeof mcpPodsList>>;
    try {
      one = await mcpPodsList([sqlite], tokens, ns);
    } finally {
      await sqlite.stop();
    }
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    out.push(
      `MCP pods_list (${ns}), ${MCP_CLIENTS} clients × ${MCP_CALLS} calls, 2 replicas on PostgreSQL: p50 ${ms(two.p50)}, p99 ${ms(two.p99)}; errors ${two.errors}`,
      `MCP pods_list, same load, 1 replica on SQLite: p50 ${ms(one.p50)}, p99 ${ms(one.p99)}; errors ${one.errors}; PostgreSQL 2 replicas / SQLite 1: p50 ${(two.p50 / one.p50).toFixed(2)}×, p99 ${(two.p99 / one.p99).toFixed(2)}×`,
    );
  }
}

function run(args: string[]): {
  child: ChildProcess;
  lines: Array<Record<string, number>>;
  done: Promise<Record<string, number>>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, number>> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  const done = new Promise<Record<string, number>>((res, rej) =>
    child.on('exit', (code) =>
      code === 0 ? setImmediate(() => res(lines.at(-1)!)) : rej(new Error(`replica exited ${code}`)),
    ),
  );
  done.catch(() => undefined); // lease replicas end by SIGKILL
  return { child, lines, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')}/s`;

export async function benchHa(): Promise<string[]> {
  const pg = await startPostgres({ exporter: false, maxConnections: 100 });
  let n = 0;
  const db = () => {
    const name = `bench_${n++}`;
    pg.sql(`CREATE DATABASE ${name}`);
    return pg.url(name);
  };
  const out: string[] = ['## HA state on PostgreSQL 15 (two replicas = two processes, loopback, fsync off)'];
  try {
    // Audit appends: both replicas at once, then one alone, then SQLite in one process.
    const auditUrl = db();
    const prepare = new PgState(auditUrl);
    await PgAuditLog.open(prepare); // the schema exists before both replicas start
    await prepare.close();
    const at = Date.now() + 4000;
    const both = await Promise.all(
      ['a', 'b'].map((r) => run(['audit', auditUrl, r, String(at), String(AUDIT_PER_REPLICA), '32']).done),
    );
    const bothSeconds = Math.max(...both.map((r) => r.seconds!));
    const check = new PgState(auditUrl);
    const report = await (await PgAuditLog.open(check)).verify();
    await check.close();
    const oneUrl = db();
    const one = await run(['audit', oneUrl, 'a', String(Date.now() + 3000), String(AUDIT_PER_REPLICA), '32'])
      .done;
    const sqlite = new AuditLog(join(mkdtempSync(join(tmpdir(), 'kubemate-bench-ha-')), 'audit.db'));
    const t0 = performance.now();
    for (let i = 0; i < AUDIT_PER_REPLICA; i++) sqlite.record(realisticRecord(i));
    const sqliteSeconds = (performance.now() - t0) / 1000;
    sqlite.close();
    const twoRate = (2 * AUDIT_PER_REPLICA) / bothSeconds;
    out.push(
      `audit appends, 2 replicas × 32 writers: ${rate(2 * AUDIT_PER_REPLICA, bothSeconds)} (target > 2,000/s); chain of ${report.count} verifies: ${report.ok}`,
      `audit appends, 1 replica × 32 writers:  ${rate(AUDIT_PER_REPLICA, one.seconds!)}; 2 replicas / 1 = ${(twoRate / (AUDIT_PER_REPLICA / one.seconds!)).toFixed(2)}×`,
      `audit appends, SQLite, 1 process, one at a time: ${rate(AUDIT_PER_REPLICA, sqliteSeconds)}; PostgreSQL 2 replicas / SQLite = ${(twoRate / (AUDIT_PER_REPLICA / sqliteSeconds)).toFixed(2)}×`,
    );

    // Approval decisions: approve + claim + run + complete, tickets split between replicas, then raced.
    for (const mode of ['split', 'raced'] as const) {
      const url = db();
      const state = new PgState(url);
      const store = await PgApprovalStore.open(state, 3600_000);
      await state.pool.query('CREATE TABLE side_effects (ticket TEXT, replica TEXT)');
      const ids: string[] = [];
      for (let i = 0; i < TICKETS; i++) {
        const t = await store.request({
          tool: 'deployment_scale',
          args: { namespace: 'payments', name: `api-${i}`, replicas: 3 },
          requester: { id: 'slack:UALICE', groups: ['sre'], source: 'chat' },
          requesterPerson: 'alice',
          rule: 'approvals[0]',
          required: { count: 1 },
          plan: `scale payments/api-${i} to 3`,
        });
        ids.push(t.id);
      }
      const lists =
        mode === 'split'
          ? [ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1)]
          : [ids, ids];
      const start = Date.now() + 4000;
      const res = await Promise.all(
        ['a', 'b'].map((r, i) => run(['approve', url, r, String(start), lists[i]!.join(',')]).done),
      );
      const seconds = Math.max(...res.map((r) => r.seconds!));
      const effects = await state.pool.query<{ n: string }>('SELECT count(*) AS n FROM side_effects');
      await state.close();
      out.push(
        `approval decisions (${mode === 'split' ? 'tickets split over 2 replicas' : 'same tickets raced on 2 replicas'}): ${rate(TICKETS, seconds)}; ran ${effects.rows[0]!.n} of ${TICKETS} tickets`,
      );
    }

    await benchMcp(db(), out);

    // Failover: SIGKILL the lease holder, time until the other does its first piece of work.
    const TTL = 2000;
    const RENEW = 250;
    const takeovers: number[] = [];
    for (let i = 0; i < FAILOVERS; i++) {
      const url = db();
      const s = new PgState(url);
      await s.pool.query('CREATE TABLE work_log (slot BIGINT, replica TEXT, token BIGINT)');
      await s.close();
      const a = run(['lease', url, 'a', String(TTL), String(RENEW), '50']);
      while (!a.lines.some((l) => 'work' in l)) await sleep(50);
      const b = run(['lease', url, 'b', String(TTL), String(RENEW), '50']);
      await sleep(3000);
      const killed = Date.now();
      a.child.kill('SIGKILL');
      while (!b.lines.some((l) => 'work' in l)) await sleep(10);
      takeovers.push(b.lines.find((l) => 'work' in l)!.at! - killed);
      b.child.kill('SIGKILL');
    }
    out.push(
      `failover after SIGKILL (lease ${TTL} ms, renewed every ${RENEW} ms): p50 ${percentile(takeovers, 50)} ms, max ${Math.max(...takeovers)} ms over ${FAILOVERS} runs (bound: lease + renew = ${TTL + RENEW} ms)`,
    );
    out.push(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await pg.stop();
  }
  return out;
}
