import type { z } from 'zod';
import { ApprovalError, type ApprovalStore, type Ticket } from '../../policies/approvals.js';
import { callHash } from '../../policies/canonical.js';
import type { AuditRecord, AuditSink, Decision, PolicyEngine, Principal } from '../../policies/types.js';
import { type Backends, bindBackends } from '../clients/backends.js';
import { backendScopedPolicy } from './backend-scope.js';
import { ToolError } from './errors.js';
import type { Logger } from './logger.js';
import type { ToolMetrics } from './metrics.js';
import { type Redactor, redactDeep } from './redact.js';
import { ToolRegistry } from './registry.js';
import { shapeOutput } from './shaping.js';
import type { ApprovalsAccess, OutputImage, ResultStatus, ToolDef } from './types.js';

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
  approvals?: ApprovalStore;
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
 * `deployment_scale namespace="payments" name="api" replicas=4`: what a ticket will run, in one
 * line. Values are JSON, so no argument can pass itself off as another.
 */
export function describeCall(tool: string, args: Record<string, unknown>): string {
  const parts = Object.entries(args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${tool}${parts.length ? ` ${parts.join(' ')}` : ''}`;
}

const PREVIEW_CHARS = 4000;

/** Preview text comes from the cluster: indented and bounded, so it cannot pose as the call itself. */
function quotePreview(text: string): string {
  const cut =
    text.length > PREVIEW_CHARS
      ? `${text.slice(0, PREVIEW_CHARS)}\n… (preview cut at ${PREVIEW_CHARS} characters)`
      : text;
  return cut
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}

type ResultParts = Omit<InvokeResult, 'tool' | 'durationMs' | 'isError'> & { isError?: boolean };

function ticketSummary(t: Ticket): InvokeResult['ticket'] {
  return {
    id: t.id,
    status: t.status,
    expiresAt: t.expiresAt,
    plan: t.plan,
    approvals: t.approvals.length,
    required: t.required.count,
  };
}

/**
 * The one guarded path. Every surface (MCP, CLI, agent, chat) calls tools through `invoke`:
 * validate → policy decision → (approval ticket) → handler → output shaping and redaction → log →
 * metrics → audit. Approved tickets run through `approve`, which ends in the same execution step.
 */
export class ToolPipeline {
  private readonly deps: PipelineDeps;

  constructor(deps: PipelineDeps) {
    // Every decision (calls, approvals, re-checks) sees the cluster an observability call reaches.
    this.deps = {
      ...deps,
      policy: backendScopedPolicy(deps.policy, deps.backends, (tool) => deps.registry.backendsOf(tool.name)),
    };
  }

  get registry(): ToolRegistry {
    return this.deps.registry;
  }

  get policy(): PolicyEngine {
    return this.deps.policy;
  }

  get approvals(): ApprovalStore | undefined {
    return this.deps.approvals;
  }

  /** The backend clients, for surfaces that serve more than tools (MCP resources); policy still decides. */
  get backends(): Backends {
    return this.deps.backends;
  }

  /** The approvals API bound to one principal, for the approvals tools. */
  private approvalsFor(principal: Principal): { approvals?: ApprovalsAccess } {
    const store = this.deps.approvals;
    if (!store) return {};
    const person = this.deps.policy.personOf(principal);
    // A ticket shows another person's call and its result: only its requester and those who may
    // approve it see it.
    const visible = (t: Ticket) => {
      if (t.requesterPerson === person) return true;
      const def = this.deps.registry.find(t.tool);
      return (
        !!def &&
        this.deps.policy.mayApprove(principal, t.requester, ToolRegistry.facts(def), t.args, t.required).ok
      );
    };
    return {
      approvals: {
        list: (f) =>
          store
            .list({
              ...(f.status ? { status: f.status } : {}),
              ...(f.mine ? { requesterPerson: person } : {}),
            })
            .filter(visible),
        get: (id) => {
          const t = store.get(id);
          if (!visible(t))
            throw new ApprovalError('not_found', `no approval ticket '${id}' that you may see`);
          return t;
        },
        approve: (id) => this.approve(id, principal),
        reject: (id, note) => this.reject(id, principal, note),
      },
    };
  }

  /** The tools this principal may ever call: what `tools/list` and the agent see. */
  visibleTools(principal: Principal) {
    return this.deps.registry
      .list()
      .filter((t) => this.deps.policy.mayEverCall(principal, ToolRegistry.facts(t)));
  }

  /** Arguments as they may be shown anywhere: the tool's own masking, then the redactor. */
  private shownArgs(tool: string, args: Record<string, unknown>): Record<string, unknown> {
    const def = this.deps.registry.find(tool);
    let shown = args;
    if (def?.redactArgs) {
      try {
        shown = def.redactArgs(args);
      } catch {
        shown = Object.fromEntries(Object.keys(args).map((k) => [k, '[REDACTED]']));
      }
    }
    return redactDeep(shown, this.deps.redact);
  }

  private audit(
    principal: Principal,
    tool: string,
    args: Record<string, unknown>,
    extra: Partial<AuditRecord>,
  ) {
    this.deps.audit.record({
      at: new Date().toISOString(),
      kind: 'decision',
      principal,
      person: this.deps.policy.personOf(principal),
      tool,
      args: this.shownArgs(tool, args),
      ...extra,
    } as AuditRecord);
  }

  private finisher(name: string, principal: Principal, args: Record<string, unknown>, started: number) {
    return (partial: ResultParts): InvokeResult => {
      const durationMs = performance.now() - started;
      const result: InvokeResult = {
        tool: name,
        isError: partial.isError ?? !['success', 'no_data'].includes(partial.status),
        durationMs,
        ...partial,
      };
      // Unknown names are caller input: one label for all of them keeps /metrics bounded.
      this.deps.metrics.observe(
        this.deps.registry.find(name) ? name : '(unknown)',
        result.status,
        durationMs / 1000,
      );
      this.deps.logger.info(
        {
          tool: name,
          principal: principal.id,
          source: principal.source,
          status: result.status,
          ms: Math.round(durationMs),
          ...(result.ticket ? { ticket: result.ticket.id } : {}),
        },
        'tool call',
      );
      this.audit(principal, name, args, {
        kind: 'result',
        ...(result.decision ? { decision: result.decision } : {}),
        outcome: result.status,
        durationMs,
        ...(result.ticket ? { ticketId: result.ticket.id } : {}),
        ...(result.isError ? { error: result.text.slice(0, 500) } : {}),
        // The audit notes that pictures went out, never their bytes.
        ...(result.images?.length ? { images: result.images.length } : {}),
      });
      return result;
    };
  }

  async invoke(
    name: string,
    rawArgs: unknown,
    principal: Principal,
    options: {
      signal?: AbortSignal;
      /**
       * Where the request came from, for the approver (the agent says whose question and which data
       * it read before proposing the call). Shown on the ticket's plan; never changes the decision.
       */
      origin?: string;
    } = {},
  ): Promise<InvokeResult> {
    const started = performance.now();
    const argsForAudit = (rawArgs && typeof rawArgs === 'object' ? rawArgs : {}) as Record<string, unknown>;
    const finish = this.finisher(
      name.length > 100 ? `${name.slice(0, 100)}…` : name,
      principal,
      argsForAudit,
      started,
    );

    const def = this.deps.registry.find(name);
    if (!def) {
      try {
        this.deps.registry.get(name);
      } catch (e) {
        return finish({ status: 'invalid', text: (e as Error).message, errorCode: 'unknown_tool' });
      }
    }
    const parsed = def!.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      return finish({
        status: 'invalid',
        errorCode: 'invalid_arguments',
        text: `invalid arguments for ${name}: ${describeIssues(parsed.error)}. Nothing was executed.`,
      });
    }
    const args = parsed.data as Record<string, unknown>;

    const decision = this.deps.policy.decide(principal, ToolRegistry.facts(def!), args);
    this.audit(principal, name, args, { decision });
    if (decision.effect === 'deny') {
      return finish({
        status: 'denied',
        decision,
        errorCode: 'forbidden',
        text: `denied: ${decision.reason} (rule ${decision.rule}). Nothing was executed.`,
      });
    }
    if (decision.effect === 'needs-approval') {
      const store = this.deps.approvals;
      if (!store) {
        return finish({
          status: 'denied',
          decision,
          errorCode: 'forbidden',
          text: `denied: ${decision.reason}, and no approval store is configured. Nothing was executed.`,
        });
      }
      const ticket = store.request({
        tool: name,
        args,
        requester: principal,
        requesterPerson: this.deps.policy.personOf(principal),
        rule: decision.rule,
        required: decision.approval ?? { count: 1 },
        plan: await this.plan(def!, args, principal, options.signal, options.origin),
      });
      return finish({
        status: 'approval_required',
        decision,
        ticket: ticketSummary(ticket),
        text:
          `approval required: ${decision.reason} (rule ${decision.rule}). Nothing was executed yet.\n` +
          `Ticket ${ticket.id} will run exactly: ${ticket.plan}\n` +
          `It expires at ${ticket.expiresAt}. An approver runs \`kubemate approvals approve ${ticket.id}\` ` +
          `or calls the tool approvals_approve with {"ticket":"${ticket.id}"}; any change to the arguments needs a new ticket.`,
      });
    }
    return this.execute(def!, args, principal, decision, finish, options.signal);
  }

  /**
   * What a ticket will run: the exact call, plus the tool's own preview when it has one. A preview
   * that fails does not block the request; the ticket then says the preview was unavailable.
   */
  private async plan(
    def: ToolDef,
    args: Record<string, unknown>,
    principal: Principal,
    signal?: AbortSignal,
    origin?: string,
  ) {
    const { redact } = this.deps;
    // One line, after the call and its preview, so it can never pose as either.
    const from = origin ? `\nrequested via: ${origin.replace(/[\r\n]+/g, ' ').slice(0, 600)}` : '';
    const call = describeCall(def.name, this.shownArgs(def.name, args));
    if (!def.preview) return redact(`${call}${from}`);
    const timeout = AbortSignal.timeout(this.deps.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const ctx = { principal, backends: bindBackends(this.deps.backends, principal), signal: s };
      const preview = await untilAborted(def.preview(args, ctx), s);
      return redact(
        `${call}\npreview (read from the cluster when the ticket was made):\n${quotePreview(redact(preview))}${from}`,
      );
    } catch (e) {
      return redact(`${call}\n(preview unavailable: ${(e as Error).message ?? String(e)})${from}`);
    }
  }

  /** Runs the handler with timeout, shapes and redacts its output. Only reached after a decision. */
  private async execute(
    def: ToolDef,
    args: Record<string, unknown>,
    principal: Principal,
    decision: Decision,
    finish: (p: ResultParts) => InvokeResult,
    callerSignal?: AbortSignal,
    ticket?: InvokeResult['ticket'],
  ): Promise<InvokeResult> {
    const { redact } = this.deps;
    const timeout = AbortSignal.timeout(this.deps.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    const withTicket = ticket ? { ticket } : {};
    try {
      const output = await untilAborted(
        def.handler(args, {
          principal,
          backends: bindBackends(this.deps.backends, principal),
          signal,
          maxTokens: this.deps.maxTokens,
          ...this.approvalsFor(principal),
        }),
        signal,
      );
      const shaped = shapeOutput(output, this.deps.maxTokens);
      return finish({
        status: shaped.status,
        decision,
        text: redact(shaped.text),
        ...(shaped.structured ? { structured: redactDeep(shaped.structured, redact) } : {}),
        ...(shaped.images ? { images: shaped.images } : {}),
        ...withTicket,
      });
    } catch (e) {
      if (e instanceof ToolError) {
        return finish({
          status: 'error',
          decision,
          errorCode: e.code,
          text: redact(e.message),
          ...withTicket,
        });
      }
      if (timeout.aborted || callerSignal?.aborted) {
        return finish({
          status: 'error',
          decision,
          errorCode: 'timeout',
          text: callerSignal?.aborted
            ? `${def.name} was cancelled by the caller`
            : def.annotations.readOnlyHint
              ? `${def.name} did not finish within ${this.deps.timeoutMs} ms; try a narrower query`
              : `${def.name} did not finish within ${this.deps.timeoutMs} ms; the change may still be completing, so check the object before trying again`,
          ...withTicket,
        });
      }
      // A bug, not an expected failure: keep the stack in the log, give the caller a clear line.
      this.deps.logger.error(
        { tool: def.name, error: redact(String((e as Error)?.stack ?? e)) },
        'tool handler failed unexpectedly',
      );
      return finish({
        status: 'error',
        decision,
        errorCode: 'internal',
        text: redact(`internal error in ${def.name}: ${(e as Error).message ?? String(e)}`),
        ...withTicket,
      });
    }
  }

  /**
   * Records `approver`'s approval of a ticket. When the approval completes the quorum, the exact
   * approved call runs once, as its requester, and its result is returned and kept on the ticket.
   */
  /**
   * Audits a decision taken outside `invoke` on the policy's own answer: reading runbook documents
   * as MCP resources, say. Records what was decided and, when allowed, what came of it.
   */
  recordDecision(
    principal: Principal,
    tool: string,
    args: Record<string, unknown>,
    decision: Decision,
    outcome: 'success' | 'error' | 'denied',
  ): void {
    this.audit(principal, tool, args, { decision, outcome });
  }

  /**
   * Audits a call a caller refused before it reached the pipeline (the agent's write guard), so every
   * decision about a change is on the record even when nothing ran.
   */
  recordRefusal(
    principal: Principal,
    tool: string,
    args: Record<string, unknown>,
    reason: string,
    rule: string,
  ): void {
    this.audit(principal, tool, args, {
      decision: { effect: 'deny', reason, rule },
      outcome: 'denied',
    });
  }

  async approve(ticketId: string, approver: Principal): Promise<InvokeResult> {
    const started = performance.now();
    const store = this.deps.approvals;
    const fail = (tool: string, args: Record<string, unknown>, text: string, code = 'forbidden') =>
      this.finisher(tool, approver, args, started)({ status: 'denied', errorCode: code, text });
    if (!store) return fail('approvals_approve', {}, 'no approval store is configured');
    let ticket: Ticket;
    try {
      ticket = store.get(ticketId);
    } catch (e) {
      return fail('approvals_approve', { ticket: ticketId }, (e as Error).message, 'not_found');
    }
    const def = this.deps.registry.find(ticket.tool);
    const parsed = def?.input.safeParse(ticket.args);
    if (!def || !parsed?.success) {
      return fail(
        ticket.tool,
        ticket.args,
        `ticket ${ticketId} names a call this version cannot run; reject it`,
      );
    }
    const args = parsed.data as Record<string, unknown>;
    if (callHash(def.name, args) !== ticket.argsHash) {
      return fail(
        def.name,
        args,
        `ticket ${ticketId} does not match its recorded arguments; it will not run`,
      );
    }
    const facts = ToolRegistry.facts(def);
    const check = this.deps.policy.mayApprove(approver, ticket.requester, facts, args, ticket.required);
    if (!check.ok) {
      this.audit(approver, def.name, args, {
        kind: 'approval',
        outcome: 'denied',
        ticketId,
        error: check.reason,
      });
      return fail(def.name, args, `cannot approve ${ticketId}: ${check.reason}`);
    }
    try {
      ticket = store.approve(ticketId, { person: check.person, principalId: approver.id });
    } catch (e) {
      if (e instanceof ApprovalError) {
        this.audit(approver, def.name, args, {
          kind: 'approval',
          outcome: 'denied',
          ticketId,
          error: e.message,
        });
        return fail(def.name, args, `cannot approve ${ticketId}: ${e.message}`, e.code);
      }
      throw e;
    }
    this.audit(approver, def.name, args, { kind: 'approval', outcome: 'success', ticketId });
    if (ticket.status !== 'approved') {
      return this.finisher(
        def.name,
        approver,
        args,
        started,
      )({
        status: 'approval_required',
        ticket: ticketSummary(ticket),
        text: `approval by ${check.person} recorded on ${ticketId} (${ticket.approvals.length} of ${ticket.required.count}); it runs once the remaining approvals arrive, before ${ticket.expiresAt}.`,
      });
    }
    // The policy may have changed since the request: the requester must still be granted the call.
    const now = this.deps.policy.decide(ticket.requester, facts, args);
    if (now.effect === 'deny') {
      store.reject(ticketId, 'policy', `no longer allowed: ${now.reason}`);
      return fail(
        def.name,
        args,
        `ticket ${ticketId} was approved but the requester is no longer allowed: ${now.reason}`,
      );
    }
    if (!store.claim(ticketId, ticket.argsHash)) {
      return fail(
        def.name,
        args,
        `ticket ${ticketId} has already been executed or claimed; it never runs twice`,
        'not_pending',
      );
    }
    const finish = this.finisher(def.name, ticket.requester, args, started);
    const result = await this.execute(
      def,
      args,
      ticket.requester,
      now,
      finish,
      undefined,
      ticketSummary(ticket),
    );
    const done = store.complete(ticketId, { status: result.status, text: result.text });
    return { ...result, ticket: ticketSummary(done) };
  }

  /** Rejects a pending ticket; its requester may withdraw it, an eligible approver may refuse it. */
  reject(ticketId: string, by: Principal, note?: string): InvokeResult {
    const started = performance.now();
    const store = this.deps.approvals;
    const finish = this.finisher('approvals_reject', by, { ticket: ticketId }, started);
    if (!store)
      return finish({ status: 'denied', errorCode: 'forbidden', text: 'no approval store is configured' });
    try {
      const ticket = store.get(ticketId);
      const person = this.deps.policy.personOf(by);
      const def = this.deps.registry.find(ticket.tool);
      if (person !== ticket.requesterPerson) {
        const check = def
          ? this.deps.policy.mayApprove(
              by,
              ticket.requester,
              ToolRegistry.facts(def),
              ticket.args,
              ticket.required,
            )
          : ({ ok: true, person } as const);
        if (!check.ok)
          return finish({
            status: 'denied',
            errorCode: 'forbidden',
            text: `cannot reject ${ticketId}: ${check.reason}`,
          });
      }
      const done = store.reject(ticketId, person, note);
      this.audit(by, ticket.tool, ticket.args, {
        kind: 'approval',
        outcome: 'denied',
        ticketId,
        error: `rejected: ${note ?? ''}`,
      });
      return finish({
        status: 'success',
        ticket: ticketSummary(done),
        text: `ticket ${ticketId} rejected by ${person}; ${ticket.plan} will not run.`,
      });
    } catch (e) {
      if (e instanceof ApprovalError) return finish({ status: 'error', errorCode: e.code, text: e.message });
      throw e;
    }
  }
}
