// Under `kubemate serve`: the scheduler for the configured plans, posting through the chat bots.
import { post } from '../bots/core/context.js';
import type { SlackBot } from '../bots/slack/bot.js';
import { InspectionScheduler, type SummaryPoster } from './inspection-schedules.js';
import type { App } from './wiring.js';

/**
 * Posts plan summaries through the chat bots' durable outboxes. Channels are `<platform>:<id>`;
 * a platform that is not configured is an error the scheduler logs.
 */
export function chatPoster(bots: { slack?: SlackBot }): SummaryPoster {
  return {
    post(channel: string, text: string) {
      const [platform, id] = channel.includes(':')
        ? (channel.split(/:(.*)/s) as [string, string])
        : ['', channel];
      if (platform === 'slack' && bots.slack) {
        post(bots.slack.core.ctx, { channel: id }, { text });
        return;
      }
      throw new Error(
        `cannot post to '${channel}': no ${platform || '(unnamed)'} bot is configured (channels look like slack:C0123456)`,
      );
    },
  };
}

/** The scheduler for the configured plans, or undefined when there are none. */
export function buildScheduler(app: App, bots: { slack?: SlackBot }): InspectionScheduler | undefined {
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
  });
}
