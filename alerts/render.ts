import type { MessageAction } from '../bots/core/types.js';
import { defaultRedactor } from '../tools/core/redact.js';
import type { AlertRecord, GroupRecord, TriageRecord } from './store.js';

/** Annotations are free text from whoever wrote the rule: a password in a DSN is masked before chat. */
const shown = (text: string, max: number) => defaultRedactor(text.slice(0, max));

const SEVERITY = ['CRITICAL', 'ERROR', 'WARNING', 'ALERT', 'INFO'];
export const severityName = (group: GroupRecord) =>
  group.labels.severity ? group.labels.severity.toUpperCase() : (SEVERITY[group.severityRank] ?? 'ALERT');

const time = (iso: string | number) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};

const WORKLOAD_KEYS = ['deployment', 'statefulset', 'daemonset', 'pod', 'job_name', 'node', 'instance'];

/** The objects the alerts name (`deployment/api`, `pod/api-1`), at most `max`. */
export function affected(alerts: AlertRecord[], max = 5): string[] {
  const out = new Set<string>();
  for (const a of alerts) {
    const key = WORKLOAD_KEYS.find((k) => a.labels[k]);
    if (key) out.add(`${a.labels.namespace ? `${a.labels.namespace}/` : ''}${key}/${a.labels[key]}`);
  }
  const list = [...out];
  return list.length > max ? [...list.slice(0, max), `and ${list.length - max} more`] : list;
}

/** The thread's root: a live summary of the group, updated in place as alerts fire and resolve. */
export function rootText(
  group: GroupRecord,
  alerts: AlertRecord[],
  tally: { firing: number; resolved: number },
  triage?: TriageRecord,
): string {
  const name = group.labels.alertname ?? alerts[0]?.labels.alertname ?? 'Alert group';
  const state = tally.firing > 0 ? 'FIRING' : 'RESOLVED';
  const since = alerts.length
    ? alerts.map((a) => a.startsAt).sort()[0]!
    : new Date(group.firstAt).toISOString();
  const scope = group.labels.namespace ? ` in ${group.labels.namespace}` : '';
  const lines = [
    `[${state}] ${severityName(group)} ${name}${scope}`,
    `${tally.firing} firing, ${tally.resolved} resolved · since ${time(since)}`,
  ];
  const objects = affected(alerts);
  if (objects.length) lines.push(`Affected: ${objects.join(', ')}`);
  const summary = alerts.find((a) => a.annotations.summary)?.annotations.summary;
  if (summary) lines.push(`Summary: ${shown(summary, 300)}`);
  const triageState = !triage
    ? 'not triaged'
    : triage.state === 'done'
      ? `triaged${triage.model ? ' (diagnosis below)' : ' (enrichment below)'}`
      : triage.state === 'failed'
        ? 'triage failed'
        : triage.state === 'running'
          ? 'triage running'
          : 'triage queued';
  lines.push(`Group ${group.id} · ${triageState}${group.ackBy ? ` · acknowledged by ${group.ackBy}` : ''}`);
  return lines.join('\n');
}

/**
 * The group a post in a channel without threads is about: its id and what fired where, so that
 * the lines of several groups sharing one timeline can be told apart.
 */
export function groupTag(group: GroupRecord): string {
  const name = group.labels.alertname ? ` ${group.labels.alertname.slice(0, 120)}` : '';
  const scope = group.labels.namespace ? ` in ${group.labels.namespace.slice(0, 63)}` : '';
  return `[${group.id}${name}${scope}]`;
}

/** One alert's change, as a line in the thread. */
export function alertLine(a: AlertRecord, kind: 'fired' | 'resolved'): string {
  const what = a.annotations.summary ?? a.annotations.description ?? a.labels.alertname ?? a.fingerprint;
  const where = affected([a], 1)[0];
  return kind === 'fired'
    ? `Firing since ${time(a.startsAt)}: ${shown(what, 400)}${where ? ` (${where})` : ''}`
    : `Resolved${a.endsAt && !a.endsAt.startsWith('0001') ? ` at ${time(a.endsAt)}` : ''}: ${shown(what, 400)}${where ? ` (${where})` : ''}`;
}

/** The triage reply in the thread: the model's diagnosis when there is one, and the evidence it rests on. */
export function triageText(result: {
  enrichment: string;
  diagnosis?: string;
  runbooks: string[];
  note?: string;
}): string {
  const parts: string[] = [];
  if (result.diagnosis) parts.push(`Diagnosis:\n${result.diagnosis}`);
  else parts.push(`Enrichment${result.note ? ` (${result.note})` : ''}:`);
  parts.push(result.diagnosis ? `Evidence read:\n${result.enrichment}` : result.enrichment);
  if (result.runbooks.length) parts.push(`Runbooks: ${result.runbooks.join('; ')}`);
  parts.push('Kubemate only reads during triage; any change needs a person to ask for it and an approval.');
  return parts.join('\n\n');
}

/** One storm summary per channel: new groups beyond the storm threshold, by alert name and namespace. */
export function stormText(
  totals: { groups: number; firing: number; triaged: number },
  rows: Array<{ alertname: string; namespace: string; groups: number; firing: number; triaged: number }>,
  since: number,
): string {
  const listed = rows.reduce((n, r) => n + r.groups, 0);
  const lines = [
    `[STORM] ${totals.groups} more alert groups since ${time(since)} (${totals.firing} firing, ${totals.triaged} triaged), listed here instead of one thread each. Every alert is recorded and triaged, the most severe first; alerts_triage shows any group.`,
    ...rows.map(
      (r) =>
        `• ${r.alertname} in ${r.namespace}: ${r.groups} group${r.groups === 1 ? '' : 's'}, ${r.firing} firing, ${r.triaged} triaged`,
    ),
    ...(listed < totals.groups
      ? [`… and ${totals.groups - listed} more groups of other alerts and namespaces`]
      : []),
  ];
  return lines.join('\n');
}

/** The buttons of a group's thread; silencing and taking a group only while it fires. */
export const ALERT_ACTION = {
  investigate: 'alert_investigate',
  silence1h: 'alert_silence_1h',
  silence4h: 'alert_silence_4h',
  ack: 'alert_ack',
  runbook: 'alert_runbook',
} as const;

export function alertActions(groupId: string, firing: boolean): MessageAction[] {
  return [
    { action: ALERT_ACTION.investigate, value: groupId, label: 'Investigate further', style: 'primary' },
    ...(firing
      ? [
          { action: ALERT_ACTION.silence1h, value: groupId, label: 'Silence 1h' },
          { action: ALERT_ACTION.silence4h, value: groupId, label: 'Silence 4h' },
          { action: ALERT_ACTION.ack, value: groupId, label: 'Acknowledge' },
        ]
      : []),
    { action: ALERT_ACTION.runbook, value: groupId, label: 'Runbook' },
  ];
}
