// Under `kubemate serve`: the scheduler for the configured plans, posting through the chat bots.

import { post, send } from '../bots/core/context.js';
import { newKey } from '../bots/core/store.js';
import type { SlackBot } from '../bots/slack/bot.js';
import type { Leader } from '../state/lease.js';
import { InspectionScheduler, type PlanPost, type SummaryPoster } from './inspection-schedules.js';
import { mayStartUnder } from './leases.js';
import type { App } from './wiring.js';

/**
 * Posts plan summaries, then the HTML report as a file (Slack: files.uploadV2), through the chat
 * bots' durable outboxes, which deliver in order per channel. Channels are `<platform>:<id>`; a
 * platform that is not configured is an error the scheduler logs.
 */
export function chatPoster(bots: { slack?: SlackBot }): SummaryPoster {
  return {
    post(channel: string, message: PlanPost) {
      const [platform, id] = channel.includes(':')
        ? (channel.split(/:(.*)/s) as [string, string])
        : ['', channel];
      if (platform === 'slack' && bots.slack) {
        const ctx = bots.slack.core.ctx;
        post(ctx, { channel: id }, { text: message.text });
        if (message.file)
          send(ctx, { op: 'upload', place: { channel: id }, key: newKey(), file: message.file });
        return;
      }
      throw new Error(
        `cannot post to '${channel}': no ${platform || '(unnamed)'} bot is configured (channels look like slack:C0123456)`,
      );
    },
  };
}

/** The scheduler for the configured plans, or undefined when there are none. */
export function buildScheduler(
  app: App,
  bots: { slack?: SlackBot },
  leader?: Leader,
): InspectionScheduler | undefined {
  const c = app.config.inspections;
  if (!c.plans.length) return undefined;
  const base = c.publicUrl?.replace(/\/+$/, '');
  return new InspectionScheduler({
    plans: c.plans,
    store: app.inspections,
    pipeline: app.pipeline,
    principal: { id: c.principal.id, groups: [...c.principal.groups], source: 'schedule' },
    now: Date.now,
    missedAfterMs: c.missedAfterMinutes * 60_000,
    logger: app.logger.child({ component: 'inspections' }),
    poster: chatPoster(bots),
    ...(base ? { reportUrl: (id: string) => `${base}/reports/${id}` } : {}),
    ...(leader ? { mayStart: mayStartUnder(leader), leaseToken: () => leader.token } : {}),
  });
}
