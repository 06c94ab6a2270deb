/**
 * Audit log throughput: appends realistic decision/result pairs to a fresh log one at a time, each
 * committed before the next (as the pipeline does), next to a bare SQLite insert as the floor, then
 * verifies the whole chain.
 * `npx tsx bench/audit.ts` prints the figures; `benchAudit()` returns them for a combined report.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { AuditLog, type AuditLogOptions } from '../policies/audit-log.js';
import type { AuditRecord, Principal } from '../policies/types.js';
import { percentile } from './stats.js';

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 20_000);
const FULL_RECORDS = Math.min(RECORDS, 2_000);
const BLOCK = 500;

const principals: Principal[] = [
  { id: 'local:alice', groups: ['local', 'sre'], source: 'cli' },
  { id: 'token:ci-bot', groups: ['ci'], source: 'mcp-http' },
  { id: 'slack:U04ABCDEF12', groups: ['payments-oncall'], source: 'chat' },
  { id: 'alertmanager', groups: ['alerts'], source: 'alert' },
  { id: 'agent:triage', groups: ['agent'], source: 'agent' },
];
const tools = [
  'pods_list',
  'pods_logs',
  'deployment_scale',
  'events_list',
  'canary_set_weights',
  'metrics_query',
];

/** The i-th of a realistic stream: a decision, then its result, with redacted args. */
export function realisticRecord(i: number): AuditRecord {
  const call = Math.floor(i / 2);
  const principal = principals[call % principals.length]!;
  const tool = tools[call % tools.length]!;
  const args = {
    namespace: `payments-${call % 12}`,
    name: `api-${call % 40}`,
    ...(tool === 'deployment_scale' ? { replicas: (call % 5) + 1 } : {}),
    ...(tool === 'metrics_query'
      ? { query: 'sum(rate(http_requests_total{code=~"5.."}[5m])) by (pod)' }
      : {}),
    ...(tool === 'pods_logs' ? { tailLines: 200, token: '[REDACTED]' } : {}),
  };
  const decision =
    call % 17 === 0
      ? { effect: 'deny' as const, reason: `role 'viewer' may not ${tool}`, rule: 'rbac:viewer-read-only' }
      : { effect: 'allow' as const, rule: 'rbac:sre-write' };
  const at = new Date().toISOString();
  if (i % 2 === 0) return { at, kind: 'decision', principal, tool, args, decision };
  const failed = call % 23 === 0;
  return {
    at,
    kind: 'result',
    principal,
    tool,
    args,
    decision,
    outcome: decision.effect === 'deny' ? 'denied' : failed ? 'error' : 'success',
    durationMs: 4 + (call % 300) / 7,
    ...(decision.effect === 'deny'
      ? { error: `denied: ${decision.reason} (rule ${decision.rule}). Nothing was executed.` }
      : failed
        ? { error: 'cannot reach the API server of cluster prod-eu-1: connect ETIMEDOUT' }
        : {}),
  };
}

interface Series {
  micros: number[];
  cpuMicros: number;
  wallMs: number;
}

/**
 * Appends `count` records to the audit log and, block by block in turn, the same JSON to a bare
 * WAL table (one INSERT per transaction, no hash, no index): the floor any durable per-record
 * append pays here. Interleaving makes a busy shared machine's load fall on both alike.
 */
function appendInterleaved(dir: string, count: number, options: AuditLogOptions) {
  const log = new AuditLog(join(dir, `audit-${options.synchronous}.db`), options);
  const bare = new Database(join(dir, `bare-${options.synchronous}.db`));
  bare.pragma('journal_mode = WAL');
  bare.pragma(`synchronous = ${options.synchronous}`);
  bare.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, record TEXT NOT NULL)');
  const insert = bare.prepare('INSERT INTO t (record) VALUES (?)');
  const series = (): Series => ({ micros: [], cpuMicros: 0, wallMs: 0 });
  const audit = series();
  const floor = series();
  const timed = (into: Series, from: number, to: number, append: (e: AuditRecord) => void) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = from; i < to; i++) {
      const entry = realisticRecord(i);
      const t0 = performance.now();
      append(entry);
      into.micros.push((performance.now() - t0) * 1000);
    }
    into.wallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    into.cpuMicros += used.user + used.system;
  };
  for (let from = 0; from < count; from += BLOCK) {
    const to = Math.min(count, from + BLOCK);
    timed(audit, from, to, (e) => log.record(e));
    timed(floor, from, to, (e) => insert.run(JSON.stringify(e)));
  }
  bare.close();
  return { log, audit, floor };
}

const us = (n: number) => `${n.toFixed(0)} µs`;
function describe(s: Series, count: number): string {
  const perSecond = (count * 1000) / s.wallMs;
  return `${perSecond.toFixed(0)} records/s, p50 ${us(percentile(s.micros, 50))}, p99 ${us(percentile(s.micros, 99))}, CPU ${us(s.cpuMicros / count)} per record`;
}

export async function benchAudit(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-audit-bench-'));
  try {
    const normal = appendInterleaved(dir, RECORDS, { synchronous: 'NORMAL' });
    const v0 = performance.now();
    const report = normal.log.verify();
    const verifyMs = performance.now() - v0;
    normal.log.close();
    const full = appendInterleaved(dir, FULL_RECORDS, { synchronous: 'FULL' });
    full.log.close();
    const mb = statSync(join(dir, 'audit-NORMAL.db')).size / 1e6;
    const ratio = (a: Series, b: Series) => (a.wallMs / b.wallMs).toFixed(2);
    return [
      `audit append, ${RECORDS} realistic records one commit each, WAL synchronous=NORMAL (survives kill -9; target > 5000/s)`,
      `  kubemate audit log          ${describe(normal.audit, RECORDS)}`,
      `  bare SQLite insert (floor)  ${describe(normal.floor, RECORDS)}; audit log takes ${ratio(normal.audit, normal.floor)}× the floor's time`,
      `audit verify: ${report.count} records in ${verifyMs.toFixed(0)} ms (${((report.count * 1000) / verifyMs).toFixed(0)} records/s), ok ${report.ok}; database ${mb.toFixed(1)} MB`,
      `audit append, ${FULL_RECORDS} records, WAL synchronous=FULL (also survives power loss): audit log ${describe(full.audit, FULL_RECORDS)}; bare ${describe(full.floor, FULL_RECORDS)}`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${(await benchAudit()).join('\n')}\n`);
}
