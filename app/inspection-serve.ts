// Under `kubemate serve`: the scheduler for the configured plans, posting through the chat bots.
import { announce } from '../bots/core/announce.js';
import type { ChatCore } from '../bots/core/core.js';
import { type ChatPlatform, parseChatTarget } from '../bots/core/platforms.js';
import type { Leader } from '../state/lease.js';
import { InspectionScheduler, type PlanPost, type SummaryPoster } from './inspection-schedules.js';
import { mayStartUnder } from './leases.js';
import type { App } from './wiring.js';

/**
 * Posts plan summaries through the chat bots' durable outboxes (in order per channel, paced,
 * retried), on every platform a plan names (`<platform>:<id>`), each within its limits: the text
 * split at the platform's length, then the HTML report as a file where the platform can share one
 * (Slack, Feishu, WeCom) and as its link elsewhere (DingTalk), or a word that there is none. A
 * platform whose bot is not running is an error the scheduler logs.
 */
export function chatPoster(bots: Partial<Record<ChatPlatform, { core: ChatCore }>>): SummaryPoster {
  // Posts are enqueued one after another (the store may answer later), so a missed-run notice and
  // the report after it reach each channel in the order the scheduler made them.
  let chain: Promise<void> = Promise.resolve();
  return {
    post(channel: string, message: PlanPost) {
      const target = parseChatTarget(channel);
      if ('error' in target) throw new Error(`cannot post: ${target.error}`);
      const bot = bots[target.platform];
      if (!bot) throw new Error(`cannot post to '${channel}': no ${target.platform} bot is running`);
      const r = message.report;
      const ctx = bot.core.ctx;
      chain = chain.then(() =>
        announce(
          ctx,
          target.platform,
          { channel: target.id },
          {
            text: message.text,
            tag: `[inspection ${message.plan}]`,
            ...(r?.file ? { file: r.file } : {}),
            ...(r && !r.url
              ? {
                  instead: `(The HTML report ${r.id} cannot be shared as a file on ${target.platform}, and no inspections.publicUrl is configured to link it: set it to the address of kubemate serve, or read the report with inspection_report_get.)`,
                }
              : {}),
          },
        ).catch((e: Error) =>
          ctx.logger.error({ channel, error: e.message }, 'cannot enqueue the inspection post'),
        ),
      );
      bot.core.track(chain);
      return chain;
    },
  };
}

/** The scheduler for the configured plans, or undefined when there are none. */
export function buildScheduler(
  app: App,
  bots: Partial<Record<ChatPlatform, { core: ChatCore }>>,
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
    ...(leader ? { mayStart: mayStartUnder(leader) } : {}),
  });
}
