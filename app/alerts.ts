import { join } from 'node:path';
import { buildAgent } from '../agent/index.js';
import { alertTriageAccess } from '../alerts/access.js';
import { alertActionHandler } from '../alerts/actions.js';
import { ALERT_PLATFORMS, type AlertPlatform } from '../alerts/config.js';
import { type AlertChat, AlertService } from '../alerts/service.js';
import { type AlertStore, openAlertStore } from '../alerts/store.js';
import type { ChatCore } from '../bots/core/core.js';
import { PLATFORM_TRAITS } from '../bots/core/platforms.js';
import { secret } from './bots-config.js';
import type { App } from './wiring.js';

export interface Alerts {
  service: AlertService;
  store: AlertStore;
  token: string;
  close(): Promise<void>;
}

/** A platform's chat core as alert triage posts through it. */
export function alertChat(platform: AlertPlatform, core: ChatCore): AlertChat {
  return {
    postOnce: (key, channel, message, threadOf) => core.postOnce(key, channel, message, threadOf),
    edit: (channel, key, message) => core.edit(channel, key, message),
    threads: PLATFORM_TRAITS[platform].threads,
  };
}

/**
 * Longer than a triage can run with this configuration: its enrichment reads (a few dozen tool calls
 * at most) and one agent run of `agent.maxSteps` model calls and tool calls, each bounded by its
 * timeout, plus a margin; at least 15 minutes. A triage still running after this on PostgreSQL lost
 * its replica, and another takes it back.
 */
export function triageTakenBackAfterMs(config: App['config']): number {
  const tool = config.output.timeoutSeconds * 1000;
  const model = config.llm.timeoutSeconds * 1000;
  const bound = 30 * tool + config.agent.maxSteps * (model + tool) + 5 * 60_000;
  return Math.max(15 * 60_000, bound);
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
  const store = openAlertStore(app.pgState, join(app.config.dataDir, 'alerts.db'));
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
    // Replicas share the queue: a triage is taken back only from a replica that stopped mid-run.
    ...(app.pgState ? { sharedRequeueAfterMs: triageTakenBackAfterMs(app.config) } : {}),
  });
  app.metrics.service.watchDepth('triage', async () => (await store.queue.counts()).queued ?? 0);
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
