import { z } from 'zod';
import type { HttpBackend } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import type { AmAlert } from './alerts.js';
import { alertmanagerApi, clusterArg, formatLabels, readAnnotations, TOOLSET } from './common.js';
import { formatMatcher, formatMatchers, type Matcher, matchersArg, parseMatchers } from './matchers.js';
import { durationArg, formatDuration, isoTime, parseDuration } from './time.js';

interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

const MAX_SILENCE_SECONDS = 30 * 86_400;
const SILENCE_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const writePermission = { toolset: TOOLSET, verb: 'write', namespaced: false } as const;

/** Firing alerts (silenced or not) that these matchers select, as Alertmanager itself matches them. */
async function matchingAlerts(am: HttpBackend, matchers: Matcher[], signal: AbortSignal): Promise<AmAlert[]> {
  return alertmanagerApi<AmAlert[]>(am, 'alerts', {
    query: { filter: matchers.map(formatMatcher), active: true, silenced: true, inhibited: true },
    signal,
  });
}

function alertList(alerts: AmAlert[], max = 5): string {
  const shown = alerts
    .slice(0, max)
    .map((a) => formatLabels({ __name__: a.labels.alertname ?? '', ...a.labels }, new Set(['alertname'])));
  return `${shown.join(', ')}${alerts.length > max ? ` and ${alerts.length - max} more` : ''}`;
}

async function readSilence(am: HttpBackend, id: string, signal: AbortSignal): Promise<Silence> {
  try {
    return await alertmanagerApi<Silence>(am, `silence/${id}`, { signal });
  } catch (e) {
    if (e instanceof ToolError && e.code === 'not_found') {
      throw new ToolError('not_found', `no silence '${id}' in ${am.label}; list them with silences_list`);
    }
    throw e;
  }
}

function until(iso: string): string {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  return s >= 0 ? `in ${formatDuration(s)}` : `${formatDuration(-s)} ago`;
}

