// Inspection reports, schedule bookkeeping and missed runs, with retention: in one SQLite file (the
// default) or in the PostgreSQL database every replica shares, one implementation (state/sql.ts).
import type { PgState } from '../../state/postgres.js';
import { num, PgSql, type Sql, type SqlDb, SqliteSql } from '../../state/sql.js';
import { openSqlite } from '../../state/sqlite.js';
import type { InspectionReports, ReportMeta } from '../clients/inspection-reports.js';
import { INSPECTIONS_MIGRATIONS } from './store-schema.js';

const STORE = 'inspections';

export interface Retention {
  /** Reports older than this many days are deleted (default 90). */
  days: number;
  /** At most this many reports of one kind are kept (default 400). */
  perKind: number;
}

interface Row {
  id: string;
  created_at: string;
  kind: string;
  cluster: string;
  scopes: string;
  plan: string | null;
  by: string;
  score: number | null;
  critical: number;
  warning: number;
  findings: number;
  body?: string;
}

const meta = (r: Row): ReportMeta => ({
  id: r.id,
  createdAt: r.created_at,
  kind: r.kind,
  cluster: r.cluster,
  scopes: JSON.parse(r.scopes) as string[],
  ...(r.plan ? { plan: r.plan } : {}),
  by: r.by,
  score: r.score,
  critical: r.critical,
  warning: r.warning,
  findings: r.findings,
});

// `by` is a keyword in PostgreSQL: quoted, as both databases accept.
const COLUMNS = 'id, created_at, kind, cluster, scopes, plan, "by", score, critical, warning, findings';

/** The clusters of reports this process has seen, for the policy's synchronous scope (keptScope). */
const SCOPE_CACHE = 10_000;

export class InspectionStore implements InspectionReports {
  private readonly clusters = new Map<string, string>();

