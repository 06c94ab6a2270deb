import type { z } from 'zod';
import { ApprovalError, type Approvals, type Ticket } from '../../policies/approvals.js';
import type { AuditRecord, Decision, PolicyEngine, Principal } from '../../policies/types.js';
import { type Backends, bindBackends } from '../clients/backends.js';
import { ApprovalFlow, ticketSummary } from './approval-flow.js';
import { boundForAudit, depthBeyond, MAX_ARG_DEPTH } from './args-bounds.js';
import { backendScopedPolicy } from './backend-scope.js';
import { ToolError } from './errors.js';
import { keptScopedPolicy } from './kept-scope.js';
import type { InvokeResult, PipelineDeps, ResultParts } from './pipeline-types.js';
import { redactDeep } from './redact.js';
import { ToolRegistry } from './registry.js';
import { shapeOutput } from './shaping.js';
import type { ApprovalsAccess, ProgressUpdate, ToolDef } from './types.js';

export type { InvokeResult, PipelineDeps, ResultParts };

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

const MAX_ISSUES = 10;

/** The error code of a call refused, or a result withheld, because the audit log could not record it. */
export const AUDIT_UNAVAILABLE = 'audit_unavailable';

/** Turns zod issues into one line a person or model can act on; bounded, however many there are. */
export function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, MAX_ISSUES).map((i) => {
    const where = i.path.length > 0 ? i.path.map(String).join('.') : '(arguments)';
    const line = `${where}: ${i.message}`;
    return line.length > 300 ? `${line.slice(0, 300)}…` : line;
  });
  const more = error.issues.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more problems` : ''}`;
}

/** Longest tool name looked up; longer names are refused without a search for the closest. */
const MAX_TOOL_NAME = 128;

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
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

/**
 * The one guarded path. Every surface (MCP, CLI, agent, chat) calls tools through `invoke`:
 * validate → policy decision → (approval ticket) → handler → output shaping and redaction → log →
 * metrics → audit. Approved tickets run through `approve`, which ends in the same execution step.
 */
export class ToolPipeline {
  private readonly deps: PipelineDeps;
  /** Deciding tickets: approve, reject, and the one run of an approved call (approval-flow.ts). */
  private readonly flow: ApprovalFlow;

  constructor(deps: PipelineDeps) {
    // Every decision (calls, approvals, re-checks) sees the cluster an observability call reaches,
    // and for a read of something kept (a report), the cluster that thing belongs to.
    this.deps = {
      ...deps,
      policy: keptScopedPolicy(
        backendScopedPolicy(deps.policy, deps.backends, (tool) => deps.registry.backendsOf(tool.name)),
        deps.backends,
        (name) => deps.registry.find(name),
      ),
    };
    this.flow = new ApprovalFlow({
      deps: this.deps,
      audit: (...a) => this.audit(...a),
      finisher: (...a) => this.finisher(...a),
      withNeeds: (...a) => this.withNeeds(...a),
      execute: (...a) => this.execute(...a),
      currentDefaultCluster: () => this.currentDefaultCluster(),
    });
  }

  get registry(): ToolRegistry {
    return this.deps.registry;
  }

  get policy(): PolicyEngine {
    return this.deps.policy;
  }

