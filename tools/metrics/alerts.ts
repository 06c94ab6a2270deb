import { z } from 'zod';
import type { HttpBackend } from '../clients/http-backend.js';
import { ToolError } from '../core/errors.js';
import { defineTool, listOutput, type ToolContext, type ToolDef } from '../core/types.js';
import {
  alertmanagerApi,
  clusterArg,
  formatLabels,
  type Labels,
  promApi,
  readAnnotations,
  readPermission,
} from './common.js';
import { formatDuration } from './time.js';

export type AlertState = 'firing' | 'pending' | 'silenced' | 'inhibited';

export interface Alert {
  labels: Labels;
  state: AlertState;
  since: string;
  summary: string;
  value?: string;
  silencedBy?: string[];
  inhibitedBy?: string[];
}

interface PromAlert {
  labels: Labels;
  annotations: Record<string, string>;
  state: 'firing' | 'pending' | 'inactive';
  activeAt: string;
  value: string;
}

export interface AmAlert {
  labels: Labels;
  annotations: Record<string, string>;
  startsAt: string;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

const SEVERITY_RANK: Record<string, number> = {
  critical: 0,
  error: 1,
  high: 1,
  warning: 2,
  medium: 3,
  info: 4,
  low: 5,
};
const severityRank = (s: string) => SEVERITY_RANK[s.toLowerCase()] ?? 6;

function summaryOf(annotations: Record<string, string>): string {
  const text = annotations.summary ?? annotations.description ?? annotations.message ?? '';
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** Calls one backend; a missing or failing one becomes a note, so the other can still answer. */
async function attempt<T>(
  pick: () => HttpBackend,
  call: (b: HttpBackend) => Promise<T>,
): Promise<{ value?: T; error?: ToolError; label?: string }> {
  let backend: HttpBackend;
  try {
    backend = pick();
  } catch (e) {
    return { error: e as ToolError };
  }
  try {
    return { value: await call(backend), label: backend.label };
  } catch (e) {
    if (e instanceof ToolError) return { error: e, label: backend.label };
    throw e;
  }
}

/** Prometheus' rule alerts (firing and pending) merged with Alertmanager's (silenced and inhibited state). */
export async function collectAlerts(
  ctx: ToolContext,
  cluster: string | undefined,
): Promise<{ alerts: Alert[]; notes: string[]; sources: string[] }> {
  const [prom, am] = await Promise.all([
    attempt(
      () => ctx.backends.prometheus.pick(cluster),
      async (b) => (await promApi<{ alerts: PromAlert[] }>(b, 'api/v1/alerts', {}, ctx.signal)).data.alerts,
    ),
    attempt(
      () => ctx.backends.alertmanager.pick(cluster),
      (b) => alertmanagerApi<AmAlert[]>(b, 'alerts', { signal: ctx.signal }),
    ),
  ]);
  if (prom.error && am.error) throw prom.error;
  const notes: string[] = [];
  if (prom.error) notes.push(`pending alerts unknown: ${prom.error.message}`);
  if (am.error) notes.push(`silenced/inhibited state unknown: ${am.error.message}`);

  const byKey = new Map<string, Alert>();
  for (const a of prom.value ?? []) {
    if (a.state === 'inactive') continue;
    byKey.set(key(a.labels), {
      labels: a.labels,
      state: a.state,
      since: a.activeAt,
      summary: summaryOf(a.annotations),
      value: a.value,
    });
  }
  // Alertmanager adds Prometheus' external labels: leave out those no rule alert carries.
  const promKeys = new Set((prom.value ?? []).flatMap((a) => Object.keys(a.labels)));
  for (const a of am.value ?? []) {
    const trimmed = prom.value
      ? Object.fromEntries(Object.entries(a.labels).filter(([k]) => promKeys.has(k)))
      : a.labels;
    const k = byKey.has(key(a.labels)) ? key(a.labels) : key(trimmed);
    const known = byKey.get(k);
    const state: AlertState = a.status.silencedBy.length
      ? 'silenced'
      : a.status.inhibitedBy.length
        ? 'inhibited'
        : 'firing';
    byKey.set(k, {
      labels: known?.labels ?? a.labels,
      state,
      since: known?.since ?? a.startsAt,
      summary: known?.summary || summaryOf(a.annotations),
      ...(known?.value !== undefined ? { value: known.value } : {}),
      ...(a.status.silencedBy.length ? { silencedBy: a.status.silencedBy } : {}),
      ...(a.status.inhibitedBy.length ? { inhibitedBy: a.status.inhibitedBy } : {}),
    });
  }
  const sources: string[] = [];
  if (prom.label && !prom.error) sources.push(prom.label);
  if (am.label && !am.error) sources.push(am.label);
  return { alerts: [...byKey.values()], notes, sources };
}

interface Group {
  alertname: string;
  severity: string;
  namespace: string;
  counts: Record<AlertState, number>;
  since: string;
  summary: string;
  alerts: Alert[];
}

const GROUP_LABELS = new Set(['alertname', 'severity', 'namespace']);

function groupAlerts(alerts: Alert[]): Group[] {
  const groups = new Map<string, Group>();
  for (const a of alerts) {
    const g0 = {
      alertname: a.labels.alertname ?? '',
      severity: a.labels.severity ?? '',
      namespace: a.labels.namespace ?? '',
    };
    const k = `${g0.alertname}\u0000${g0.severity}\u0000${g0.namespace}`;
    let g = groups.get(k);
    if (!g) {
      g = {
        ...g0,
        counts: { firing: 0, pending: 0, silenced: 0, inhibited: 0 },
        since: a.since,
        summary: a.summary,
        alerts: [],
      };
      groups.set(k, g);
    }
    g.counts[a.state]++;
    if (a.since < g.since) g.since = a.since;
    g.alerts.push(a);
  }
  const tier = (g: Group) => (g.counts.firing ? 0 : g.counts.pending ? 1 : 2);
  return [...groups.values()].sort(
    (a, b) =>
      tier(a) - tier(b) ||
      severityRank(a.severity) - severityRank(b.severity) ||
      b.counts.firing - a.counts.firing ||
      a.alertname.localeCompare(b.alertname) ||
      a.namespace.localeCompare(b.namespace),
  );
}

function distinguishing(a: Alert): Labels {
  return Object.fromEntries(Object.entries(a.labels).filter(([k]) => !GROUP_LABELS.has(k)));
}

const alertsList = defineTool({
  name: 'alerts_list',
  title: 'Alerts: List',
  description:
    'List the alerts that are firing or pending now, from Prometheus\' alerting rules and Alertmanager together, grouped by alert name, severity and namespace with counts of firing, pending, silenced and inhibited alerts; unsilenced firing critical alerts first. Call it first when asked "what is wrong" or "what is alerting", and before creating a silence.',
  input: z.object({
    cluster: clusterArg,
    state: z
      .enum(['firing', 'pending', 'silenced', 'inhibited'])
      .optional()
      .describe('Only alerts in this state'),
    alertname: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    severity: z.string().min(1).optional(),
  }),
  output: listOutput({
    total: z.number().describe('alerts after the filters'),
    byState: z.object({
      firing: z.number(),
      pending: z.number(),
      silenced: z.number(),
      inhibited: z.number(),
    }),
    groups: z.number(),
    sources: z.array(z.string()),
    notes: z.array(z.string()),
    items: z.array(
      z.object({
        alertname: z.string(),
        severity: z.string(),
        namespace: z.string(),
        firing: z.number(),
        pending: z.number(),
        silenced: z.number(),
        inhibited: z.number(),
        since: z.string(),
        summary: z.string(),
        alerts: z.array(
          z.object({
            labels: z
              .record(z.string(), z.string())
              .describe('labels besides alertname, severity and namespace'),
            state: z.enum(['firing', 'pending', 'silenced', 'inhibited']),
            since: z.string(),
            value: z.string().optional(),
            silencedBy: z.array(z.string()).optional(),
            inhibitedBy: z.array(z.string()).optional(),
          }),
        ),
        alertsOmitted: z.number(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const { alerts, notes, sources } = await collectAlerts(ctx, args.cluster);
    const kept = alerts.filter(
      (a) =>
        (!args.state || a.state === args.state) &&
        (!args.alertname || a.labels.alertname === args.alertname) &&
        (!args.namespace || a.labels.namespace === args.namespace) &&
        (!args.severity || a.labels.severity === args.severity),
    );
    const byState = { firing: 0, pending: 0, silenced: 0, inhibited: 0 };
    for (const a of kept) byState[a.state]++;
    const groups = groupAlerts(kept);
    const now = Date.now();
    const age = (iso: string) => formatDuration(Math.max(0, (now - Date.parse(iso)) / 1000));
    const header =
      kept.length === 0
        ? `No alerts${args.state ? ` in state ${args.state}` : ' firing or pending'}${alerts.length ? ` match the filters (${alerts.length} in all)` : ''} (${sources.join(', ')}).`
        : `${kept.length} alerts in ${groups.length} groups: ${byState.firing} firing, ${byState.pending} pending, ${byState.silenced} silenced, ${byState.inhibited} inhibited (${sources.join(', ')}).`;
    return {
      kind: 'list',
      status: kept.length ? 'success' : 'no_data',
      header: [header, ...notes.map((n) => `Note: ${n}`)].join('\n'),
      columns: [
        'ALERTNAME',
        'SEVERITY',
        'NAMESPACE',
        'FIRING',
        'PENDING',
        'SILENCED',
        'INHIBITED',
        'FOR',
        'ALERTS',
        'SUMMARY',
      ],
      items: groups,
      row: (g: Group) => [
        g.alertname,
        g.severity || '-',
        g.namespace || '-',
        String(g.counts.firing),
        String(g.counts.pending),
        String(g.counts.silenced),
        String(g.counts.inhibited),
        age(g.since),
        g.alerts
          .slice(0, 2)
          .map((a) => formatLabels(distinguishing(a)))
          .join(' ')
          .concat(g.alerts.length > 2 ? ` +${g.alerts.length - 2}` : ''),
        g.summary,
      ],
      toStructured: (g: Group) => ({
        alertname: g.alertname,
        severity: g.severity,
        namespace: g.namespace,
        ...g.counts,
        since: g.since,
        summary: g.summary,
        alerts: g.alerts.slice(0, 10).map((a) => ({
          labels: distinguishing(a),
          state: a.state,
          since: a.since,
          ...(a.value !== undefined ? { value: a.value } : {}),
          ...(a.silencedBy ? { silencedBy: a.silencedBy } : {}),
          ...(a.inhibitedBy ? { inhibitedBy: a.inhibitedBy } : {}),
        })),
        alertsOmitted: Math.max(0, g.alerts.length - 10),
      }),
      narrow: 'give state, alertname, namespace or severity',
      totals: { total: kept.length, byState, groups: groups.length, sources, notes },
    };
  },
});

export const alertTools: ToolDef[] = [alertsList];
