import type { AuditRecord, AuditSink, PolicyEngine } from '../../policies/types.js';
import type { Backends } from '../../tools/clients/backends.js';
import { ToolPipeline } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { ToolMetrics } from '../../tools/core/metrics.js';
import { defaultRedactor } from '../../tools/core/redact.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import type { ToolDef } from '../../tools/core/types.js';

export class MemoryAudit implements AuditSink {
  readonly records: AuditRecord[] = [];
  record(entry: AuditRecord): void {
    this.records.push(entry);
  }
}

export function testPipeline(opts: {
  tools: ToolDef[];
  policy: PolicyEngine;
  backends?: Backends;
  maxTokens?: number;
  timeoutMs?: number;
}) {
  const audit = new MemoryAudit();
  const metrics = new ToolMetrics();
  const pipeline = new ToolPipeline({
    registry: new ToolRegistry([opts.tools]),
    policy: opts.policy,
    backends: opts.backends ?? ({} as Backends),
    audit,
    metrics,
    logger: silentLogger,
    redact: defaultRedactor,
    maxTokens: opts.maxTokens ?? 6000,
    timeoutMs: opts.timeoutMs ?? 5000,
  });
  return { pipeline, audit, metrics };
}