const silencesList = defineTool({
  name: 'silences_list',
  title: 'Silences: List',
  description:
    'List Alertmanager silences: active and pending ones by default (expired with state "expired"), with their matchers, who created them and why, when they end, and how many alerts each silences right now. Call it before creating a silence (one may exist already) or to find the id to expire.',
  input: z.object({
    cluster: clusterArg,
    state: z
      .enum(['active', 'pending', 'expired'])
      .optional()
      .describe('Only silences in this state; default active and pending'),
    createdBy: z.string().min(1).optional(),
  }),
  output: listOutput({
    total: z.number(),
    byState: z.record(z.string(), z.number()),
    items: z.array(
      z.object({
        id: z.string(),
        state: z.string(),
        matchers: z.string(),
        startsAt: z.string(),
        endsAt: z.string(),
        createdBy: z.string(),
        comment: z.string(),
        silencing: z.number().describe('alerts it silences now'),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const am = ctx.backends.alertmanager.pick(args.cluster);
    const [silences, alerts] = await Promise.all([
      alertmanagerApi<Silence[]>(am, 'silences', { signal: ctx.signal }),
      alertmanagerApi<AmAlert[]>(am, 'alerts', { signal: ctx.signal }),
    ]);
    const silencing = new Map<string, number>();
    for (const a of alerts)
      for (const id of a.status.silencedBy) silencing.set(id, (silencing.get(id) ?? 0) + 1);
    const byState: Record<string, number> = {};
    for (const s of silences) byState[s.status.state] = (byState[s.status.state] ?? 0) + 1;
    const order = { active: 0, pending: 1, expired: 2 } as const;
    const kept = silences
      .filter((s) => (args.state ? s.status.state === args.state : s.status.state !== 'expired'))
      .filter((s) => !args.createdBy || s.createdBy === args.createdBy)
      .sort(
        (a, b) =>
          order[a.status.state] - order[b.status.state] ||
          (a.status.state === 'expired'
            ? b.endsAt.localeCompare(a.endsAt)
            : a.endsAt.localeCompare(b.endsAt)),
      );
    return {
      kind: 'list',
      header: `${kept.length} silences${args.state ? ` ${args.state}` : ' active or pending'} in ${am.label} (all states: ${
        Object.entries(byState)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'none'
      }).`,
      columns: ['ID', 'STATE', 'MATCHERS', 'ENDS', 'CREATED BY', 'SILENCING', 'COMMENT'],
      items: kept,
      row: (s: Silence) => [
        s.id,
        s.status.state,
        formatMatchers(s.matchers),
        until(s.endsAt),
        s.createdBy,
        String(silencing.get(s.id) ?? 0),
        s.comment.length > 80 ? `${s.comment.slice(0, 79)}…` : s.comment,
      ],
      toStructured: (s: Silence) => ({
        id: s.id,
        state: s.status.state,
        matchers: formatMatchers(s.matchers),
        startsAt: s.startsAt,
        endsAt: s.endsAt,
        createdBy: s.createdBy,
        comment: s.comment,
        silencing: silencing.get(s.id) ?? 0,
      }),
      narrow: 'give state or createdBy',
      totals: { total: kept.length, byState },
    };
  },
});

const silenceCreate = defineTool({
  name: 'silence_create',
  title: 'Silence: Create',
  description:
    'Silence Alertmanager alerts that match label matchers for a while (e.g. during a known incident or maintenance), with a comment saying why; the silence is recorded as created by you. Needs approval where the policy says so; the ticket shows how many firing alerts the matchers catch now. Prefer narrow matchers (alertname plus namespace) over broad ones.',
  input: z.object({
    cluster: clusterArg,
    matchers: matchersArg.describe(
      'Label matchers, all of which must match: ["alertname=\\"KubePodCrashLooping\\"", "namespace=\\"payments\\""]; also !=, =~ and !~',
    ),
    duration: durationArg
      .refine((d) => (parseDuration(d) ?? 0) >= 60, 'must be at least 1m')
      .refine((d) => (parseDuration(d) ?? 0) <= MAX_SILENCE_SECONDS, 'must be at most 30d')
      .describe('How long the silence lasts from now: 30m, 2h, 1d'),
    comment: z.string().trim().min(3, 'say why (at least 3 characters)').max(1000),
  }),
  output: z.object({
    id: z.string(),
    matchers: z.string(),
    startsAt: z.string(),
    endsAt: z.string(),
    createdBy: z.string(),
    comment: z.string(),
    silencing: z.number().describe('firing alerts the matchers caught when it was created'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  permission: writePermission,
  async preview(args, ctx) {
    const am = ctx.backends.alertmanager.pick(args.cluster);
    const matchers = parseMatchers(args.matchers);
    const alerts = await matchingAlerts(am, matchers, ctx.signal);
    const seconds = parseDuration(args.duration)!;
    const already = alerts.filter((a) => a.status.silencedBy.length).length;
    return (
      `silence alerts matching ${formatMatchers(matchers)} for ${formatDuration(seconds)} (until about ${isoTime(Math.round(Date.now() / 1000 + seconds))}) in ${am.label}, ` +
      `currently matching ${alerts.length} firing alert${alerts.length === 1 ? '' : 's'}${alerts.length ? `: ${alertList(alerts)}` : ''}` +
      `${already ? ` (${already} already silenced)` : ''}; comment: ${JSON.stringify(args.comment)}.`
    );
  },
  async handler(args, ctx) {
    const am = ctx.backends.alertmanager.pick(args.cluster);
    const matchers = parseMatchers(args.matchers);
    const now = Date.now();
    const body = {
      matchers,
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + parseDuration(args.duration)! * 1000).toISOString(),
      createdBy: ctx.principal.id,
      comment: args.comment,
    };
    const created = await alertmanagerApi<{ silenceID: string }>(am, 'silences', {
      method: 'POST',
      body,
      signal: ctx.signal,
    });
    const alerts = await matchingAlerts(am, matchers, ctx.signal).catch(() => [] as AmAlert[]);
    return {
      kind: 'doc',
      text: `Created silence ${created.silenceID} in ${am.label}: ${formatMatchers(matchers)} until ${body.endsAt} (${formatDuration(parseDuration(args.duration)!)}), created by ${body.createdBy}. It matches ${alerts.length} firing alert${alerts.length === 1 ? '' : 's'}${alerts.length ? `: ${alertList(alerts)}` : ''}. Expire it early with silence_expire id=${created.silenceID}.`,
      structured: {
        id: created.silenceID,
        matchers: formatMatchers(matchers),
        startsAt: body.startsAt,
        endsAt: body.endsAt,
        createdBy: body.createdBy,
        comment: body.comment,
        silencing: alerts.length,
      },
    };
  },
});

const silenceExpire = defineTool({
  name: 'silence_expire',
  title: 'Silence: Expire',
  description:
    'End an Alertmanager silence now, so the alerts it muted notify again. Give the id from silences_list. Needs approval where the policy says so; the ticket shows what the silence matches and how many alerts it mutes now. Expiring an already expired silence changes nothing.',
  input: z.object({
    cluster: clusterArg,
    id: z.string().regex(SILENCE_ID, 'must be a silence id (a UUID such as 3f0c…-…), as silences_list shows'),
  }),
  output: z.object({
    id: z.string(),
    matchers: z.string(),
    createdBy: z.string(),
    previousState: z.string(),
    expired: z.boolean().describe('false when it had already expired'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  permission: writePermission,
  async preview(args, ctx) {
    const am = ctx.backends.alertmanager.pick(args.cluster);
    const s = await readSilence(am, args.id, ctx.signal);
    const alerts = await alertmanagerApi<AmAlert[]>(am, 'alerts', { signal: ctx.signal });
    const muted = alerts.filter((a) => a.status.silencedBy.includes(args.id));
    if (s.status.state === 'expired')
      return `silence ${args.id} in ${am.label} has already expired (${until(s.endsAt)}); nothing would change.`;
    return (
      `expire ${s.status.state} silence ${args.id} in ${am.label}: ${formatMatchers(s.matchers)}, created by ${s.createdBy} ` +
      `(comment ${JSON.stringify(s.comment)}), due to end ${until(s.endsAt)}; it mutes ${muted.length} alert${muted.length === 1 ? '' : 's'} now${muted.length ? `: ${alertList(muted)}` : ''}, which would notify again.`
    );
  },
  async handler(args, ctx) {
    const am = ctx.backends.alertmanager.pick(args.cluster);
    const s = await readSilence(am, args.id, ctx.signal);
    const structured = {
      id: s.id,
      matchers: formatMatchers(s.matchers),
      createdBy: s.createdBy,
      previousState: s.status.state,
      expired: s.status.state !== 'expired',
    };
    if (s.status.state === 'expired') {
      return {
        kind: 'doc',
        text: `Silence ${s.id} in ${am.label} had already expired; nothing changed.`,
        structured,
      };
    }
    await am.json(`api/v2/silence/${encodeURIComponent(s.id)}`, { method: 'DELETE', signal: ctx.signal });
    return {
      kind: 'doc',
      text: `Expired silence ${s.id} (${structured.matchers}, created by ${s.createdBy}) in ${am.label}; the alerts it matched notify again.`,
      structured,
    };
  },
});

export const silenceTools: ToolDef[] = [silencesList, silenceCreate, silenceExpire];
