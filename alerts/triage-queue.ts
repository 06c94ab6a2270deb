import type Database from 'better-sqlite3';

/** The triage queue and its results, and the model runs of the last minute: tables of `alerts.db`. */
export const TRIAGE_SCHEMA = `
CREATE TABLE IF NOT EXISTS triage (
  group_key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  enrichment TEXT,
  diagnosis TEXT,
  model INTEGER NOT NULL DEFAULT 0,
  error TEXT);
CREATE INDEX IF NOT EXISTS triage_queue ON triage(state, priority, queued_at);
CREATE TABLE IF NOT EXISTS model_runs (at INTEGER NOT NULL);`;

export interface TriageRecord {
  groupKey: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  priority: number;
  queuedAt: number;
  startedAt?: number;
  enrichment?: string;
  diagnosis?: string;
  model: boolean;
  error?: string;
}

type TriageRow = {
  group_key: string;
  state: TriageRecord['state'];
  priority: number;
  queued_at: number;
  started_at: number | null;
  enrichment: string | null;
  diagnosis: string | null;
  model: number;
  error: string | null;
};

/**
 * Groups waiting for triage, most severe (lowest priority) and oldest first, one row per group that
 * also keeps the result. Durable: a triage running when the process stopped is queued again.
 */
export class TriageQueue {
  constructor(
    private readonly db: Database.Database,
    private readonly count: (name: string) => void,
  ) {}

  /** Queues a group for triage unless it is queued, running or done. False when the queue is full. */
  enqueue(groupKey: string, priority: number, queueLimit: number): boolean {
    const queued = (
      this.db.prepare("SELECT COUNT(*) AS n FROM triage WHERE state = 'queued'").get() as { n: number }
    ).n;
    if (queued >= queueLimit) {
      this.count('triage_queue_full');
      return false;
    }
    this.db
      .prepare(
        "INSERT OR IGNORE INTO triage (group_key, state, priority, queued_at) VALUES (?, 'queued', ?, ?)",
      )
      .run(groupKey, priority, Date.now());
    return true;
  }

  /** A group that fires again after it resolved: its finished triage is queued anew. */
  requeueFinished(groupKey: string, now: number): void {
    this.db
      .prepare(
        "UPDATE triage SET state = 'queued', queued_at = ?, started_at = NULL, finished_at = NULL WHERE group_key = ? AND state IN ('done', 'failed')",
      )
      .run(now, groupKey);
  }

  /** Takes the most severe, oldest queued group; it is `running` until finished (or requeued after a crash). */
  next(): TriageRecord | undefined {
    return this.db.transaction(() => {
      const r = this.db
        .prepare("SELECT group_key FROM triage WHERE state = 'queued' ORDER BY priority, queued_at LIMIT 1")
        .get() as { group_key: string } | undefined;
      if (!r) return undefined;
      this.db
        .prepare("UPDATE triage SET state = 'running', started_at = ? WHERE group_key = ?")
        .run(Date.now(), r.group_key);
      return this.get(r.group_key);
    })();
  }

  finish(
    groupKey: string,
    result: { enrichment: string; diagnosis?: string; model: boolean; error?: string },
  ): void {
    this.db
      .prepare(
        'UPDATE triage SET state = ?, finished_at = ?, enrichment = ?, diagnosis = ?, model = ?, error = ? WHERE group_key = ?',
      )
      .run(
        result.error && !result.enrichment ? 'failed' : 'done',
        Date.now(),
        result.enrichment,
        result.diagnosis ?? null,
        result.model ? 1 : 0,
        result.error ?? null,
        groupKey,
      );
  }

  /** After a restart: triage that was running when the process stopped is queued again. */
  requeueRunning(): number {
    return this.db.prepare("UPDATE triage SET state = 'queued' WHERE state = 'running'").run().changes;
  }

  get(groupKey: string): TriageRecord | undefined {
    const r = this.db.prepare('SELECT * FROM triage WHERE group_key = ?').get(groupKey) as
      | TriageRow
      | undefined;
    if (!r) return undefined;
    return {
      groupKey: r.group_key,
      state: r.state,
      priority: r.priority,
      queuedAt: r.queued_at,
      ...(r.started_at ? { startedAt: r.started_at } : {}),
      ...(r.enrichment ? { enrichment: r.enrichment } : {}),
      ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
      model: r.model === 1,
      ...(r.error ? { error: r.error } : {}),
    };
  }

  counts(): Record<string, number> {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM triage GROUP BY state').all() as Array<{
      state: string;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}

/** At most `limit` model runs in any minute, over all groups, counted in the store so a restart does not reset it. */
export class ModelBudget {
  constructor(private readonly db: Database.Database) {}

  /** Takes a model run if fewer than `limit` ran in the last minute. */
  take(now: number, limit: number): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM model_runs WHERE at <= ?').run(now - 60_000);
      const n = (this.db.prepare('SELECT COUNT(*) AS n FROM model_runs').get() as { n: number }).n;
      if (n >= limit) return false;
      this.db.prepare('INSERT INTO model_runs (at) VALUES (?)').run(now);
      return true;
    })();
  }
}