  get approvals(): Approvals | undefined {
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
        list: async (f) =>
          (
            await store.list({
              ...(f.status ? { status: f.status } : {}),
              ...(f.mine ? { requesterPerson: person } : {}),
            })
          ).filter(visible),
        get: async (id) => {
          const t = await store.get(id);
          if (!visible(t))
            throw new ApprovalError('not_found', `no approval ticket '${id}' that you may see`);
          return t;
        },
        // invoke has decided the approvals tool call that got here; the ticket's own checks follow.
        approve: (id) => this.flow.approveTicket(id, principal, performance.now()),
        reject: (id, note) => this.flow.rejectTicket(id, principal, note, performance.now()),
      },
    };
  }

  /** The tools this principal may ever call: what `tools/list` and the agent see. */
  visibleTools(principal: Principal) {
    return this.deps.registry
      .list()
      .filter((t) => this.deps.policy.mayEverCall(principal, ToolRegistry.facts(t)));
  }

  /**
   * Arguments as they may be shown in a ticket's plan: the tool's own masking, then the redactor.
   * Only for validated arguments, which their schema bounds.
   */
  private shownArgs(tool: string, args: Record<string, unknown>): Record<string, unknown> {
    return redactDeep(this.masked(tool, args), this.deps.redact);
  }

  /** The tool's own masking of its arguments; a masking that fails hides every value. */
  private masked(tool: string, args: Record<string, unknown>): Record<string, unknown> {
    const def = this.deps.registry.find(tool);
    if (!def?.redactArgs) return args;
    try {
      return def.redactArgs(args);
    } catch {
      return Object.fromEntries(Object.keys(args).map((k) => [k, '[REDACTED]']));
    }
  }

  /**
   * Arguments as an audit record keeps them: masked, bounded in size and depth (with a note of what
   * was left out), then redacted. Arguments that passed validation are masked before they are cut,
   * so the tool's masking sees them whole; any other input is cut first, so neither the masking nor
   * the redactor ever reads more than the audit keeps.
   */
  private auditedArgs(
    tool: string,
    args: unknown,
    validated: boolean,
  ): { args: Record<string, unknown>; argsCut?: string } {
    try {
      const object = args !== null && typeof args === 'object' && !Array.isArray(args);
      const input = validated && object ? this.masked(tool, args as Record<string, unknown>) : args;
      const bounded = boundForAudit(input);
      let value = bounded.value;
      if (!validated && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        value = this.masked(tool, value as Record<string, unknown>);
      }
      // Arguments that are not an object (an array, a string) are kept under one key.
      const record =
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : args === undefined || args === null
            ? {}
            : { '(arguments)': value };
      return {
        args: redactDeep(record, this.deps.redact),
        ...(bounded.cut ? { argsCut: bounded.cut } : {}),
      };
    } catch {
      return { args: {}, argsCut: 'arguments not recorded: they could not be read' };
    }
  }

  /** Writes one audit record; resolves once the sink has it (committed, for PostgreSQL). */
  private async audit(
    principal: Principal,
    tool: string,
    args: unknown,
    extra: Partial<AuditRecord>,
    validated = true,
  ): Promise<void> {
    await this.deps.audit.record({
      at: new Date().toISOString(),
      kind: 'decision',
      principal,
      person: this.deps.policy.personOf(principal),
      tool,
      ...this.auditedArgs(tool, args, validated),
      ...extra,
    } as AuditRecord);
  }

  /**
   * The last step of every call: metrics, one log line and the result's audit record. Each call
   * ends here exactly once; `done` says whether it has.
   */
  private finisher(name: string, principal: Principal, args: unknown, started: number, validated = false) {
    let done = false;
    let recorded = { args, validated };
    const finish = async (partial: ResultParts): Promise<InvokeResult> => {
      if (done) throw new Error(`internal: the call to ${name} was finished twice`);
      done = true;
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
      try {
        await this.audit(
          principal,
          name,
          recorded.args,
          {
            kind: 'result',
            ...(result.decision ? { decision: result.decision } : {}),
            outcome: result.status,
            durationMs,
            ...(result.ticket ? { ticketId: result.ticket.id } : {}),
            ...(result.isError ? { error: result.text.slice(0, 500) } : {}),
            // The audit notes that pictures went out, never their bytes.
            ...(result.images?.length ? { images: result.images.length } : {}),
          },
          recorded.validated,
        );
      } catch (e) {
        // A call refused because its decision could not be recorded already says why.
        if (result.errorCode === AUDIT_UNAVAILABLE) return result;
        return this.unrecorded(name, principal, result, e);
      }
      return result;
    };
    return Object.assign(finish, {
      done: () => done,
      /** Once the arguments pass validation, the result record keeps them as validated. */
      validated: (parsed: Record<string, unknown>) => {
        recorded = { args: parsed, validated: true };
      },
    });
  }

  /**
   * A result whose audit record could not be written leaves no further: its output is withheld, the
   * caller is told what that means, and Kubemate's log keeps what happened.
   */
  private unrecorded(name: string, principal: Principal, result: InvokeResult, e: unknown): InvokeResult {
    const why = this.deps.redact((e as Error)?.message ?? String(e));
    this.deps.logger.error(
      {
        tool: name,
        principal: principal.id,
        status: result.status,
        ...(result.ticket ? { ticket: result.ticket.id } : {}),
        error: why,
      },
      'audit: a result record could not be written; the result was withheld',
    );
    const def = this.deps.registry.find(name);
    const change =
      def && !def.annotations.readOnlyHint
        ? ' The call itself ran: a change it made may have taken effect, so check before trying again.'
        : '';
    return {
      tool: result.tool,
      status: 'error',
      isError: true,
      errorCode: AUDIT_UNAVAILABLE,
      text: `${name} finished (${result.status}), but the audit log could not record its result (${why}), so the result is withheld.${change} Kubemate's log has the details.`,
      ...(result.decision ? { decision: result.decision } : {}),
      ...(result.ticket ? { ticket: result.ticket } : {}),
      durationMs: result.durationMs,
    };
  }

  /**
   * The decision on a call is on the record before the call runs; when it cannot be written the call
   * is refused (fails closed).
   */
  private async recordDecisionFirst(
    principal: Principal,
    name: string,
    args: unknown,
    decision: Decision,
    finish: (p: ResultParts) => Promise<InvokeResult>,
  ): Promise<InvokeResult | undefined> {
    try {
      await this.audit(principal, name, args, { decision });
      return undefined;
    } catch (e) {
      const why = this.deps.redact((e as Error)?.message ?? String(e));
      this.deps.logger.error(
        { tool: name, principal: principal.id, error: why },
        'audit: a decision could not be recorded; the call was refused',
      );
      return finish({
        status: 'error',
        decision,
        errorCode: AUDIT_UNAVAILABLE,
        text: `the audit log could not record the decision on ${name} (${why}); nothing was executed. Kubemate runs no call it cannot audit: try again once its state database is reachable.`,
      });
    }
  }

  /**
   * Calls a tool through the guarded path. Never throws for anything a caller sends: a call however
   * malformed (unknown name, arguments of any shape, size or depth) ends in one result and exactly
   * one result record in the audit, after at most one decision record.
   */
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
      /** Where a long-running handler's progress goes (MCP progress notifications, a progress bar). */
      onProgress?: (p: ProgressUpdate) => void;
    } = {},
  ): Promise<InvokeResult> {
    const started = performance.now();
    const asked = typeof name === 'string' ? name : String(name);
    const shownName = asked.length > 100 ? `${asked.slice(0, 100)}…` : asked;
    const finish = this.finisher(shownName, principal, rawArgs, started);
    try {
      return await this.guarded(asked, shownName, rawArgs, principal, finish, options);
    } catch (e) {
      // A bug, not caller input: the call still ends with one result record, unless the failure was
      // in recording that result itself, which must not be papered over.
      if (finish.done()) throw e;
      const { redact } = this.deps;
      this.deps.logger.error(
        { tool: shownName, error: redact(String((e as Error)?.stack ?? e)) },
        'tool call failed unexpectedly',
      );
      return finish({
        status: 'error',
        errorCode: 'internal',
        text: redact(`internal error in ${shownName}: ${(e as Error)?.message ?? String(e)}`),
      });
    }
  }

  private async guarded(
    name: string,
    shownName: string,
    rawArgs: unknown,
    principal: Principal,
    finish: ((p: ResultParts) => Promise<InvokeResult>) & { validated(args: Record<string, unknown>): void },
    options: { signal?: AbortSignal; origin?: string; onProgress?: (p: ProgressUpdate) => void },
  ): Promise<InvokeResult> {
    if (name.length > MAX_TOOL_NAME || hasControlCharacters(name)) {
      return finish({
        status: 'invalid',
        errorCode: 'unknown_tool',
        text: `unknown tool '${shownName}': tool names are at most ${MAX_TOOL_NAME} characters, without control characters; run 'kubemate tools list' to see them all`,
      });
    }
    const def = this.deps.registry.find(name);
    if (!def) {
      try {
        this.deps.registry.get(name);
      } catch (e) {
        return finish({ status: 'invalid', text: (e as Error).message, errorCode: 'unknown_tool' });
      }
      throw new Error(`tool '${name}' is neither found nor unknown`);
    }
    // Checked before anything reads the arguments: past this, every helper may recurse safely.
    if (depthBeyond(rawArgs, MAX_ARG_DEPTH) !== undefined) {
      return finish({
        status: 'invalid',
        errorCode: 'invalid_arguments',
        text: `invalid arguments for ${name}: they are nested more than ${MAX_ARG_DEPTH} levels deep, and no tool takes arguments like that. Nothing was executed.`,
      });
    }
    const parsed = def.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      return finish({
        status: 'invalid',
        errorCode: 'invalid_arguments',
        text: `invalid arguments for ${name}: ${describeIssues(parsed.error)}. Nothing was executed.`,
      });
    }
    const args = parsed.data as Record<string, unknown>;
    finish.validated(args);

    const decision = this.withNeeds(
      def,
      args,
      principal,
      this.deps.policy.decide(principal, ToolRegistry.facts(def), args),
    );
    const unaudited = await this.recordDecisionFirst(principal, name, args, decision, finish);
    if (unaudited) return unaudited;
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
      const defaultCluster = this.unnamedCluster(def, args);
      const ticket = await store.request({
        tool: name,
        args,
        requester: principal,
        requesterPerson: this.deps.policy.personOf(principal),
        rule: decision.rule,
        required: decision.approval ?? { count: 1 },
        plan: await this.plan(def, args, principal, options.signal, options.origin, defaultCluster),
        ...(defaultCluster !== undefined ? { defaultCluster } : {}),
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
    return this.execute(
      def,
      args,
      principal,
      decision,
      finish,
      options.signal,
      undefined,
      options.onProgress,
    );
  }

  /** The cluster Kubemate uses when a call names none ('' when there is none). */
  private currentDefaultCluster(): string {
    return (this.deps.backends.kube as { defaultCluster?: string } | undefined)?.defaultCluster ?? '';
  }

  /**
   * For a tool that takes a `cluster` argument, called without one: the cluster the call resolves to
   * now. A ticket is bound to it, so a later change of default cluster cannot retarget the ticket.
   */
  private unnamedCluster(def: ToolDef, args: Record<string, unknown>): string | undefined {
    if (!('cluster' in def.input.shape) || typeof args.cluster === 'string') return undefined;
    return this.currentDefaultCluster();
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
    defaultCluster?: string,
  ) {
    const { redact } = this.deps;
    // One line, after the call and its preview, so it can never pose as either.
    const from = origin ? `\nrequested via: ${origin.replace(/[\r\n]+/g, ' ').slice(0, 600)}` : '';
    // The call names no cluster: the ticket is bound to the one it resolves to now, and says so.
    const where =
      defaultCluster === undefined
        ? ''
        : defaultCluster
          ? ` on the default cluster ${JSON.stringify(defaultCluster)}`
          : ' (no default cluster is configured)';
    const call = `${describeCall(def.name, this.shownArgs(def.name, args))}${where}`;
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
    finish: (p: ResultParts) => Promise<InvokeResult>,
    callerSignal?: AbortSignal,
    ticket?: InvokeResult['ticket'],
    onProgress?: (p: ProgressUpdate) => void,
  ): Promise<InvokeResult> {
    const { redact } = this.deps;
    const timeoutMs = def.timeoutMs ?? this.deps.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
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
          ...(onProgress ? { progress: onProgress } : {}),
          mayCall: (tool: string, asked: Record<string, unknown>) => {
            const other = this.deps.registry.find(tool);
            return (
              !!other &&
              this.deps.policy.decide(principal, ToolRegistry.facts(other), asked).effect === 'allow'
            );
          },
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
        if (e.code === 'internal') {
          this.deps.logger.error(
            { tool: def.name, error: redact(String((e.cause as Error)?.stack ?? e.stack ?? e)) },
            'tool handler failed unexpectedly',
          );
        }
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
              ? `${def.name} did not finish within ${timeoutMs} ms; try a narrower query`
              : `${def.name} did not finish within ${timeoutMs} ms; the change may still be completing, so check the object before trying again`,
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
   * The decision, narrowed by the other tools' permissions the arguments need (ToolDef.alsoNeeds):
   * a call the policy would allow or put behind an approval is denied when one of them is not
   * allowed outright, so an approval can never stand in for a permission the caller lacks.
   */
  private withNeeds(
    def: ToolDef,
    args: Record<string, unknown>,
    principal: Principal,
    decision: Decision,
  ): Decision {
    if (decision.effect === 'deny' || !def.alsoNeeds) return decision;
    for (const need of def.alsoNeeds(args)) {
      const other = this.deps.registry.find(need.tool);
      const d = other
        ? this.deps.policy.decide(principal, ToolRegistry.facts(other), need.args)
        : { effect: 'deny' as const, reason: `tool ${need.tool} is not served`, rule: 'default' };
      if (d.effect !== 'allow') {
        const why = d.effect === 'deny' ? d.reason : `${need.tool} would need an approval`;
        return { effect: 'deny', reason: `${need.why} needs ${need.tool}: ${why}`, rule: d.rule };
      }
    }
    return decision;
  }

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
  ): Promise<void> {
    return this.audit(principal, tool, args, { decision, outcome }, false);
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
  ): Promise<void> {
    return this.audit(
      principal,
      tool,
      args,
      {
        decision: { effect: 'deny', reason, rule },
        outcome: 'denied',
      },
      false,
    );
  }

  /**
   * Records `approver`'s approval of a ticket; when it completes the quorum the exact approved call
   * runs once, as its requester. Every check holds whoever calls it (see ApprovalFlow).
   */
  approve(ticketId: string, approver: Principal): Promise<InvokeResult> {
    return this.flow.approve(ticketId, approver);
  }

  /** Rejects a pending ticket; its requester may withdraw it, an eligible approver may refuse it. */
  reject(ticketId: string, by: Principal, note?: string): Promise<InvokeResult> {
    return this.flow.reject(ticketId, by, note);
  }
}
