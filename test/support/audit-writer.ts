/**
 * Child process for the crash test: appends audit records to the log at argv[2] as fast as it can
 * and prints each acknowledged seq on its own line, until the parent kills it.
 */
import { writeSync } from 'node:fs';
import { AuditLog } from '../../policies/audit-log.js';

const path = process.argv[2];
if (!path) throw new Error('usage: audit-writer.ts <audit.db>');
const log = new AuditLog(path);
for (let i = 0; ; i++) {
  const seq = log.record({
    at: new Date().toISOString(),
    kind: i % 2 === 0 ? 'decision' : 'result',
    principal: { id: 'token:crash-test', groups: ['ci'], source: 'mcp-http' },
    tool: 'deployment_scale',
    args: { namespace: 'payments', name: `api-${i}`, replicas: i % 5 },
    decision: { effect: 'allow', rule: 'test' },
    ...(i % 2 === 1 ? { outcome: 'success' as const, durationMs: i % 50 } : {}),
  });
  // Synchronous, so a seq is printed only after `record` returned, and nothing waits in a buffer.
  writeSync(1, `${seq}\n`);
}