  constructor(
    private readonly db: SqlDb,
    private readonly retention: Retention = { days: 90, perKind: 400 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the schema is migrated (rejects when the database's is newer than this code). */
  migrated(): Promise<void> {
    return this.db.migrated();
  }

  private seen(id: string, cluster: string): void {
    this.clusters.delete(id);
    this.clusters.set(id, cluster);
    if (this.clusters.size > SCOPE_CACHE) this.clusters.delete(this.clusters.keys().next().value!);
  }

  /**
   * The cluster of a report, answered at once: read from the file on SQLite; on PostgreSQL, known
   * for reports this replica wrote or read (a miss is checked again by the handler, see
   * inspection_report_get).
   */
  clusterOf(id: string): string | undefined {
    if (this.db instanceof SqliteSql) {
      const r = this.db.db.prepare('SELECT cluster FROM inspection_reports WHERE id = ?').get(id) as
        | { cluster: string }
        | undefined;
      return r?.cluster;
    }
    return this.clusters.get(id);
  }

  async save(m: ReportMeta, body: string): Promise<void> {
    await this.db.tx('save', async (q) => {
      // Saves take turns (reports are few), so the count kept per kind holds across replicas.
      await q.lockTable('inspection_reports');
      await q.run(`INSERT INTO inspection_reports (${COLUMNS}, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, [
        m.id,
        m.createdAt,
        m.kind,
        m.cluster,
        JSON.stringify(m.scopes),
        m.plan ?? null,
        m.by,
        m.score,
        m.critical,
        m.warning,
        m.findings,
        body,
      ]);
      await this.prune(q, m.kind);
    });
    this.seen(m.id, m.cluster);
  }

  /**
   * Retention: by age across all reports, by count within the kind just written. Deletes only, by
   * conditions every replica computes alike: two replicas pruning at once delete the same rows.
   */
  private async prune(q: Sql, kind: string): Promise<void> {
    const cutoff = new Date(this.now() - this.retention.days * 86_400_000).toISOString();
    await q.run('DELETE FROM inspection_reports WHERE created_at < ?', [cutoff]);
    await q.run(
      'DELETE FROM inspection_reports WHERE kind = ? AND id NOT IN (SELECT id FROM inspection_reports WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?)',
      [kind, kind, this.retention.perKind],
    );
  }

  async list(filter: {
    limit: number;
    kind?: string;
    plan?: string;
    cluster?: string;
  }): Promise<ReportMeta[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [col, v] of [
      ['kind', filter.kind],
      ['plan', filter.plan],
      ['cluster', filter.cluster],
    ] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        args.push(v);
      }
    }
    const rows = await this.db.op('list', (q) =>
      q.all<Row>(
        `SELECT ${COLUMNS} FROM inspection_reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
        [...args, filter.limit],
      ),
    );
    for (const r of rows) this.seen(r.id, r.cluster);
    return rows.map(meta);
  }

  async count(): Promise<number> {
    const r = await this.db.op('count', (q) =>
      q.get<{ n: unknown }>('SELECT count(*) AS n FROM inspection_reports'),
    );
    return num(r?.n);
  }

  async get(id: string): Promise<{ meta: ReportMeta; body: string } | undefined> {
    const r = await this.db.op('get', (q) =>
      q.get<Row>(`SELECT ${COLUMNS}, body FROM inspection_reports WHERE id = ?`, [id]),
    );
    if (r) this.seen(r.id, r.cluster);
    return r ? { meta: meta(r), body: r.body! } : undefined;
  }

  async latest(kind: string, before?: string): Promise<{ meta: ReportMeta; body: string } | undefined> {
    const r = await this.db.op('latest', (q) =>
      q.get<Row>(
        `SELECT ${COLUMNS}, body FROM inspection_reports WHERE kind = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT 1`,
        [kind, before ?? '9999'],
      ),
    );
    return r ? { meta: meta(r), body: r.body! } : undefined;
  }

  async history(kind: string, limit: number): Promise<Array<{ createdAt: string; score: number | null }>> {
    const rows = await this.db.op('history', (q) =>
      q.all<{ created_at: string; score: number | null }>(
        'SELECT created_at, score FROM inspection_reports WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?',
        [kind, limit],
      ),
    );
    return rows.reverse().map((r) => ({ createdAt: r.created_at, score: r.score }));
  }

  /** The last due time a schedule handled (ran or reported missed), in ms. */
  async lastDue(plan: string): Promise<number | undefined> {
    const r = await this.db.op('plan', (q) =>
      q.get<{ last_due: unknown }>('SELECT last_due FROM inspection_plan_state WHERE plan = ?', [plan]),
    );
    return r ? num(r.last_due) : undefined;
  }

  /** Sets the last due time a plan handled (a new plan's start). */
  async setLastDue(plan: string, due: number): Promise<void> {
    await this.db.op('plan', (q) =>
      q.run(
        'INSERT INTO inspection_plan_state (plan, last_due) VALUES (?, ?) ON CONFLICT (plan) DO UPDATE SET last_due = excluded.last_due',
        [plan, due],
      ),
    );
  }

  /**
   * Moves a plan's last handled due time from `from` to `to` only if no one else did in between:
   * of two processes (or replicas) sharing the store, one claims a due time.
   */
  async claimDue(plan: string, from: number, to: number): Promise<boolean> {
    const changed = await this.db.op('plan', (q) =>
      q.run('UPDATE inspection_plan_state SET last_due = ? WHERE plan = ? AND last_due = ?', [
        to,
        plan,
        from,
      ]),
    );
    return changed === 1;
  }

  async recordMissed(plan: string, dueAt: string, reason: string): Promise<void> {
    await this.db.op('missed', (q) =>
      q.run(
        'INSERT INTO inspection_missed_runs (plan, due_at, reason) VALUES (?, ?, ?) ON CONFLICT (plan, due_at) DO NOTHING',
        [plan, dueAt, reason],
      ),
    );
  }

  /** Missed runs not yet reported; reading marks them reported (once, whichever replica reads). */
  async takeMissed(plan: string): Promise<Array<{ plan: string; dueAt: string; reason: string }>> {
    const rows = await this.db.op('missed', (q) =>
      q.all<{ plan: string; due_at: string; reason: string }>(
        'UPDATE inspection_missed_runs SET reported = 1 WHERE plan = ? AND reported = 0 RETURNING plan, due_at, reason',
        [plan],
      ),
    );
    return rows
      .map((r) => ({ plan: r.plan, dueAt: r.due_at, reason: r.reason }))
      .sort((a, b) => (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0));
  }

  async allMissed(
    plan: string,
  ): Promise<Array<{ plan: string; dueAt: string; reason: string; reported: boolean }>> {
    const rows = await this.db.op('missed', (q) =>
      q.all<{ plan: string; due_at: string; reason: string; reported: number }>(
        'SELECT plan, due_at, reason, reported FROM inspection_missed_runs WHERE plan = ? ORDER BY due_at',
        [plan],
      ),
    );
    return rows.map((r) => ({ plan: r.plan, dueAt: r.due_at, reason: r.reason, reported: !!r.reported }));
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The inspection store on the app's state: the PostgreSQL database the replicas share when `state`
 * is given, else the SQLite file at `path` (the embedded default).
 */
export function openInspectionStore(
  state: PgState | undefined,
  path: string,
  retention?: Retention,
  now?: () => number,
): InspectionStore {
  const db = state
    ? new PgSql(state, STORE, INSPECTIONS_MIGRATIONS)
    : new SqliteSql(openSqlite(path), STORE, INSPECTIONS_MIGRATIONS);
  return new InspectionStore(db, retention, now);
}
