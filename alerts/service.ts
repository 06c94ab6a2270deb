import { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent } from '../agent/index.js';
import { ChannelGuard } from '../bots/core/channel-guard.js';
import type { OutMessage } from '../bots/core/types.js';
import type { Principal } from '../policies/types.js';
import type { AlertRef, AlertTriageResult } from '../tools/clients/alerts.js';
import { ToolError } from '../tools/core/errors.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import type { AlertRoute, AlertsConfig } from './config.js';
import { type Enrichment, enrich, targetsOf } from './enrich.js';
import { matchesAll } from './matchers.js';
import {
  alertActions,
  alertLine,
  groupTag,
  rootText,
  severityName,
  stormText,
  triageText,
} from './render.js';
import { type AlertRecord, type AlertStore, type GroupRecord, groupIdOf, type Ingested } from './store.js';
import type { AlertmanagerWebhook } from './webhook.js';

/** What alert triage needs of a chat platform: posts it makes on its own, once per key, and edits. */
export interface AlertChat {
  postOnce(key: string, channel: string, message: OutMessage, threadOf?: string): boolean | Promise<boolean>;
  edit(channel: string, key: string, message: OutMessage): void | Promise<void>;
  /**
   * Whether a post can go into the thread of another (Slack, Feishu). Without threads (DingTalk,
   * WeCom) the lines and the triage go into the channel, each naming its alert group.
   */
  threads: boolean;
}

export interface AlertServiceOptions {
  config: AlertsConfig;
  store: AlertStore;
  pipeline: ToolPipeline;
  /** The agent for diagnoses; undefined when no model is configured (enrichment alone is posted). */
  agent?: (pipeline: ToolPipeline) => Agent;
  /** Chat platforms by name (`slack`, `feishu`, `dingtalk`, `wecom`); a route to one not running only records. */
  chats: Record<string, AlertChat>;
  logger: Logger;
  now?: () => number;
  /** How long summary edits are gathered before one edit per message goes out. */
  editDelayMs?: number;
  /**
   * Replicas share the triage queue (PostgreSQL): a triage is taken back from a replica only after
   * running this long (one that died mid-triage), looked for every minute, never at start. Unset
   * (one process): every running triage is queued again at start.
   */
  sharedRequeueAfterMs?: number;
}

const STORM_WINDOW_MS = 60_000;
/** A storm ends after this long without a new storm group; the next one gets a new summary. */
const STORM_QUIET_MS = 10 * 60_000;

/** Alerts of a group that get a line of their own; the summary above counts the rest. */
const LINES_PER_GROUP = 20;
/** After a restart, groups changed within this long are presented again (only missing posts go out). */
const REPRESENT_MS = 24 * 3600_000;

/** The thread of a group's episode: a group that resolved and fires again gets a new one. */
export const rootKey = (g: GroupRecord) => `al_${g.id}${g.episode ? `_${g.episode}` : ''}`;

/** Alert names as Prometheus allows them, and the severities the question may name. */
const ALERT_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$/;
const SEVERITIES = new Set(['critical', 'error', 'warning', 'alert', 'info']);

/**
 * Alertmanager's alerts, answered in chat. A delivery is stored first (nothing acknowledged is
 * lost), then presented: one thread per alert group whose root is a live summary, a line per alert
 * that fires or resolves, posted once per key (a repeated delivery posts nothing), and triage: a
 * deterministic enrichment read through the pipeline as the triage principal, then a diagnosis by
 * the agent within a model budget, read-only. In a storm, new groups beyond the channel's rate get a
 * line in one storm summary instead of a thread, and the most severe are triaged first.
 */
export class AlertService {
  private readonly now: () => number;
  private readonly principal: Principal;
  private readonly guard: ChannelGuard;
  private readonly running = new Set<Promise<void>>();
  private readonly dirty = new Map<string, () => Promise<void>>();
  private editTimer: NodeJS.Timeout | undefined;
  private requeueTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private pumping = false;
  private pumpAgain = false;
  private triaging = 0;
  /** Set while a triage runs: its agent may not start another (alerts_triage is read-only, and would recurse). */
  private readonly inTriage = new AsyncLocalStorage<true>();
  private readonly watchers = new Set<(groupId?: string) => void>();

