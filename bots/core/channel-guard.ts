import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../../policies/types.js';
import type { InvokeResult, ToolPipeline } from '../../tools/core/invoke.js';
import type { ChannelBinding } from './types.js';

export const CHANNEL_RULE = 'chat-channel-read-only';

/** Withdrawing or refusing a ticket changes nothing in a cluster, so a read-only channel may still do it. */
const ALWAYS_ALLOWED = new Set(['approvals_reject']);

/**
 * The one place a channel binding's `allowWrites: false` is enforced. The chat core handles each
 * event inside `run(binding, …)`; the pipeline it hands to commands, approvals and the agent is this
 * wrapper, whose `invoke` refuses any state-changing tool (readOnlyHint false) while the work of an
 * event from such a channel is running: writes the policy allows outright, writes needing approval,
 * and writes the agent makes. Each refusal is audited through the pipeline; nothing runs.
 */
export class ChannelGuard {
  private readonly scope = new AsyncLocalStorage<ChannelBinding>();
  readonly pipeline: ToolPipeline;

  constructor(private readonly inner: ToolPipeline) {
    const invoke = this.invoke.bind(this);
    this.pipeline = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'invoke') return invoke;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** Runs the work of one event with its channel's binding in force. */
  run<T>(binding: ChannelBinding, work: () => T): T {
    return this.scope.run(binding, work);
  }

  /** Why a call may not run from the current channel, or undefined when it may. */
  refusal(name: unknown): string | undefined {
    const binding = this.scope.getStore();
    if (!binding || binding.allowWrites || typeof name !== 'string' || ALWAYS_ALLOWED.has(name))
      return undefined;
    const def = this.inner.registry.find(name);
    if (!def || def.annotations.readOnlyHint) return undefined;
    return `changes cannot be made from channel ${binding.channel} (it is bound with allowWrites: false); ask in a channel that allows changes`;
  }

  private async invoke(
    name: string,
    rawArgs: unknown,
    principal: Principal,
    options: Parameters<ToolPipeline['invoke']>[3] = {},
  ): Promise<InvokeResult> {
    const reason = this.refusal(name);
    if (!reason) return this.inner.invoke(name, rawArgs, principal, options);
    const args =
      rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs)
        ? (rawArgs as Record<string, unknown>)
        : {};
    await this.inner.recordRefusal(principal, name, args, reason, CHANNEL_RULE);
    return {
      tool: name,
      status: 'denied',
      isError: true,
      errorCode: 'forbidden',
      decision: { effect: 'deny', reason, rule: CHANNEL_RULE },
      text: `denied: ${reason} (rule ${CHANNEL_RULE}). Nothing was executed.`,
      durationMs: 0,
    };
  }
}
