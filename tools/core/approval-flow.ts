// The approval flow beside the pipeline: approving and rejecting tickets, and running an approved
// call exactly once as its requester. ToolPipeline.invoke decides and files tickets; this module
// decides them. Every check holds whoever calls it.
import { ApprovalError, type Ticket } from '../../policies/approvals.js';
import { ticketHash } from '../../policies/canonical.js';
import { APPROVALS_TOOLSET } from '../../policies/engine.js';
import type { AuditRecord, Decision, Principal, ToolFacts } from '../../policies/types.js';
import type { InvokeResult, PipelineDeps, ResultParts } from './pipeline-types.js';
import { ToolRegistry } from './registry.js';
import type { ToolDef } from './types.js';

/** What a call's last step takes: its result parts, once (see ToolPipeline's finisher). */
type Finish = (partial: ResultParts) => Promise<InvokeResult>;

/** The pipeline's own steps the flow uses: one audit, one finisher, one execute, as for any call. */
export interface FlowHost {
  deps: PipelineDeps;
  audit(
    principal: Principal,
    tool: string,
    args: unknown,
    extra: Partial<AuditRecord>,
    validated?: boolean,
  ): Promise<void>;
  finisher(name: string, principal: Principal, args: unknown, started: number, validated?: boolean): Finish;
  /** The decision narrowed by the other tools' permissions the arguments need (ToolDef.alsoNeeds). */
  withNeeds(def: ToolDef, args: Record<string, unknown>, principal: Principal, decision: Decision): Decision;
  execute(
    def: ToolDef,
    args: Record<string, unknown>,
    principal: Principal,
    decision: Decision,
    finish: Finish,
    callerSignal?: AbortSignal,
    ticket?: InvokeResult['ticket'],
  ): Promise<InvokeResult>;
  currentDefaultCluster(): string;
}

/** What a result shows of a ticket. */
export function ticketSummary(t: Ticket): InvokeResult['ticket'] {
  return {
    id: t.id,
    status: t.status,
    expiresAt: t.expiresAt,
    plan: t.plan,
    approvals: t.approvals.length,
    required: t.required.count,
  };
}

export class ApprovalFlow {
  constructor(private readonly host: FlowHost) {}

  /** What the policy reads of an approvals tool, also when a registry was built without them. */
  private approvalToolFacts(name: 'approvals_approve' | 'approvals_reject'): ToolFacts {
    const def = this.host.deps.registry.find(name);
    if (def) return ToolRegistry.facts(def);
    return {
      name,
      permission: { toolset: APPROVALS_TOOLSET, verb: 'write', namespaced: false },
      annotations: {
        readOnlyHint: false,
        destructiveHint: name === 'approvals_approve',
        idempotentHint: name === 'approvals_reject',
        openWorldHint: true,
      },
    };
  }

  /**
   * The policy's decision on the approvals tool itself, for an approval or rejection that did not
   * come through `invoke` (which has decided it already): deny lists, read-only mode and the grants
   * of the approvals toolset hold for every approval, whatever surface calls `approve` or `reject`.
   * Audited as `invoke` audits a decision. Undefined when allowed.
   */
  private async gate(
    tool: 'approvals_approve' | 'approvals_reject',
    args: Record<string, unknown>,
    principal: Principal,
    started: number,
  ): Promise<InvokeResult | undefined> {
    const decision = this.host.deps.policy.decide(principal, this.approvalToolFacts(tool), args);
    await this.host.audit(principal, tool, args, { decision });
    if (decision.effect === 'allow') return undefined;
    const reason =
      decision.effect === 'deny'
        ? decision.reason
        : `${decision.reason}, and an approval cannot itself wait for one`;
    return this.host.finisher(
      tool,
      principal,
      args,
      started,
      true,
    )({
      status: 'denied',
      decision,
      errorCode: 'forbidden',
      text: `denied: ${reason} (rule ${decision.rule}). Nothing was executed.`,
    });
  }

  /**
   * Records `approver`'s approval of a ticket. When the approval completes the quorum, the exact
   * approved call runs once, as its requester, and its result is returned and kept on the ticket.
   * Every check holds here, whoever calls it: the policy's decision on approvals_approve for the
   * approver, the ticket's integrity and cluster, and the approver's right to approve this call.
   */
  async approve(ticketId: string, approver: Principal): Promise<InvokeResult> {
    const started = performance.now();
    return (
      (await this.gate('approvals_approve', { ticket: ticketId }, approver, started)) ??
      this.approveTicket(ticketId, approver, started)
    );
  }