  constructor(private readonly o: AlertServiceOptions) {
    this.now = o.now ?? Date.now;
    this.principal = { id: o.config.triage.principal, groups: [], source: 'alert' };
    this.guard = new ChannelGuard(o.pipeline);
  }

  /** After a restart: triage that was running is queued again, and the summaries are redrawn. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.requeueStale();
    const every = this.o.sharedRequeueAfterMs;
    if (every !== undefined) {
      this.requeueTimer = setInterval(
        () =>
          void this.requeueStale()
            .then(() => this.pump())
            .catch((e) => this.o.logger.warn({ error: (e as Error).message }, 'alert triage requeue failed')),
        Math.max(1000, Math.min(every, 60_000)),
      );
      this.requeueTimer.unref();
    }
    // What a stop may have cut short between storing a delivery and presenting it: every post is
    // keyed, so presenting again posts only what is missing, and edits nothing.
    for (const g of await this.o.store.recentGroups(this.now() - REPRESENT_MS, 500)) {
      const alerts = await this.o.store.alerts(g.groupKey);
      const fired = alerts.filter((x) => x.status === 'firing');
      const resolved = alerts.filter((x) => x.status === 'resolved');
      await this.present(g, { group: g, isNew: false, refired: false, fired, resolved }, 'recover');
    }
    for (const g of await this.o.store.untriaged())
      await this.o.store.queue.enqueue(g.groupKey, g.severityRank, this.o.config.triage.queueLimit);
    this.pump();
  }

  /** Running triage whose process is gone goes back to the queue (see `sharedRequeueAfterMs`). */
  private async requeueStale(): Promise<void> {
    const after = this.o.sharedRequeueAfterMs;
    const requeued = await this.o.store.queue.requeueRunning(
      after === undefined ? Number.MAX_SAFE_INTEGER : Date.now() - after,
    );
    if (requeued)
      this.o.logger.info(
        { requeued },
        after === undefined
          ? 'alert triage resumed after a restart'
          : 'alert triage resumed: it had been running longer than a triage may',
      );
  }

  async stop(): Promise<void> {
    if (this.requeueTimer) clearInterval(this.requeueTimer);
    this.requeueTimer = undefined;
    this.stopped = true;
    await this.settled();
    await this.flushEdits();
  }

  /** Resolves when no triage is running or due, and summary edits went out (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    await this.flushEdits();
  }

  /** `changed()`: a group was added (or came back); `changed(id)`: a group's state or triage changed. */
  watch(changed: (groupId?: string) => void): () => void {
    this.watchers.add(changed);
    return () => this.watchers.delete(changed);
  }

  private changed(groupId?: string): void {
    for (const w of this.watchers) {
      try {
        w(groupId);
      } catch (e) {
        this.o.logger.warn({ error: (e as Error).message }, 'alert change listener failed');
      }
    }
  }

  route(labels: Record<string, string>): AlertRoute | undefined {
    return this.o.config.routes.find((r) => matchesAll(r.matchers, labels));
  }

  /** Stores and presents one delivery; the triage it needs runs after. */
  async receive(payload: AlertmanagerWebhook): Promise<Ingested> {
    const routeOf = new Map<string, AlertRoute | undefined>();
    const ingested = await this.o.store.ingest(payload, async (labels, _rank, newGroupsIn) => {
      const route = this.route(labels);
      routeOf.set(payload.groupKey, route);
      const channel = route?.channel && this.o.chats[route.platform] ? route.channel : undefined;
      const storm =
        channel !== undefined &&
        (await newGroupsIn(route!.platform, channel, this.now() - STORM_WINDOW_MS)) >=
          this.o.config.storm.newGroupsPerMinute;
      return { ...(channel ? { channel, platform: route!.platform } : {}), storm };
    });
    const { group } = ingested;
    await this.present(group, ingested);
    if (ingested.isNew || ingested.refired) this.changed();
    if (!ingested.isNew) this.changed(group.id);
    const route = routeOf.has(payload.groupKey) ? routeOf.get(payload.groupKey) : this.route(group.labels);
    if ((route?.triage ?? true) && (ingested.isNew || ingested.refired || ingested.fired.length > 0)) {
      await this.o.store.queue.enqueue(group.groupKey, group.severityRank, this.o.config.triage.queueLimit);
      this.pump();
    }
    return ingested;
  }

