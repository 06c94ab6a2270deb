import { z } from 'zod';
import { CHAT_PLATFORMS, type ChatPlatform } from '../bots/core/platforms.js';
import { matcherSchema } from './matchers.js';

/** The chat platforms an alert route may post to: each one's bot runs on the shared chat core. */
export const ALERT_PLATFORMS = CHAT_PLATFORMS;
export type AlertPlatform = ChatPlatform;

const routeSchema = z.strictObject({
  /** Alertmanager matchers the alert group's common labels must all satisfy; none matches everything. */
  matchers: z.array(matcherSchema).default([]),
  /**
   * Where the group's thread goes: a Slack channel id, a Feishu chat_id, a DingTalk
   * openConversationId, a WeCom userid. Omit to only record the alerts (and triage them) without posting.
   */
  channel: z.string().min(1).optional(),
  /** The chat platform of `channel`; its bot must be configured (`bots.<platform>.enabled: true`). */
  platform: z.enum(ALERT_PLATFORMS).default('slack'),
  /** Triage groups of this route (enrichment, then the model when one is configured). */
  triage: z.boolean().default(true),
});

/** alerts: Alertmanager's webhook at POST /api/alerts under `kubemate serve`; see docs/alerts.md. */
export const alertsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The bearer token Alertmanager sends (http_config.authorization.credentials); best from a file. */
    token: z.string().min(16, 'use a token of at least 16 characters').optional(),
    tokenFile: z.string().min(1).optional(),
    /** First matching route wins; a group no route matches is recorded and triaged, not posted. */
    routes: z.array(routeSchema).default([]),
    triage: z
      .strictObject({
        /** Who triage acts as; bind it to a read-only role (viewer) in the policy file. */
        principal: z.string().min(1).default('alert:triage'),
        /** Triage runs at once (each is several tool calls, then one agent run). */
        concurrency: z.number().int().min(1).max(64).default(2),
        /** Agent (model) runs a minute, over all groups; groups beyond it get the enrichment alone. */
        modelRunsPerMinute: z.number().int().min(0).max(10_000).default(6),
        /** Groups waiting for triage at most; beyond it the least severe wait untriaged (still recorded). */
        queueLimit: z.number().int().min(1).max(1_000_000).default(5000),
      })
      .prefault({}),
    storm: z
      .strictObject({
        /**
         * New groups a minute in one channel before it is a storm: beyond it, new groups get no
         * thread of their own but a line in one storm summary per channel, updated in place.
         */
        newGroupsPerMinute: z.number().int().min(1).max(100_000).default(10),
      })
      .prefault({}),
  })
  .superRefine((a, ctx) => {
    if (a.enabled && !a.token && !a.tokenFile)
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'set token or tokenFile: Alertmanager must authenticate (http_config.authorization)',
      });
  });

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type AlertRoute = AlertsConfig['routes'][number];
