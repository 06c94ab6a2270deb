// Inspection reports, schedule bookkeeping and missed runs in one SQLite file, with retention.
import { type Database, openSqlite } from '../../state/sqlite.js';
import type { InspectionReports, ReportMeta } from '../clients/inspection-reports.js';

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

const COLUMNS = 'id, created_at, kind, cluster, scopes, plan, by, score, critical, warning, findings';

export class InspectionStore implements InspectionReports {
  private readonly db: Database.Database;

  constructor(
    path: string,
    private readonly retention: Retention = { days: 90, perKind: 400 },
    private readonly now: () => number = Date.now,
  ) {
    this.db = openSqlite(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS reports (
        id TEXT PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL, cluster TEXT NOT NULL,
        scopes TEXT NOT NULL, plan TEXT, by TEXT NOT NULL, score REAL, critical INTEGER NOT NULL,
        warning INTEGER NOT NULL, findings INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS reports_kind ON reports(kind, created_at);
      CREATE INDEX IF NOT EXISTS reports_created ON reports(created_at);
      CREATE TABLE IF NOT EXISTS plan_state (plan TEXT PRIMARY KEY, last_due INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS missed_runs (
        plan TEXT NOT NULL, due_at TEXT NOT NULL, reason TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (plan, due_at));
    `);
  }

  save(m: ReportMeta, body: string): void {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO reports (${COLUMNS}, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
        .run(
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
        );
      this.prune(m.kind);
    });
    tx();
  }

  /** Retention: by age across all reports, by count within the kind just written. */
  private prune(kind: string): void {
    const cutoff = new Date(this.now() - this.retention.days * 86_400_000).toISOString();
    this.db.prepare('DELETE FROM reports WHERE created_at < ?').run(cutoff);
    this.db
      .prepare(
        'DELETE FROM reports WHERE kind = ? AND id NOT IN (SELECT id FROM reports WHERE kind = ? ORDER BY created_at DESC LIMIT ?)',
      )
      .run(kind, kind, this.retention.perKind);
  }

  list(filter: { limit: number; kind?: string; plan?: string; cluster?: string }): ReportMeta[] {
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
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(...args, filter.limit) as Row[];
    return rows.map(meta);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n;
  }

  get(id: string): { meta: ReportMeta; body: string } | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS}, body FROM reports WHERE id = ?`).get(id) as Row | undefined;
    return r ? { meta: meta(r), body: r.body! } : undefined;
  }

  latest(kind: string, before?: string): { meta: ReportMeta; body: string } | undefined {
    const r = this.db
      .prepare(
        `SELECT ${COLUMNS}, body FROM reports WHERE kind = ? AND created_at < ? ORDER BY created_at DESC LIMIT 1`,
      )
      .get(kind, before ?? '9999') as Row | undefined;
    return r ? { meta: meta(r), body: r.body! } : undefined;
  }

  history(kind: string, limit: number): Array<{ createdAt: string; score: number | null }> {
    const rows = this.db
      .prepare('SELECT created_at, score FROM reports WHERE kind = ? ORDER BY created_at DESC LIMIT ?')
      .all(kind, limit) as Array<{ created_at: string; score: number | null }>;
    return rows.reverse().map((r) => ({ createdAt: r.created_at, score: r.score }));
  }

  /** The last due time a schedule handled (ran or reported missed), in ms. */
  lastDue(plan: string): number | undefined {
    const r = this.db.prepare('SELECT last_due FROM plan_state WHERE plan = ?').get(plan) as
      | { last_due: number }
      | undefined;
    return r?.last_due;
  }

  setLastDue(plan: string, due: number): void {
    this.db
      .prepare(
        'INSERT INTO plan_state (plan, last_due) VALUES (?, ?) ON CONFLICT(plan) DO UPDATE SET last_due = excluded.last_due',
      )
      .run(plan, due);
  }

  /**
   * Moves a plan's last handled due time from `from` to `to` only if no one else did in between:
   * of two processes sharing the data folder, one claims a due time.
   */
  claimDue(plan: string, from: number, to: number): boolean {
    return (
      this.db
        .prepare('UPDATE plan_state SET last_due = ? WHERE plan = ? AND last_due = ?')
        .run(to, plan, from).changes === 1
    );
  }

  recordMissed(plan: string, dueAt: string, reason: string): void {
    this.db
      .prepare('INSERT OR IGNORE INTO missed_runs (plan, due_at, reason) VALUES (?, ?, ?)')
      .run(plan, dueAt, reason);
  }

  takeMissed(plan: string): Array<{ plan: string; dueAt: string; reason: string }> {
    const tx = this.db.transaction(() => {
      const rows = this.db
        .prepare(
          'SELECT plan, due_at, reason FROM missed_runs WHERE plan = ? AND reported = 0 ORDER BY due_at',
        )
        .all(plan) as Array<{ plan: string; due_at: string; reason: string }>;
      this.db.prepare('UPDATE missed_runs SET reported = 1 WHERE plan = ? AND reported = 0').run(plan);
      return rows.map((r) => ({ plan: r.plan, dueAt: r.due_at, reason: r.reason }));
    });
    return tx();
  }

  allMissed(plan: string): Array<{ plan: string; dueAt: string; reason: string; reported: boolean }> {
    return (
      this.db
        .prepare('SELECT plan, due_at, reason, reported FROM missed_runs WHERE plan = ? ORDER BY due_at')
        .all(plan) as Array<{
        plan: string;
        due_at: string;
        reason: string;
        reported: number;
      }>
    ).map((r) => ({ plan: r.plan, dueAt: r.due_at, reason: r.reason, reported: !!r.reported }));
  }

  close(): void {
    this.db.close();
  }
}