  /**
   * The thread (or the storm line) of a group: root summary, then the lines of what changed. The
   * root (and a storm's summary) is posted by the delivery that made the group or began the storm
   * episode, which the store grants to one replica only; the others edit it in place. `recover`
   * (a start after a stop) posts what is missing and edits nothing.
   */
  private async present(
    group: GroupRecord,
    ingested?: Ingested,
    mode: 'edit' | 'recover' = 'edit',
  ): Promise<void> {
    const platform = group.platform;
    const chat = platform ? this.o.chats[platform] : undefined;
    if (!chat || !platform || !group.channel) return;
    const channel = group.channel;
    const recover = mode === 'recover';
    if (group.storm) {
      // One storm summary per channel of each platform: the same id on two platforms is two channels.
      const episode =
        ingested?.isNew || ingested?.refired
          ? await this.o.store.stormEpisode(platform, channel, group.firstAt, STORM_QUIET_MS)
          : await this.o.store.currentStorm(platform, channel);
      if (!episode) return;
      const { key, since } = episode;
      const draw = async () => ({
        text: stormText(
          await this.o.store.stormTotals(platform, channel, since),
          await this.o.store.stormTally(platform, channel, since),
          since,
        ),
      });
      const owner = recover || ('began' in episode && episode.began);
      if (!(owner && (await chat.postOnce(key, channel, await draw()))) && !recover)
        this.editSoon(key, async () => chat.edit(channel, key, await draw()));
      return;
    }
    const root = rootKey(group);
    const draw = async () => this.rootMessage((await this.o.store.group(group.groupKey)) ?? group);
    const owner = recover || !!ingested?.isNew || !!ingested?.refired;
    if (!(owner && (await chat.postOnce(root, channel, await draw()))) && !recover)
      this.editSoon(root, async () => chat.edit(channel, root, await draw()));
    if (!ingested || (ingested.fired.length === 0 && ingested.resolved.length === 0)) return;
    // A line per alert for the first alerts of a group only: a group of thousands of pods must not
    // hold the channel for half an hour; the summary above counts them all.
    const own = await this.o.store.firstAlerts(group.groupKey, LINES_PER_GROUP);
    const lined = (a: { fingerprint: string; startsAt: string }) => own.has(`${a.fingerprint} ${a.startsAt}`);
    for (const a of ingested.fired.filter(lined))
      await this.reply(chat, group, `${root}_${a.fingerprint}_${a.startsAt}_f`, alertLine(a, 'fired'));
    for (const a of ingested.resolved.filter(lined))
      await this.reply(chat, group, `${root}_${a.fingerprint}_${a.startsAt}_r`, alertLine(a, 'resolved'));
    if ([...ingested.fired, ...ingested.resolved].some((a) => !lined(a)))
      await this.reply(
        chat,
        group,
        `${root}_more`,
        `More than ${LINES_PER_GROUP} alerts in this group: only the first get a line of their own; the summary counts every one.`,
      );
  }

  /**
   * A post about a group, once under `key`: in its thread, or, on a platform without threads, in
   * the channel with the group named first (several groups share the channel's timeline).
   */
  private async reply(chat: AlertChat, group: GroupRecord, key: string, text: string): Promise<void> {
    if (!group.channel) return;
    if (chat.threads) await chat.postOnce(key, group.channel, { text }, rootKey(group));
    else await chat.postOnce(key, group.channel, { text: `${groupTag(group)}\n${text}` });
  }

