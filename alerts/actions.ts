import type { ActionHandler, ActionRequest } from '../bots/core/core.js';
import type { Decision } from '../policies/types.js';
import { ToolRegistry } from '../tools/core/registry.js';
import { ALERT_ACTION, groupTag } from './render.js';
import { type AlertService, triageQuestion } from './service.js';
import type { AlertStore, GroupRecord } from './store.js';

/** Whoever may call this tool may act on alerts from their threads (take one, silence it as themselves…). */
const GATE_TOOL = 'alerts_triage';
/** Alertmanager silences take at most this many matchers (silence_create's own limit). */
const MAX_MATCHERS = 20;

const quote = (v: string) => `"${v.replace(/[\\"]/g, '\\$&')}"`;

/**
 * A silence for exactly this group: an equality matcher per label the group's alerts share
 * (alertname first), as silence_create takes them.
 */
export function silenceMatchers(labels: Record<string, string>): string[] {
  const names = Object.keys(labels)
    .filter((k) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) && labels[k] !== '')
    .sort((a, b) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)));
  return names.slice(0, MAX_MATCHERS).map((k) => `${k}=${quote(labels[k]!)}`);
}

const INVESTIGATE =
  'Investigate it further: read what you need with read-only tools, name the most likely cause with the evidence, cite the runbook sections that apply, and say what could be done next.';

/**
 * The buttons of an alert thread, pressed in chat: each acts as the person who pressed it, and only
 * for people the policy lets read alerts (a refusal is audited). Silences go through silence_create,
 * so the policy's approval applies and the card for it lands in the thread; Investigate continues
 * the agent in the thread as the presser; Acknowledge records who took the group, audited, and shows
 * it in the live summary; Runbook searches the runbooks as the presser.
 */
export function alertActionHandler(service: AlertService, store: AlertStore): ActionHandler {
  return async (press) => {
    // Outside a thread (a platform without threads) each answer names the group it is about.
    const pressed = press.place.thread ? undefined : await store.groupById(press.value);
    const r: ActionRequest = pressed
      ? { ...press, say: (text) => press.say(`${groupTag(pressed)}\n${text}`) }
      : press;
    const decision = gate(r);
    const audited = { group: r.value };
    if (decision.effect !== 'allow') {
      await r.pipeline.recordDecision(r.asker.principal, `chat:${r.action}`, audited, decision, 'denied');
      r.say(
        `${r.asker.person}: you may not act on alerts (${decision.effect === 'deny' ? decision.reason : `${GATE_TOOL} needs an approval for you`}); nothing was done.`,
      );
      return;
    }
    const group = await store.groupById(r.value);
    if (!group) {
      r.say(`There is no alert group ${r.value} any more; nothing was done.`);
      return;
    }
    switch (r.action) {
      case ALERT_ACTION.ack:
        return acknowledge(r, service, group, decision);
      case ALERT_ACTION.silence1h:
        return silence(r, group, '1h');
      case ALERT_ACTION.silence4h:
        return silence(r, group, '4h');
      case ALERT_ACTION.investigate:
        return r.ask(triageQuestion(group, await store.alerts(group.groupKey), INVESTIGATE));
      case ALERT_ACTION.runbook:
        return runbook(r, group, store);
      default:
        r.say(`${r.asker.person}: that button does nothing here any more.`);
    }
  };
}

/** The presser's decision on the gate tool, as the policy makes it for any call. */
function gate(r: ActionRequest): Decision {
  const tool = r.pipeline.registry.find(GATE_TOOL);
  if (!tool)
    return { effect: 'deny', reason: `${GATE_TOOL} is not in the tool registry`, rule: 'alerts-unavailable' };
  return r.pipeline.policy.decide(r.asker.principal, ToolRegistry.facts(tool), { group: r.value });
}

async function acknowledge(r: ActionRequest, service: AlertService, group: GroupRecord, decision: Decision) {
  const was = group.ackBy;
  await service.acknowledge(group.id, r.asker.person);
  await r.pipeline.recordDecision(
    r.asker.principal,
    `chat:${r.action}`,
    { group: group.id, groupKey: group.groupKey, episode: group.episode },
    decision,
    'success',
  );
  r.say(
    `${r.asker.person} took this alert group${was && was !== r.asker.person ? ` (over from ${was})` : ''}.`,
  );
}

async function silence(r: ActionRequest, group: GroupRecord, duration: '1h' | '4h') {
  // The silence goes to the Alertmanager of the alert's own cluster: its `cluster` label when that
  // names a configured cluster; with one Alertmanager there is no choice to get wrong.
  const named = group.labels.cluster;
  const cluster = named && r.pipeline.backends.kube.names().includes(named) ? named : undefined;
  if (!cluster && (r.pipeline.backends.alertmanager?.names.length ?? 0) > 1) {
    r.say(
      `${r.asker.person}'s silence was not made: this alert group names no configured cluster${named ? ` (cluster="${named}")` : ''}, and more than one Alertmanager is configured. Call silence_create naming the Alertmanager.`,
    );
    return;
  }
  const result = await r.pipeline.invoke(
    'silence_create',
    {
      ...(cluster ? { cluster } : {}),
      matchers: silenceMatchers(group.labels),
      duration,
      comment: `Silenced for ${duration} from the chat thread of alert group ${group.id} by ${r.asker.person}`,
    },
    r.asker.principal,
  );
  if (result.status === 'approval_required' && result.ticket) {
    r.say(`${r.asker.person} asked to silence this alert group for ${duration}; it waits for an approval.`);
    r.card(result.ticket.id);
    return;
  }
  r.say(result.isError ? `${r.asker.person}'s silence was refused: ${result.text}` : result.text);
}

async function runbook(r: ActionRequest, group: GroupRecord, store: AlertStore) {
  const first = (await store.alerts(group.groupKey))[0];
  const alertname = group.labels.alertname ?? first?.labels.alertname ?? '';
  const summary = first?.annotations.summary ?? first?.annotations.description ?? '';
  const query = `${alertname} ${summary}`.trim().slice(0, 500) || 'alert';
  const result = await r.pipeline.invoke('runbooks_search', { query, limit: 3 }, r.asker.principal);
  r.say(result.isError ? `The runbooks could not be searched: ${result.text}` : result.text);
}
