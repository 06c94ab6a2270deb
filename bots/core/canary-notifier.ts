/**
 * Reports canary_progress steps in the chat thread a plan was started from, through the durable
 * outbox like every other message. The runner knows only the notifier interface.
 */

import type { CanaryNotifier } from '../../tools/canary/progress-runner.js';
import type { CanaryPlan } from '../../tools/clients/canary-plans.js';
import { type CoreContext, post } from './context.js';

export function chatCanaryNotifier(ctx: CoreContext): CanaryNotifier {
  return {
    async notify(plan: CanaryPlan, text: string) {
      if (!plan.thread) return;
      await post(ctx, { channel: plan.thread.channel, thread: plan.thread.threadId }, { text });
    },
  };
}