  /** The live summary of a group's thread, with its buttons. */
  private async rootMessage(g: GroupRecord): Promise<OutMessage> {
    const tally = await this.o.store.tally(g.groupKey);
    return {
      text: rootText(
        g,
        await this.o.store.alerts(g.groupKey),
        tally,
        await this.o.store.queue.get(g.groupKey),
      ),
      actions: alertActions(g.id, tally.firing > 0),
    };
  }

  /**
   * Records who took a group (its current episode) and redraws its summary in place at once. The
   * caller has checked that the person may read alerts, and audits it.
   */
  async acknowledge(groupId: string, person: string): Promise<GroupRecord | undefined> {
    const group = await this.o.store.groupById(groupId);
    if (!group) return undefined;
    await this.o.store.acknowledge(group.groupKey, person);
    this.changed(group.id);
    const now = (await this.o.store.group(group.groupKey))!;
    const chat = now.platform ? this.o.chats[now.platform] : undefined;
    if (chat && now.channel && !now.storm)
      await chat.edit(now.channel, rootKey(now), await this.rootMessage(now));
    return now;
  }

  /** Gathers edits of one message for a moment: a storm of deliveries becomes one edit per message. */
  private editSoon(key: string, edit: () => Promise<void>): void {
    this.dirty.set(key, edit);
    if (this.editTimer) return;
    this.editTimer = setTimeout(() => void this.flushEdits(), this.o.editDelayMs ?? 1000);
    this.editTimer.unref();
  }

  private async flushEdits(): Promise<void> {
    if (this.editTimer) clearTimeout(this.editTimer);
    this.editTimer = undefined;
    const edits = [...this.dirty.values()];
    this.dirty.clear();
    for (const edit of edits) {
      try {
        await edit();
      } catch (e) {
        this.o.logger.warn({ error: (e as Error).message }, 'alert summary edit failed');
      }
    }
  }

  /** Starts queued triage up to the concurrency cap, most severe first. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    const work = this.fill()
      .catch((e) => this.o.logger.error({ error: (e as Error).message }, 'alert triage queue failed'))
      .finally(() => {
        this.pumping = false;
        this.running.delete(work);
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
    // Counted as running so that settled() waits for the queue to be read too.
    this.running.add(work);
  }

  private async fill(): Promise<void> {
    while (!this.stopped && this.triaging < this.o.config.triage.concurrency) {
      const next = await this.o.store.queue.next();
      if (!next) return;
      this.triaging++;
      const work: Promise<void> = this.triage(next.groupKey)
        .then(() => undefined)
        .catch(async (e) => {
          this.o.logger.error({ group: next.groupKey, error: (e as Error).message }, 'alert triage failed');
          await this.o.store.queue.finish(next.groupKey, {
            enrichment: '',
            model: false,
            error: (e as Error).message,
          });
          this.changed(groupIdOf(next.groupKey));
        })
        .catch((e) => this.o.logger.error({ error: (e as Error).message }, 'alert triage failed'))
        .finally(() => {
          this.triaging--;
          this.running.delete(work);
          this.pump();
        });
      this.running.add(work);
    }
  }

  /** A model run may start now: at most `modelRunsPerMinute` in any minute, across restarts. */
  private takeModelRun(): Promise<boolean> {
    return this.o.store.budget.take(this.now(), this.o.config.triage.modelRunsPerMinute);
  }

  /**
   * The enrichment, read through the channel-guarded pipeline as `principal` with every change
   * refused, then the agent's diagnosis when `useModel` and the budget allow.
   */
  private async assess(
    group: GroupRecord,
    alerts: AlertRecord[],
    principal: Principal,
    useModel: boolean,
  ): Promise<{ found: Enrichment; diagnosis?: string; note?: string }> {
    const readOnly = { channel: `alerts:${group.id}`, allowWrites: false };
    return this.inTriage.run(true, async () => {
      const found = await this.guard.run(readOnly, () =>
        enrich(this.guard.pipeline, principal, group, alerts),
      );
      if (!useModel) return { found, note: 'no model run was asked for: the facts alone' };
      if (!this.o.agent) return { found, note: 'no model is configured: the facts alone' };
      if (!(await this.takeModelRun())) {
        await this.o.store.count('triage_over_budget');
        return { found, note: 'the model budget of this minute is used: the facts alone' };
      }
      try {
        const agent = this.o.agent(this.guard.pipeline);
        const answer = await this.guard.run(readOnly, () =>
          agent.ask({ question: triageQuestion(group, alerts), principal }),
        );
        return { found, diagnosis: answer.text };
      } catch (e) {
        return { found, note: `the model failed (${(e as Error).message}): the facts alone` };
      }
    });
  }

