/**
 * Reports canary_progress steps in the chat thread a plan was started from, through the durable
 * outbox of the platform it was started on (the requester's, `feishu:ou_…`; Slack for a plan
 * started elsewhere with a thread), like every other message. On a platform without threads the
 * step goes to the conversation, naming the plan. The runner knows only the notifier interface.
 */

import type { CanaryNotifier } from '../../tools/canary/progress-runner.js';
import type { CanaryPlan } from '../../tools/clients/canary-plans.js';
import { announce } from './announce.js';
import type { CoreContext } from './context.js';
import { type ChatPlatform, PLATFORM_TRAITS, platformOfPrincipal } from './platforms.js';

export function chatCanaryNotifier(chats: Partial<Record<ChatPlatform, CoreContext>>): CanaryNotifier {
  return {
    async notify(plan: CanaryPlan, text: string) {
      if (!plan.thread) return;
      const platform = platformOfPrincipal(plan.requester.id) ?? 'slack';
      const ctx = chats[platform];
      if (!ctx) return;
      const { channel, threadId } = plan.thread;
      await announce(
        ctx,
        platform,
        PLATFORM_TRAITS[platform].threads ? { channel, thread: threadId } : { channel },
        {
          text,
          tag: `[canary ${plan.id} ${plan.namespace}/${plan.name}]`,
        },
      );
    },
  };
}
