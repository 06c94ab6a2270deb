/**
 * Durable plans of `canary_progress`: the steps, where a plan stands, the ticket it waits on and
 * what happened so far. In SQLite (`<dataDir>/canary.db`), so a plan continues after a restart.
 * Shared by the canary toolset (which creates and reads plans) and the runner app/ starts.
 */
import type { Principal } from '../../policies/types.js';
import { type Database, openSqlite } from '../../state/sqlite.js';

export type PlanState = 'running' | 'waiting' | 'completed' | 'rolled_back' | 'halted';

export interface CanaryPlan {
  id: string;
  cluster?: string;
  namespace: string;
  name: string;
  kind?: string;
  stable: string;
  canary: string;
  /** Canary weights in percent, one per step, e.g. [10, 25, 50, 100]. */
  steps: number[];
  intervalSeconds: number;
  /** Arguments of canary_analyze for every step (window, thresholds, metric templates). */
  analysis: Record<string, unknown>;
  /** Who asked: every step runs through the pipeline as this principal. */
  requester: Principal;
  /** Chat thread to report to, when the plan was started from one. */
  thread?: { channel: string; threadId: string };
  state: PlanState;
  /** Index of the next step to take. */
  step: number;
  /** The ticket a step or rollback waits on, and what it is for. */
  waiting?: { ticket: string; action: 'shift' | 'rollback'; step: number };
  /** Analyses in a row that could not decide; too many and the plan rolls back. */
  inconclusive: number;
  nextAt: number;
  history: Array<{ at: string; text: string }>;
  createdAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS canary_plans (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  next_at INTEGER NOT NULL,
  plan_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS canary_plans_due ON canary_plans(state, next_at);
CREATE TABLE IF NOT EXISTS canary_gates (
  key TEXT PRIMARY KEY,
  ticket TEXT,
  opened_at TEXT
);
`;

/** A Flagger confirm gate for one release: its approval ticket, and whether it is open. */
export interface CanaryGate {
  key: string;
  ticket?: string;
  openedAt?: string;
}

export class CanaryPlanStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(SCHEMA);
  }

  create(plan: Omit<CanaryPlan, 'id' | 'createdAt'>, id: string): CanaryPlan {
    const full: CanaryPlan = { ...plan, id, createdAt: new Date().toISOString() };
    this.db
      .prepare('INSERT INTO canary_plans (id, state, next_at, plan_json) VALUES (?, ?, ?, ?)')
      .run(id, full.state, full.nextAt, JSON.stringify(full));
    return full;
  }

  get(id: string): CanaryPlan | undefined {
    const row = this.db.prepare('SELECT plan_json FROM canary_plans WHERE id = ?').get(id) as
      | { plan_json: string }
      | undefined;
    return row ? (JSON.parse(row.plan_json) as CanaryPlan) : undefined;
  }

  list(limit = 100): CanaryPlan[] {
    return (
      this.db.prepare('SELECT plan_json FROM canary_plans ORDER BY rowid DESC LIMIT ?').all(limit) as Array<{
        plan_json: string;
      }>
    ).map((r) => JSON.parse(r.plan_json) as CanaryPlan);
  }

  /** Plans that are running or waiting and due now. */
  due(now: number): CanaryPlan[] {
    return (
      this.db
        .prepare(
          "SELECT plan_json FROM canary_plans WHERE state IN ('running', 'waiting') AND next_at <= ? ORDER BY next_at",
        )
        .all(now) as Array<{ plan_json: string }>
    ).map((r) => JSON.parse(r.plan_json) as CanaryPlan);
  }

  save(plan: CanaryPlan): void {
    this.db
      .prepare('UPDATE canary_plans SET state = ?, next_at = ?, plan_json = ? WHERE id = ?')
      .run(plan.state, plan.nextAt, JSON.stringify(plan), plan.id);
  }

  gate(key: string): CanaryGate | undefined {
    const row = this.db.prepare('SELECT key, ticket, opened_at FROM canary_gates WHERE key = ?').get(key) as
      | { key: string; ticket: string | null; opened_at: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      key: row.key,
      ...(row.ticket ? { ticket: row.ticket } : {}),
      ...(row.opened_at ? { openedAt: row.opened_at } : {}),
    };
  }

  setGateTicket(key: string, ticket: string): void {
    this.db
      .prepare(
        'INSERT INTO canary_gates (key, ticket) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET ticket = excluded.ticket',
      )
      .run(key, ticket);
  }

  openGate(key: string): void {
    this.db
      .prepare(
        'INSERT INTO canary_gates (key, opened_at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET opened_at = excluded.opened_at',
      )
      .run(key, new Date().toISOString());
  }

  close(): void {
    this.db.close();
  }
}
