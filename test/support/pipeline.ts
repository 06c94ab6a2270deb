import type { ApprovalStore } from '../../policies/approvals.js';
import type { AuditRecord, AuditSink, PolicyEngine } from '../../policies/types.js';
import type { Backends } from '../../tools/clients/backends.js';
import { ToolPipeline } from '../../tools/core/invoke.js';
import { silentLogger } from '../../tools/core/logger.js';
import { ToolMetrics } from '../../tools/core/metrics.js';
import { defaultRedactor } from '../../tools/core/redact.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import type { Toolset } from '../../tools/core/toolset.js';
import type { ToolDef } from '../../tools/core/types.js';

export class MemoryAudit implements AuditSink {
  readonly records: AuditRecord[] = [];
  record(entry: AuditRecord): void {
    this.records.push(entry);
  }
}

/** For pipeline tests whose tools never reach a cluster: any attempt fails loudly. */
const noClusters = {
  kube: {
    as: () => ({
      names: () => [],
      get: () => {
        throw new Error('this test has no cluster');
      },
    }),
  },
} as unknown as Backends;

export function testPipeline(opts: {
  /** Tools, or a toolset (whose declared backends the pipeline then scopes decisions by). */
  tools: ToolDef[] | Toolset;
  policy: PolicyEngine;
  backends?: Backends;
  maxTokens?: number;
  timeoutMs?: number;
  approvals?: ApprovalStore;
}) {
  const audit = new MemoryAudit();
  const metrics = new ToolMetrics();
  const pipeline = new ToolPipeline({
    registry: new ToolRegistry([opts.tools]),
    policy: opts.policy,
    backends: opts.backends ?? noClusters,
    audit,
    metrics,
    logger: silentLogger,
    redact: defaultRedactor,
    maxTokens: opts.maxTokens ?? 6000,
    timeoutMs: opts.timeoutMs ?? 5000,
    ...(opts.approvals ? { approvals: opts.approvals } : {}),
  });
  return { pipeline, audit, metrics };
}
