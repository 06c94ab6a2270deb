// The pipeline's public shapes: what a call returns and what the pipeline is built from. Kept apart
// from invoke.ts so that the approval flow can use them without importing the pipeline itself.
import type { Approvals, Ticket } from '../../policies/approvals.js';
import type { AuditSink, Decision, PolicyEngine } from '../../policies/types.js';
import type { Backends } from '../clients/backends.js';
import type { Logger } from './logger.js';
import type { ToolMetrics } from './metrics.js';
import type { Redactor } from './redact.js';
import type { ToolRegistry } from './registry.js';
import type { OutputImage, ResultStatus } from './types.js';

export interface InvokeResult {
  tool: string;
  status: ResultStatus;
  isError: boolean;
  text: string;
  structured?: Record<string, unknown>;
  /** Charts and other pictures, passed through untouched (never redacted, never audited). */
  images?: OutputImage[];
  decision?: Decision;
  errorCode?: string;
  ticket?: Pick<Ticket, 'id' | 'status' | 'expiresAt' | 'plan'> & { approvals: number; required: number };
  durationMs: number;
}

export interface PipelineDeps {
  registry: ToolRegistry;
  policy: PolicyEngine;
  backends: Backends;
  audit: AuditSink;
  metrics: ToolMetrics;
  logger: Logger;
  redact: Redactor;
  maxTokens: number;
  /** Upper bound for one handler run; a slow backend becomes a clear timeout error. */
  timeoutMs: number;
  /** Where approval tickets live; without it, calls that need approval are refused. */
  approvals?: Approvals;
}

/** A result before the pipeline adds the tool name, duration and error flag. */
export type ResultParts = Omit<InvokeResult, 'tool' | 'durationMs' | 'isError'> & { isError?: boolean };
