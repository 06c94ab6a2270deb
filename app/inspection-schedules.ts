// Scheduled inspections: each plan's cron (in its time zone) is looked at on every tick. A due run
// goes through the pipeline as the scheduler's principal, like any other call; a plan never runs
// twice at once; a due time that passed while Kubemate was down, or while the plan's previous run
// was still going, is recorded as missed and reported in the plan's next report and chat post.
import type { ChatFile } from '../bots/core/types.js';
import type { Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { Logger } from '../tools/core/logger.js';
import { type Cron, parseCron } from '../tools/inspection/cron.js';
import { renderHtml } from '../tools/inspection/html.js';
import type { Report } from '../tools/inspection/model.js';
import type { InspectionStore } from '../tools/inspection/store.js';
import type { Plan } from './inspections-config.js';

/** What a plan posts: the summary, and the report it is about when there is one. */
export interface PlanPost {
  /** The plan, named on each part of the post on platforms without threads. */
  plan: string;
  text: string;
  report?: {
    id: string;
    /** The HTML page, for platforms that can share a file. */
    file?: ChatFile;
    /** Its address under `kubemate serve` (`inspections.publicUrl`), already in the text when set. */
    url?: string;
  };
}

/** Where a plan's summary goes: the app wires the chat bots' durable outboxes behind this. */
export interface SummaryPoster {
  /**
   * `channel` as configured on the plan (`feishu:oc_…`); throws for a platform it cannot reach.
   * Resolves once the post is queued in the bot's durable outbox (`idle()` waits for that).
   */
  post(channel: string, message: PlanPost): void | Promise<void>;
}

export interface SchedulerDeps {
  plans: Plan[];
  store: InspectionStore;
  pipeline: ToolPipeline;
  principal: Principal;
  now: () => number;
  missedAfterMs: number;
  logger: Logger;
  poster?: SummaryPoster;
  /** Link to a report for the chat post (`https://kubemate.example/reports/<id>`), when configured. */
  reportUrl?: (id: string) => string;
  /**
   * Whether this replica may start scheduled runs now: it holds the scheduler lease (app/leases.ts).
   * Default always (one process). A tick on a replica without it looks at nothing.
   */
  mayStart?: () => boolean;
}

export interface TickOutcome {
  plan: string;
  ran?: { dueAt: string; reports: string[] };
  missed: Array<{ dueAt: string; reason: string }>;
}

const MAX_BACKLOG = 1000;

export class InspectionScheduler {
  private readonly crons = new Map<string, Cron>();
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private ticking: Promise<unknown> | undefined;

  constructor(private readonly deps: SchedulerDeps) {
    for (const p of deps.plans) this.crons.set(p.name, parseCron(p.cron, p.timeZone));
  }

  /** Looks at every plan once. Runs started here are awaited by `idle()`, not by `tick()`. */
  async tick(): Promise<TickOutcome[]> {
    if (this.deps.mayStart && !this.deps.mayStart()) return [];
    const out: TickOutcome[] = [];
    for (const p of this.deps.plans) {
      try {
        out.push(await this.tickPlan(p));
      } catch (e) {
        // One plan's trouble must not stop the others, nor the process (a timer has no catch).
        this.deps.logger.error({ plan: p.name, error: (e as Error).message }, 'scheduled inspection failed');
        out.push({ plan: p.name, missed: [] });
      }
    }
    return out;
  }

  /** Counted by `idle()` until settled. */
  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Resolves when every run started so far has finished and its posts are queued (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  start(intervalMs = 5_000): void {
    const tick = () => {
      // A tick still reading the store when the next is due is not overlapped.
      if (this.ticking) return;
      const ticking: Promise<unknown> = this.tick().finally(() => {
        this.ticking = undefined;
        this.inFlight.delete(ticking);
      });
      this.ticking = ticking;
      this.inFlight.add(ticking);
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  private async tickPlan(plan: Plan): Promise<TickOutcome> {
    const { store, now: clock, missedAfterMs } = this.deps;
    const cron = this.crons.get(plan.name)!;
    const now = clock();
    const outcome: TickOutcome = { plan: plan.name, missed: [] };
    const last = await store.lastDue(plan.name);
    if (last === undefined) {
      // A new plan starts counting now: nothing before its first tick was ever due.
      await store.setLastDue(plan.name, now);
      return outcome;
    }
    const due: number[] = [];
    for (let t = cron.next(last); t <= now && due.length < MAX_BACKLOG; t = cron.next(t)) due.push(t);
    if (!due.length) return outcome;
    const latest = due[due.length - 1]!;
    // Claim the due times: another process sharing the data folder that got here first wins.
    if (!(await store.claimDue(plan.name, last, latest))) return outcome;
    const miss = async (t: number, reason: string) => {
      const dueAt = new Date(t).toISOString();
      await store.recordMissed(plan.name, dueAt, reason);
      outcome.missed.push({ dueAt, reason });
      this.deps.logger.warn({ plan: plan.name, dueAt, reason }, 'scheduled inspection missed');
    };
    const busy = this.running.has(plan.name);
    for (const t of due.slice(0, -1)) {
      await miss(
        t,
        busy ? 'the previous run of this plan was still running' : 'Kubemate was not running at that time',
      );
    }
    if (busy) {
      await miss(latest, 'the previous run of this plan was still running');
      this.announceMissed(plan, outcome.missed);
      return outcome;
    }
    if (now - latest > missedAfterMs) {
      await miss(
        latest,
        `Kubemate could not start it within ${Math.round(missedAfterMs / 60_000)} min of its due time`,
      );
      this.announceMissed(plan, outcome.missed);
      return outcome;
    }
    const dueAt = new Date(latest).toISOString();
    outcome.ran = { dueAt, reports: [] };
    this.running.add(plan.name);
    const run = this.run(plan, outcome.ran).finally(() => {
      this.running.delete(plan.name);
      this.inFlight.delete(run);
    });
    this.inFlight.add(run);
    return outcome;
  }

  /**
   * Missed runs are said in the plan's channels when they are found, if no run starts now to carry
   * them (the next report lists them as well).
   */
  private announceMissed(plan: Plan, missed: TickOutcome['missed']): void {
    if (!missed.length) return;
    const lines = missed.map((m) => `- due ${m.dueAt}: ${m.reason}`);
    this.postAll(plan, {
      plan: plan.name,
      text: `Scheduled inspection '${plan.name}' missed ${missed.length === 1 ? 'a run' : `${missed.length} runs`}:\n${lines.join('\n')}`,
    });
  }

  private postAll(plan: Plan, message: PlanPost): void {
    const { poster, logger } = this.deps;
    for (const channel of plan.channels) {
      try {
        if (!poster) throw new Error('no chat bot is configured');
        const queued = poster.post(channel, message);
        if (queued) this.track(queued);
      } catch (e) {
        logger.error(
          { plan: plan.name, channel, error: (e as Error).message },
          'cannot post the inspection summary',
        );
      }
    }
  }

  /** The report as its self-contained HTML page, to share as a file; undefined if it cannot be read. */
  private async htmlFile(id: string): Promise<ChatFile | undefined> {
    try {
      const kept = await this.deps.store.get(id);
      if (!kept) return undefined;
      const html = renderHtml(JSON.parse(kept.body) as Report, {
        history: await this.deps.store.history(kept.meta.kind, 30),
      });
      return {
        name: `${id}.html`,
        title: `Inspection report ${id}`,
        mimeType: 'text/html',
        data: Buffer.from(html, 'utf8').toString('base64'),
      };
    } catch (e) {
      this.deps.logger.error({ report: id, error: (e as Error).message }, 'cannot render the report');
      return undefined;
    }
  }

  private async run(plan: Plan, ran: { dueAt: string; reports: string[] }): Promise<void> {
    const { pipeline, principal, logger } = this.deps;
    const clusters = plan.clusters ?? [undefined];
    for (const cluster of clusters) {
      const args = {
        ...(cluster ? { cluster } : {}),
        ...(plan.scopes ? { scopes: plan.scopes } : {}),
        ...(plan.namespace ? { namespace: plan.namespace } : {}),
        plan: plan.name,
      };
      const result = await pipeline.invoke('inspection_run', args, principal);
      const id = typeof result.structured?.id === 'string' ? result.structured.id : undefined;
      if (id) ran.reports.push(id);
      const head = `Scheduled inspection '${plan.name}' (due ${ran.dueAt})${cluster ? ` of ${cluster}` : ''}`;
      const url = id && this.deps.reportUrl ? this.deps.reportUrl(id) : undefined;
      const text = result.isError
        ? `${head} failed: ${result.text}`
        : `${head}\n${result.text}${url ? `\nFull report (HTML): ${url}` : ''}`;
      if (result.isError)
        logger.error({ plan: plan.name, cluster, error: result.text }, 'scheduled inspection failed');
      const file = !result.isError && id ? await this.htmlFile(id) : undefined;
      this.postAll(plan, {
        plan: plan.name,
        text,
        ...(id && !result.isError
          ? { report: { id, ...(file ? { file } : {}), ...(url ? { url } : {}) } }
          : {}),
      });
    }
  }
}
