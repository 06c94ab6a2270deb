import type { z } from 'zod';
import type { AuditSink, Decision, PolicyEngine, Principal } from '../../policies/types.js';
import type { Backends } from '../clients/backends.js';
import { ToolError } from './errors.js';
import type { Logger } from './logger.js';
import type { ToolMetrics } from './metrics.js';
import { type Redactor, redactDeep } from './redact.js';
import { ToolRegistry } from './registry.js';
import { shapeOutput } from './shaping.js';
import type { ResultStatus } from './types.js';

export interface InvokeResult {
  tool: string;
  status: ResultStatus;
  isError: boolean;
  text: string;
  structured?: Record<string, unknown>;
  decision?: Decision;
  errorCode?: string;
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
}

/** Resolves with the work, or rejects as soon as the signal aborts, so a hung backend cannot hang a caller. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Turns zod issues into one line a person or model can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.length > 0 ? i.path.join('.') : '(arguments)';
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

/**
 * The one guarded path. Every surface (MCP, CLI, agent, chat) calls tools through `invoke`:
 * validate → policy decision → handler → output shaping and redaction → log → metrics → audit.
 */
export class ToolPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  get registry(): ToolRegistry {
    return this.deps.registry;
  }

  get policy(): PolicyEngine {
    return this.deps.policy;
  }

  /** The tools this principal may ever call: what `tools/list` and the agent see. */
  visibleTools(principal: Principal) {
    return this.deps.registry
      .list()
      .filter((t) => this.deps.policy.mayEverCall(principal, ToolRegistry.facts(t)));
  }

  async invoke(
    name: string,
    rawArgs: unknown,
    principal: Principal,
    options: { signal?: AbortSignal } = {},
  ): Promise<InvokeResult> {
    const started = performance.now();
    const { registry, policy, audit, redact } = this.deps;
    const auditArgs = redactDeep(
      (rawArgs && typeof rawArgs === 'object' ? rawArgs : {}) as Record<string, unknown>,
      redact,
    );
    const finish = (
      partial: Omit<InvokeResult, 'tool' | 'durationMs' | 'isError'> & { isError?: boolean },
    ): InvokeResult => {
      const durationMs = performance.now() - started;
      const result: InvokeResult = {
        tool: name,
        isError: partial.isError ?? !['success', 'no_data'].includes(partial.status),
        durationMs,
        ...partial,
      };
      this.deps.metrics.observe(name, result.status, durationMs / 1000);
      this.deps.logger.info(
        {
          tool: name,
          principal: principal.id,
          source: principal.source,
          status: result.status,
          ms: Math.round(durationMs),
        },
        'tool call',
      );
      audit.record({
        at: new Date().toISOString(),
        kind: 'result',
        principal,
        tool: name,
        args: auditArgs,
        ...(result.decision ? { decision: result.decision } : {}),
        outcome: result.status,
        durationMs,
        ...(result.isError ? { error: result.text.slice(0, 500) } : {}),
      });
      return result;
    };

    const tool = registry.find(name);
    if (!tool) {
      try {
        registry.get(name);
      } catch (e) {
        return finish({ status: 'invalid', text: (e as Error).message, errorCode: 'unknown_tool' });
      }
    }
    const def = tool!;

    const parsed = def.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      return finish({
        status: 'invalid',
        errorCode: 'invalid_arguments',
        text: `invalid arguments for ${name}: ${describeIssues(parsed.error)}. Nothing was executed.`,
      });
    }
    const args = parsed.data as Record<string, unknown>;

    const decision = policy.decide(principal, ToolRegistry.facts(def), args);
    audit.record({
      at: new Date().toISOString(),
      kind: 'decision',
      principal,
      tool: name,
      args: auditArgs,
      decision,
    });
    if (decision.effect === 'deny') {
      return finish({
        status: 'denied',
        decision,
        errorCode: 'forbidden',
        text: `denied: ${decision.reason} (rule ${decision.rule}). Nothing was executed.`,
      });
    }
    if (decision.effect === 'needs-approval') {
      return finish({
        status: 'approval_required',
        decision,
        text: `approval required: ${decision.reason} (rule ${decision.rule}). Nothing was executed yet.`,
      });
    }

    const timeout = AbortSignal.timeout(this.deps.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const output = await untilAborted(
        def.handler(args, { principal, backends: this.deps.backends, signal }),
        signal,
      );
      const shaped = shapeOutput(output, this.deps.maxTokens);
      return finish({
        status: shaped.status,
        decision,
        text: redact(shaped.text),
        ...(shaped.structured ? { structured: redactDeep(shaped.structured, redact) } : {}),
      });
    } catch (e) {
      if (e instanceof ToolError) {
        return finish({ status: 'error', decision, errorCode: e.code, text: redact(e.message) });
      }
      if (timeout.aborted) {
        return finish({
          status: 'error',
          decision,
          errorCode: 'timeout',
          text: `${name} did not finish within ${this.deps.timeoutMs} ms; try a narrower query`,
        });
      }
      // A bug, not an expected failure: keep the stack in the log, give the caller a clear line.
      this.deps.logger.error({ tool: name, err: e }, 'tool handler failed unexpectedly');
      return finish({
        status: 'error',
        decision,
        errorCode: 'internal',
        text: redact(`internal error in ${name}: ${(e as Error).message ?? String(e)}`),
      });
    }
  }
}
