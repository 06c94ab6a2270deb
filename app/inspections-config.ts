import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseChatTarget } from '../bots/core/platforms.js';
import { SCOPES } from '../tools/inspection/check.js';
import { parseCron } from '../tools/inspection/cron.js';

const pathSchema = z
  .string()
  .min(1)
  .transform((p) => (p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p));

/** One scheduled inspection: what to inspect, when (cron in a time zone) and where to post the summary. */
export const planSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, e.g. daily-prod'),
    cron: z
      .string()
      .min(9)
      .describe('five fields: minute hour day-of-month month day-of-week, e.g. "0 8 * * 1-5"'),
    timeZone: z.string().min(1).default('UTC'),
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    /** Clusters (kubeconfig contexts) to inspect; default the default cluster. */
    clusters: z.array(z.string().min(1)).min(1).optional(),
    namespace: z.string().min(1).optional(),
    /**
     * Chat places the summary and the HTML report are posted to, as `<platform>:<id>`: `slack:C0123ABCD`,
     * `feishu:oc_…`, `dingtalk:cid…==` (or `dingtalk:dm:<staffId>`), `wecom:<userid>`; each platform's
     * bot must be configured.
     */
    channels: z.array(z.string().min(1)).default([]),
  })
  .superRefine((p, ctx) => {
    p.channels.forEach((channel, i) => {
      const target = parseChatTarget(channel);
      if ('error' in target)
        ctx.addIssue({ code: 'custom', path: ['channels', i], message: `plan '${p.name}': ${target.error}` });
    });
    try {
      // Parsing is not enough: "0 0 30 2 *" parses and never fires.
      parseCron(p.cron, p.timeZone).next(Date.now());
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: (e as Error).message });
    }
  });

export type Plan = z.infer<typeof planSchema>;

export const inspectionsConfigSchema = z
  .strictObject({
    /** A folder of your own checks (YAML), added to the shipped catalog; check it with `kubemate inspect checks validate DIR`. */
    checksDir: pathSchema.optional(),
    /** Reports older than this are deleted. */
    retentionDays: z.number().int().min(1).max(3650).default(90),
    /** At most this many reports of one kind (cluster, namespace, scopes) are kept. */
    keepPerKind: z.number().int().min(1).max(100_000).default(400),
    /** A run that starts later than this after its due time is reported missed instead (the server was down). */
    missedAfterMinutes: z.number().int().min(1).max(1440).default(15),
    /** `agent`: the model writes the summary from the findings (citing them by id) when one answers; `template`: never ask a model. */
    summary: z.enum(['agent', 'template']).default('agent'),
    plans: z.array(planSchema).default([]),
    /** Who scheduled runs act as: the policy must let this principal read the inspection tools. */
    principal: z
      .strictObject({ id: z.string().min(1), groups: z.array(z.string().min(1)).default([]) })
      .default({ id: 'kubemate:scheduler', groups: ['scheduler'] }),
    /** The address people reach `kubemate serve` at, for report links in chat (e.g. https://kubemate.example.com). */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((c) => new Set(c.plans.map((p) => p.name)).size === c.plans.length, 'plan names must be unique');
