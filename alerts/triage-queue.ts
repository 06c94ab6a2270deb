import { num, type Sql, type SqlDb } from '../state/sql.js';

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
  queued_at: number | string;
  started_at: number | string | null;
  enrichment: string | null;
  diagnosis: string | null;
  model: number;
  error: string | null;
};

const triageOf = (r: TriageRow): TriageRecord => ({
  groupKey: r.group_key,
  state: r.state,
  priority: r.priority,
  queuedAt: num(r.queued_at),
  ...(r.started_at ? { startedAt: num(r.started_at) } : {}),
  ...(r.enrichment ? { enrichment: r.enrichment } : {}),
  ...(r.diagnosis ? { diagnosis: r.diagnosis } : {}),
  model: r.model === 1,
  ...(r.error ? { error: r.error } : {}),
});

/** A finished triage of a group that fires again is queued anew (inside the delivery's transaction). */
export async function requeueFinished(q: Sql, groupKey: string, now: number): Promise<void> {
  await q.run(
    "UPDATE alert_triage SET state = 'queued', queued_at = ?, started_at = NULL, finished_at = NULL WHERE group_key = ? AND state IN ('done', 'failed')",
    [now, groupKey],
  );
}

/**
 * Groups waiting for triage, most severe (lowest priority) and oldest first, one row per group that
 * also keeps the result. Durable: a triage running when the process stopped is queued again. With
 * several replicas, each taker gets a different group (the row is taken in one statement).
 */
export class TriageQueue {
  constructor(
    private readonly db: SqlDb,
    private readonly count: (name: string) => Promise<void>,
  ) {}

  /** Queues a group for triage unless it is queued, running or done. False when the queue is full. */
  async enqueue(groupKey: string, priority: number, queueLimit: number): Promise<boolean> {
    const queued = await this.db.op('enqueue', async (q) => {
      const n = num(
        (await q.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM alert_triage WHERE state = 'queued'"))?.n,
      );
      if (n >= queueLimit) return false;
      await q.run(
        "INSERT INTO alert_triage (group_key, state, priority, queued_at) VALUES (?, 'queued', ?, ?) ON CONFLICT (group_key) DO NOTHING",
        [groupKey, priority, Date.now()],
      );
      return true;
    });
    if (!queued) await this.count('triage_queue_full');
    return queued;
  }

  /** Takes the most severe, oldest queued group; it is `running` until finished (or requeued after a crash). */
  async next(): Promise<TriageRecord | undefined> {
    const r = await this.db.op('next', (q) =>
      q.get<TriageRow>(
        `UPDATE alert_triage SET state = 'running', started_at = ?
          WHERE group_key = (SELECT group_key FROM alert_triage WHERE state = 'queued'
                              ORDER BY priority, queued_at LIMIT 1${q.skipLocked})
            AND state = 'queued'
          RETURNING *`,
        [Date.now()],
      ),
    );
    return r ? triageOf(r) : undefined;
  }

  async finish(
    groupKey: string,
    result: { enrichment: string; diagnosis?: string; model: boolean; error?: string },
  ): Promise<void> {
    await this.db.op('finish', (q) =>
      q.run(
        'UPDATE alert_triage SET state = ?, finished_at = ?, enrichment = ?, diagnosis = ?, model = ?, error = ? WHERE group_key = ?',
        [
          result.error && !result.enrichment ? 'failed' : 'done',
          Date.now(),
          result.enrichment,
          result.diagnosis ?? null,
          result.model ? 1 : 0,
          result.error ?? null,
          groupKey,
        ],
      ),
    );
  }

  /**
   * Triage that was running when its process stopped is queued again: every running triage started
   * before `startedBefore` (on one replica: all of them, at start; with replicas sharing the queue:
   * those running longer than any triage may, so another replica's live work is left alone).
   */
  requeueRunning(startedBefore: number): Promise<number> {
    return this.db.op('requeue', (q) =>
      q.run("UPDATE alert_triage SET state = 'queued' WHERE state = 'running' AND started_at < ?", [
        startedBefore,
      ]),
    );
  }

  async get(groupKey: string): Promise<TriageRecord | undefined> {
    const r = await this.db.op('triage', (q) =>
      q.get<TriageRow>('SELECT * FROM alert_triage WHERE group_key = ?', [groupKey]),
    );
    return r ? triageOf(r) : undefined;
  }

  async counts(): Promise<Record<string, number>> {
    const rows = await this.db.op('counts', (q) =>
      q.all<{ state: string; n: unknown }>('SELECT state, COUNT(*) AS n FROM alert_triage GROUP BY state'),
    );
    return Object.fromEntries(rows.map((r) => [r.state, num(r.n)]));
  }
}

/** At most `limit` model runs in any minute, over all groups (and replicas), kept so a restart does not reset it. */
export class ModelBudget {
  constructor(private readonly db: SqlDb) {}

  /** Takes a model run if fewer than `limit` ran in the last minute. */
  take(now: number, limit: number): Promise<boolean> {
    return this.db.tx('budget', async (q) => {
      await q.lockTable('alert_model_runs');
      await q.run('DELETE FROM alert_model_runs WHERE at <= ?', [now - 60_000]);
      const n = num((await q.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM alert_model_runs'))?.n);
      if (n >= limit) return false;
      await q.run('INSERT INTO alert_model_runs (at) VALUES (?)', [now]);
      return true;
    });
  }
}