  /** Triage of one group from the queue, as the triage principal: stored, and posted into its thread. */
  async triage(groupKey: string): Promise<string> {
    const group = await this.o.store.group(groupKey);
    if (!group) throw new Error(`no alert group ${groupKey}`);
    const alerts = await this.o.store.alerts(groupKey);
    const { found, diagnosis, note } = await this.assess(group, alerts, this.principal, true);
    await this.o.store.queue.finish(groupKey, {
      enrichment: found.text,
      ...(diagnosis ? { diagnosis } : {}),
      model: !!diagnosis,
    });
    this.changed(group.id);
    const text = triageText({
      enrichment: found.text,
      ...(diagnosis ? { diagnosis } : {}),
      runbooks: found.runbooks,
      ...(note ? { note } : {}),
    });
    const chat = group.platform ? this.o.chats[group.platform] : undefined;
    if (chat && group.channel && !group.storm) {
      await this.reply(chat, group, `${rootKey(group)}_triage`, text);
      await this.present(group);
    } else if (chat && group.channel) await this.present(group);
    return text;
  }

  /**
   * Triage on demand (the alerts_triage tool): as the caller, so they see only what they may read;
   * neither stored nor posted. A group by id or groupKey, or one alert by fingerprint.
   */
  async triageFor(
    ref: AlertRef,
    principal: Principal,
    options: { model: boolean },
  ): Promise<AlertTriageResult | undefined> {
    if (this.inTriage.getStore())
      throw new ToolError('invalid_arguments', 'alerts_triage cannot be called from inside a triage');
    let group: GroupRecord | undefined;
    let alerts: AlertRecord[];
    if ('fingerprint' in ref) {
      const found = await this.o.store.alertByFingerprint(ref.fingerprint);
      if (!found) return undefined;
      group = found.group;
      alerts = [found.alert];
    } else {
      group = (await this.o.store.groupById(ref.group)) ?? (await this.o.store.group(ref.group));
      if (!group) return undefined;
      alerts = await this.o.store.alerts(group.groupKey);
    }
    const { found, diagnosis, note } = await this.assess(group, alerts, principal, options.model);
    return {
      groupId: group.id,
      groupKey: group.groupKey,
      alertname: group.labels.alertname ?? alerts[0]?.labels.alertname ?? '',
      status: 'fingerprint' in ref ? alerts[0]!.status : group.status,
      alerts: alerts.length,
      enrichment: found.text,
      ...(diagnosis ? { diagnosis } : {}),
      ...(note ? { note } : {}),
      runbooks: found.runbooks,
      ...(group.ackBy ? { acknowledgedBy: group.ackBy } : {}),
    };
  }
}

/**
 * The question for the agent: only the alert's name, severity and the object names its labels give
 * (valid Kubernetes names), never its free text, which anyone who writes a rule controls.
 */
export function triageQuestion(
  group: GroupRecord,
  alerts: AlertRecord[],
  ask = 'Triage it: read what you need with read-only tools, name the most likely cause with the evidence, and cite the runbook sections that apply. Propose no change.',
): string {
  const label = group.labels.alertname ?? '';
  const name = ALERT_NAME.test(label) ? label : 'an alert';
  const severity = severityName(group).toLowerCase();
  const objects = targetsOf(group, alerts).map((t) => t.label);
  return [
    `Alertmanager fired ${name}${SEVERITIES.has(severity) ? ` (severity ${severity})` : ''}${objects.length ? ` for ${objects.join(', ')}` : ''}.`,
    ask,
  ].join(' ');
}
