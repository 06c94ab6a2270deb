import { join } from 'node:path';
import { buildAgent } from '../agent/index.js';
import { alertTriageAccess } from '../alerts/access.js';
import { alertActionHandler } from '../alerts/actions.js';
import { ALERT_PLATFORMS, type AlertPlatform } from '../alerts/config.js';
import { type AlertChat, AlertService } from '../alerts/service.js';
import { AlertStore } from '../alerts/store.js';
import type { ChatCore } from '../bots/core/core.js';
import { secret } from './bots-config.js';
import type { App } from './wiring.js';

export interface Alerts {
  service: AlertService;
  store: AlertStore;
  token: string;
  close(): Promise<void>;
}

/** Which platforms can put a reply in the thread of another message (DingTalk and WeCom cannot). */
const THREADS: Record<AlertPlatform, boolean> = { slack: true, feishu: true, dingtalk: false, wecom: false };

/** Keys remembered as posted by this process before the set starts over (then posts become edits). */
const REMEMBERED_KEYS = 50_000;

/**
 * A platform's chat core as alert triage posts through it. Triage decides at once whether a key is
 * new; the chat store answers later (it may be shared by replicas), so posts and edits go to the
 * store in the order triage made them, and a key this process has not seen but the store has (a
 * restart, another replica) is edited in place instead of posted again.
 */
export function alertChat(platform: AlertPlatform, core: ChatCore): AlertChat {
  const posted = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  const later = (work: () => Promise<unknown>) => {
    chain = chain.then(work).then(
      () => undefined,
      (e: Error) => core.ctx.logger.warn({ error: e.message }, 'alerts: could not enqueue a chat message'),
    );
    core.track(chain);
  };
  return {
    postOnce(key, channel, message, threadOf) {
      if (posted.has(key)) return false;
      if (posted.size >= REMEMBERED_KEYS) posted.clear();
      posted.add(key);
      later(async () => {
        if (!(await core.postOnce(key, channel, message, threadOf))) await core.edit(channel, key, message);
      });
      return true;
    },
    edit: (channel, key, message) => later(() => core.edit(channel, key, message)),
    threads: THREADS[platform],
  };
}

/** Alert triage on the app's pipeline, posting through the running chat bots; undefined when off. */
export function buildAlerts(
  app: App,
  bots: Partial<Record<AlertPlatform, { core: ChatCore }>>,
): Alerts | undefined {
  const c = app.config.alerts;
  if (!c.enabled) return undefined;
  const token = secret(c.token, c.tokenFile, 'token', 'alerts');
  if (!token) throw new Error('alerts: set token or tokenFile');
  const store = new AlertStore(join(app.config.dataDir, 'alerts.db'));
  const chats: Record<string, AlertChat> = {};
  const cores = ALERT_PLATFORMS.flatMap((p) => {
    const core = bots[p]?.core;
    return core ? [[p, core] as const] : [];
  });
  for (const [platform, core] of cores) chats[platform] = alertChat(platform, core);
  let triageAgent: ReturnType<typeof buildAgent> | undefined;
  const hasModel = app.config.llm.provider !== 'none';
  const service = new AlertService({
    config: c,
    store,
    pipeline: app.pipeline,
    ...(hasModel
      ? {
          agent: (pipeline) => {
            triageAgent ??= buildAgent({
              dataDir: app.config.dataDir,
              ...(app.pgState ? { pgState: app.pgState } : {}),
              llm: app.config.llm,
              agent: app.config.agent,
              pipeline,
              runbooks: app.runbooks,
              logger: app.logger.child({ component: 'alert-triage' }),
            });
            return triageAgent.agent;
          },
        }
      : {}),
    chats,
    logger: app.logger.child({ component: 'alerts' }),
  });
  app.metrics.service.watchDepth('triage', () => store.queue.counts().queued ?? 0);
  // The thread buttons, pressed on the platform that posted them (each core checks who pressed,
  // through its own channel-guarded pipeline); alerts_triage on demand.
  const onPress = alertActionHandler(service, store);
  for (const [, core] of cores) core.onAction('alert_', onPress);
  const backends = app.pipeline.backends;
  backends.alerts = alertTriageAccess(service, store);
  return {
    service,
    store,
    token,
    async close() {
      delete backends.alerts;
      await service.stop();
      triageAgent?.close();
      store.close();
    },
  };
}
