/**
 * Runs canary_progress plans, one step at a time: analyse, then shift to the step's weight, each
 * through the pipeline as the person who asked (so the policy decides, approvals are asked for
 * as it says, and everything is audited). A failing analysis rolls back by itself; a step that
 * needs approval waits for its ticket. The plan is in the state store, so a restart (or another
 * replica) picks it up where it was; a runner advances only the plans it took, one replica at a time.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Principal } from '../../policies/types.js';
import type { CanaryPlan, CanaryPlans } from '../clients/canary-plans.js';
import type { InvokeResult } from '../core/pipeline-types.js';

/** The pipeline, as the runner uses it. */
export interface StepInvoker {
  invoke(tool: string, args: Record<string, unknown>, principal: Principal): Promise<InvokeResult>;
}

/** Where a ticket stands (the approval store). */
export interface TicketReader {
  get(
    id: string,
  ): { status: string; outcome?: { text: string } } | Promise<{ status: string; outcome?: { text: string } }>;
}

/** Reports each step to people, in the chat thread the plan came from when there is one. */
export interface CanaryNotifier {
  notify(plan: CanaryPlan, text: string): void | Promise<void>;
}

/** Analyses that cannot decide (too little traffic) before the plan gives up and rolls back. */
export const MAX_INCONCLUSIVE = 3;

