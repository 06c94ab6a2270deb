/**
 * Audit log throughput: appends realistic decision/result pairs to a fresh log one at a time, each
 * committed before the next (as the pipeline does), then verifies the whole chain.
 * `npx tsx bench/audit.ts` prints the figures; `benchAudit()` returns them for a combined report.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog, type AuditLogOptions } from '../policies/audit-log.js';
import type { AuditRecord, Principal } from '../policies/types.js';
import { percentile } from './stats.js';

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 20_000);
const FULL_RECORDS = Math.min(RECORDS, 2_000);

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
    ...(failed ? { error: `cannot reach the API server of cluster prod-eu-1: connect ETIMEDOUT` } : {}),
  };
}

function appendMany(dir: string, name: string, count: number, options: AuditLogOptions) {
  const log = new AuditLog(join(dir, name), options);
  const micros: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const entry = realisticRecord(i);
    const t0 = performance.now();
    log.record(entry);
    micros.push((performance.now() - t0) * 1000);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  // CPU time per record shows the cost apart from waiting for a busy machine's scheduler or disk.
  const cpuMicros = (used.user + used.system) / count;
  return { log, micros, perSecond: count / seconds, seconds, cpuMicros };
}

export async function benchAudit(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-audit-bench-'));
  try {
    const normal = appendMany(dir, 'normal.db', RECORDS, { synchronous: 'NORMAL' });
    const v0 = performance.now();
    const report = normal.log.verify();
    const verifyMs = performance.now() - v0;
    normal.log.close();
    const full = appendMany(dir, 'full.db', FULL_RECORDS, { synchronous: 'FULL' });
    full.log.close();
    const mb = statSync(join(dir, 'normal.db')).size / 1e6;
    const us = (n: number) => `${n.toFixed(0)} µs`;
    return [
      `audit append, WAL synchronous=NORMAL (survives kill -9): ${RECORDS} records in ${normal.seconds.toFixed(2)} s = ${normal.perSecond.toFixed(0)} records/s (target > 5000); p50 ${us(percentile(normal.micros, 50))}, p99 ${us(percentile(normal.micros, 99))}, max ${us(Math.max(...normal.micros))}; CPU ${us(normal.cpuMicros)} per record (${(1e6 / normal.cpuMicros).toFixed(0)} records per CPU-second)`,
      `audit verify: ${report.count} records in ${verifyMs.toFixed(0)} ms (${((report.count * 1000) / verifyMs).toFixed(0)} records/s), ok ${report.ok}; database ${mb.toFixed(1)} MB`,
      `audit append, WAL synchronous=FULL (also survives power loss): ${FULL_RECORDS} records = ${full.perSecond.toFixed(0)} records/s; p50 ${us(percentile(full.micros, 50))}, p99 ${us(percentile(full.micros, 99))}`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${(await benchAudit()).join('\n')}\n`);
}
