import { join } from 'node:path';
import { buildAgent } from '../agent/index.js';
import { type AlertChat, AlertService } from '../alerts/service.js';
import { AlertStore } from '../alerts/store.js';
import type { SlackBot } from '../bots/slack/bot.js';
import { secret } from './bots-config.js';
import type { App } from './wiring.js';

export interface Alerts {
  service: AlertService;
  store: AlertStore;
  token: string;
  close(): Promise<void>;
}

/** Alert triage on the app's pipeline, posting through the running chat bots; undefined when off. */
export function buildAlerts(app: App, bots: { slack?: SlackBot }): Alerts | undefined {
  const c = app.config.alerts;
  if (!c.enabled) return undefined;
  const token = secret(c.token, c.tokenFile, 'token', 'alerts');
  if (!token) throw new Error('alerts: set token or tokenFile');
  const store = new AlertStore(join(app.config.dataDir, 'alerts.db'));
  const chats: Record<string, AlertChat> = {};
  if (bots.slack) chats.slack = bots.slack.core;
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
  app.metrics.service.watchDepth('triage', () => store.triageCounts().queued ?? 0);
  return {
    service,
    store,
    token,
    async close() {
      await service.stop();
      triageAgent?.close();
      store.close();
    },
  };
}