export class CanaryProgressRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      store: CanaryPlans;
      pipeline: StepInvoker;
      tickets?: TicketReader;
      notifier?: CanaryNotifier;
      now?: () => number;
      /** How often to look for due plans (default 5 s). */
      pollMs?: number;
      /** How long a taken plan is held if this runner stops mid-step (default 10 min, longer than a step). */
      holdMs?: number;
      /** A pass that failed (the store unreachable, say): logged, and the next interval tries again. */
      onError?: (e: Error) => void;
    },
  ) {}

  private readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * Whether this replica may start a plan's step now (it holds the scheduler lease, app/leases.ts);
   * checked before each step, so a replica without the lease starts none.
   */
  private mayStart: () => boolean = () => true;

  start(mayStart?: () => boolean): void {
    if (mayStart) this.mayStart = mayStart;
    // A timer has no caller to reject to: a failed pass is reported, never an unhandled rejection.
    this.timer ??= setInterval(
      () => void this.tick().catch((e: Error) => this.deps.onError?.(e)),
      this.deps.pollMs ?? 5000,
    );
    this.timer.unref();
  }

  /** Stops the timer; resolves when a pass under way has finished (before the store is closed). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass over the due plans; passes never overlap. */
  async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      if (!this.mayStart()) return;
      const { store } = this.deps;
      for (const plan of await store.take(this.owner, this.now(), this.deps.holdMs ?? 10 * 60_000)) {
        if (!this.mayStart()) {
          // The lease went elsewhere mid-pass: hand the rest back at once rather than hold them.
          await store.release(plan.id, this.owner);
          continue;
        }
        try {
          await this.advance(plan);
        } catch (e) {
          try {
            await this.record(plan, `error: ${(e as Error).message}; trying again at the next interval`);
            plan.nextAt = this.now() + plan.intervalSeconds * 1000;
            await store.save(plan);
          } catch (again) {
            // Not even the error could be kept: the plan stays as it was saved, and is tried again.
            this.deps.onError?.(again as Error);
          }
        } finally {
          // A release that fails leaves the plan held until its hold runs out; the others go on.
          await store.release(plan.id, this.owner).catch((e: Error) => this.deps.onError?.(e));
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async record(plan: CanaryPlan, text: string): Promise<void> {
    plan.history.push({ at: new Date(this.now()).toISOString(), text });
    await this.deps.store.save(plan);
    await this.deps.notifier?.notify(plan, `canary ${plan.namespace}/${plan.name}: ${text}`);
  }

  private target(plan: CanaryPlan) {
    return {
      ...(plan.cluster ? { cluster: plan.cluster } : {}),
      namespace: plan.namespace,
      name: plan.name,
      ...(plan.kind ? { kind: plan.kind } : {}),
      stable: plan.stable,
    };
  }

  private finish(plan: CanaryPlan, state: CanaryPlan['state']) {
    plan.state = state;
    delete plan.waiting;
  }

  private async advance(plan: CanaryPlan): Promise<void> {
    if (plan.waiting) {
      const t = await this.deps.tickets?.get(plan.waiting.ticket);
      const status = t?.status ?? 'unknown';
      if (status === 'pending' || status === 'approved' || status === 'executing') {
        plan.nextAt = this.now() + Math.min(plan.intervalSeconds, 5) * 1000;
        await this.deps.store.save(plan);
        return;
      }
      const { action, step } = plan.waiting;
      if (status === 'executed') {
        if (action === 'rollback') {
          this.finish(plan, 'rolled_back');
          return this.record(plan, 'rolled back: all traffic on stable (approved)');
        }
        return this.stepDone(plan, step);
      }
      this.finish(plan, 'halted');
      return this.record(
        plan,
        `halted: the ${action} ticket ${plan.waiting?.ticket ?? ''} was ${status}${t?.outcome ? ` (${t.outcome.text.split('\n')[0]})` : ''}; traffic stays where it is`,
      );
    }
    const weight = plan.steps[plan.step]!;
    const analysis = await this.deps.pipeline.invoke(
      'canary_analyze',
      { ...this.target(plan), ...plan.analysis },
      plan.requester,
    );
    const verdict = (analysis.structured?.verdict as string | undefined) ?? 'error';
    const firstLine = analysis.text.split('\n')[0] ?? '';
    if (verdict === 'fail' || (verdict === 'inconclusive' && plan.inconclusive + 1 >= MAX_INCONCLUSIVE)) {
      return this.rollback(
        plan,
        verdict === 'fail'
          ? `analysis failed before step ${plan.step + 1}: ${firstLine}`
          : `analysis inconclusive ${MAX_INCONCLUSIVE} times in a row: ${firstLine}`,
      );
    }
    if (verdict !== 'pass') {
      plan.inconclusive = verdict === 'inconclusive' ? plan.inconclusive + 1 : plan.inconclusive;
      plan.nextAt = this.now() + plan.intervalSeconds * 1000;
      return this.record(
        plan,
        `step ${plan.step + 1} (${weight}%) waits: ${verdict === 'inconclusive' ? firstLine : `analysis could not run: ${analysis.text}`}`,
      );
    }
    plan.inconclusive = 0;
    const shift = await this.deps.pipeline.invoke(
      'canary_shift',
      {
        ...this.target(plan),
        ...plan.analysis,
        weights: { [plan.stable]: 100 - weight, [plan.canary]: weight },
      },
      plan.requester,
    );
    if (shift.status === 'approval_required' && shift.ticket) {
      plan.state = 'waiting';
      plan.waiting = { ticket: shift.ticket.id, action: 'shift', step: plan.step };
      plan.nextAt = this.now();
      return this.record(
        plan,
        `step ${plan.step + 1}: analysis passes; shift to ${weight}% waits for approval (ticket ${shift.ticket.id})`,
      );
    }
    if (shift.status !== 'success') {
      this.finish(plan, 'halted');
      return this.record(
        plan,
        `halted: the shift to ${weight}% was ${shift.status}: ${shift.text.split('\n')[0]}`,
      );
    }
    return this.stepDone(plan, plan.step);
  }

  private async stepDone(plan: CanaryPlan, step: number): Promise<void> {
    const weight = plan.steps[step]!;
    delete plan.waiting;
    plan.step = step + 1;
    plan.state = 'running';
    plan.nextAt = this.now() + plan.intervalSeconds * 1000;
    if (plan.step >= plan.steps.length) {
      this.finish(plan, 'completed');
      return this.record(plan, `completed: the canary has ${weight}% of the traffic`);
    }
    return this.record(
      plan,
      `step ${step + 1} done: the canary has ${weight}%; next step (${plan.steps[plan.step]}%) after ${plan.intervalSeconds} s and a passing analysis`,
    );
  }

  private async rollback(plan: CanaryPlan, why: string): Promise<void> {
    const r = await this.deps.pipeline.invoke('canary_rollback', this.target(plan), plan.requester);
    if (r.status === 'approval_required' && r.ticket) {
      plan.state = 'waiting';
      plan.waiting = { ticket: r.ticket.id, action: 'rollback', step: plan.step };
      plan.nextAt = this.now();
      return this.record(plan, `${why}; rolling back, waiting for approval (ticket ${r.ticket.id})`);
    }
    if (r.status !== 'success') {
      this.finish(plan, 'halted');
      return this.record(
        plan,
        `${why}; the rollback was ${r.status}: ${r.text.split('\n')[0]}. Roll back by hand now.`,
      );
    }
    this.finish(plan, 'rolled_back');
    return this.record(plan, `${why}; rolled back: all traffic on stable`);
  }
}