  /** `approve` once the approvals tool itself has been decided (by `invoke` or by `gate`). */
  async approveTicket(ticketId: string, approver: Principal, started: number): Promise<InvokeResult> {
    const store = this.host.deps.approvals;
    const fail = (tool: string, args: Record<string, unknown>, text: string, code = 'forbidden') =>
      this.host.finisher(tool, approver, args, started)({ status: 'denied', errorCode: code, text });
    if (!store) return fail('approvals_approve', {}, 'no approval store is configured');
    let ticket: Ticket;
    try {
      ticket = await store.get(ticketId);
    } catch (e) {
      if (!(e instanceof ApprovalError)) throw e;
      return fail('approvals_approve', { ticket: ticketId }, (e as Error).message, 'not_found');
    }
    const def = this.host.deps.registry.find(ticket.tool);
    const parsed = def?.input.safeParse(ticket.args);
    if (!def || !parsed?.success) {
      return fail(
        ticket.tool,
        ticket.args,
        `ticket ${ticketId} names a call this version cannot run; reject it`,
      );
    }
    const args = parsed.data as Record<string, unknown>;
    if (ticketHash(def.name, args, ticket.defaultCluster) !== ticket.argsHash) {
      return fail(
        def.name,
        args,
        `ticket ${ticketId} does not match its recorded arguments; it will not run`,
      );
    }
    const facts = ToolRegistry.facts(def);
    const check = this.host.deps.policy.mayApprove(approver, ticket.requester, facts, args, ticket.required);
    if (!check.ok) {
      await this.host.audit(approver, def.name, args, {
        kind: 'approval',
        outcome: 'denied',
        ticketId,
        error: check.reason,
      });
      return fail(def.name, args, `cannot approve ${ticketId}: ${check.reason}`);
    }
    const retargeted = this.retargeted(ticket);
    if (retargeted) {
      try {
        await store.reject(ticketId, 'kubemate', retargeted);
      } catch (e) {
        // already out of pending: it will not run either way
        if (!(e instanceof ApprovalError)) throw e;
      }
      await this.host.audit(approver, def.name, args, {
        kind: 'approval',
        outcome: 'denied',
        ticketId,
        error: retargeted,
      });
      return fail(def.name, args, `ticket ${ticketId} will not run: ${retargeted}`, 'mismatch');
    }
    try {
      ticket = await store.approve(ticketId, { person: check.person, principalId: approver.id });
    } catch (e) {
      // Approved (its quorum met) but never claimed: the approval that completed it could not be
      // audited, or its replica stopped before the run. This approval, on the record below, runs it;
      // the claim still lets it run once.
      if (!(e instanceof ApprovalError)) throw e;
      const stalled = await Promise.resolve(store.get(ticketId)).catch(() => undefined);
      if (stalled?.status !== 'approved') {
        await this.host.audit(approver, def.name, args, {
          kind: 'approval',
          outcome: 'denied',
          ticketId,
          error: e.message,
        });
        return fail(def.name, args, `cannot approve ${ticketId}: ${e.message}`, e.code);
      }
      ticket = stalled;
    }
    // On the record before anything runs: an approval the audit cannot take executes nothing.
    await this.host.audit(approver, def.name, args, { kind: 'approval', outcome: 'success', ticketId });
    if (ticket.status !== 'approved') {
      return this.host.finisher(
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
    const now = this.host.withNeeds(
      def,
      args,
      ticket.requester,
      this.host.deps.policy.decide(ticket.requester, facts, args),
    );
    if (now.effect === 'deny') {
      await store.reject(ticketId, 'policy', `no longer allowed: ${now.reason}`);
      return fail(
        def.name,
        args,
        `ticket ${ticketId} was approved but the requester is no longer allowed: ${now.reason}`,
      );
    }
    if (!(await store.claim(ticketId, ticket.argsHash))) {
      return fail(
        def.name,
        args,
        `ticket ${ticketId} has already been executed or claimed; it never runs twice`,
        'not_pending',
      );
    }
    const finish = this.host.finisher(def.name, ticket.requester, args, started, true);
    const result = await this.host.execute(
      def,
      args,
      ticket.requester,
      now,
      finish,
      undefined,
      ticketSummary(ticket),
    );
    const done = await store.complete(ticketId, { status: result.status, text: result.text });
    return { ...result, ticket: ticketSummary(done) };
  }

  /** Why a ticket bound to the default cluster would now reach another one, or undefined. */
  private retargeted(ticket: Ticket): string | undefined {
    if (ticket.defaultCluster === undefined) return undefined;
    const now = this.host.currentDefaultCluster();
    if (now === ticket.defaultCluster) return undefined;
    const was = ticket.defaultCluster ? `'${ticket.defaultCluster}'` : 'none';
    return `it was requested for the default cluster (${was}), and the default cluster is now ${now ? `'${now}'` : 'none'}; request it again, naming the cluster`;
  }

  /**
   * Rejects a pending ticket; its requester may withdraw it, an eligible approver may refuse it.
   * Like `approve`, it holds every check whoever calls it.
   */
  async reject(ticketId: string, by: Principal, note?: string): Promise<InvokeResult> {
    const started = performance.now();
    return (
      (await this.gate(
        'approvals_reject',
        { ticket: ticketId, ...(note ? { reason: note } : {}) },
        by,
        started,
      )) ?? this.rejectTicket(ticketId, by, note, started)
    );
  }

  /** `reject` once the approvals tool itself has been decided (by `invoke` or by `gate`). */
  async rejectTicket(
    ticketId: string,
    by: Principal,
    note: string | undefined,
    started: number,
  ): Promise<InvokeResult> {
    const store = this.host.deps.approvals;
    const finish = this.host.finisher('approvals_reject', by, { ticket: ticketId }, started, true);
    if (!store)
      return finish({ status: 'denied', errorCode: 'forbidden', text: 'no approval store is configured' });
    try {
      const ticket = await store.get(ticketId);
      const person = this.host.deps.policy.personOf(by);
      if (person !== ticket.requesterPerson) {
        const def = this.host.deps.registry.find(ticket.tool);
        // Whether someone may refuse a call is whether they may approve it; for a tool this version
        // no longer has, nobody can be checked, so only the requester may withdraw it (or it expires).
        const check = def
          ? this.host.deps.policy.mayApprove(
              by,
              ticket.requester,
              ToolRegistry.facts(def),
              ticket.args,
              ticket.required,
            )
          : ({
              ok: false,
              reason: `its tool '${ticket.tool}' no longer exists, so no approver can be checked; only its requester may withdraw it, and it expires at ${ticket.expiresAt}`,
            } as const);
        if (!check.ok)
          return finish({
            status: 'denied',
            errorCode: 'forbidden',
            text: `cannot reject ${ticketId}: ${check.reason}`,
          });
      }
      const done = await store.reject(ticketId, person, note);
      await this.host.audit(by, ticket.tool, ticket.args, {
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
