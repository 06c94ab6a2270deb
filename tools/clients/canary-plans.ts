/**
 * Durable plans of `canary_progress`: the steps, where a plan stands, the ticket it waits on and
 * what happened so far. In SQLite (`<dataDir>/canary.db`) by default, or in the PostgreSQL every
 * replica shares, so a plan continues after a restart or on another replica; one implementation over
 * state/sql.ts for both. A runner takes the due plans it advances (a claim on the row, skipped by
 * the other replicas' runners), so a plan is advanced by one replica at a time.
 * Shared by the canary toolset (which creates and reads plans) and the runner app/ starts.
 */
import type { Principal } from '../../policies/types.js';
import type { PgState } from '../../state/postgres.js';
import { num, PgSql, type SqlDb, SqliteSql } from '../../state/sql.js';
import { openSqlite } from '../../state/sqlite.js';
import { CANARY_MIGRATIONS } from './canary-plans-schema.js';

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

/** A Flagger confirm gate for one release: its approval ticket, and whether it is open. */
export interface CanaryGate {
  key: string;
  ticket?: string;
  openedAt?: string;
}

/** The plans and gates; every call is a promise, whichever backend holds them. */
export interface CanaryPlans {
  create(plan: Omit<CanaryPlan, 'id' | 'createdAt'>, id: string): Promise<CanaryPlan>;
  get(id: string): Promise<CanaryPlan | undefined>;
  /** The newest plans first. */
  list(limit?: number): Promise<CanaryPlan[]>;
  /** Plans that are running or waiting and due now (whoever holds them). */
  due(now: number): Promise<CanaryPlan[]>;
  /**
   * Takes the due plans no other runner holds, for `holdMs` or until released: a runner advances
   * only what it took, so two replicas never advance one plan at once. A runner that dies holding a
   * plan gives it up when the hold runs out.
   */
  take(owner: string, now: number, holdMs: number): Promise<CanaryPlan[]>;
  /** Gives a taken plan back (its step is saved). */
  release(id: string, owner: string): Promise<void>;
  save(plan: CanaryPlan): Promise<void>;
  gate(key: string): Promise<CanaryGate | undefined>;
  setGateTicket(key: string, ticket: string): Promise<void>;
  openGate(key: string): Promise<void>;
  close(): void;
}

const plan = (r: { plan_json: string }) => JSON.parse(r.plan_json) as CanaryPlan;

/**
 * The plans in the PostgreSQL every replica shares when `pgState` is given, else in the SQLite file
 * at `path` (the embedded default).
 */
export class CanaryPlanStore implements CanaryPlans {
  private readonly sql: SqlDb;

  constructor(path: string, pgState?: PgState) {
    this.sql = pgState
      ? new PgSql(pgState, 'canary', CANARY_MIGRATIONS)
      : new SqliteSql(openSqlite(path), 'canary', CANARY_MIGRATIONS);
  }

  async create(p: Omit<CanaryPlan, 'id' | 'createdAt'>, id: string): Promise<CanaryPlan> {
    const full: CanaryPlan = { ...p, id, createdAt: new Date().toISOString() };
    await this.sql.op('create', (q) =>
      q.run('INSERT INTO canary_plans (id, state, next_at, plan_json, created_at) VALUES (?, ?, ?, ?, ?)', [
        id,
        full.state,
        full.nextAt,
        JSON.stringify(full),
        full.createdAt,
      ]),
    );
    return full;
  }

  async get(id: string): Promise<CanaryPlan | undefined> {
    const row = await this.sql.op('get', (q) =>
      q.get<{ plan_json: string }>('SELECT plan_json FROM canary_plans WHERE id = ?', [id]),
    );
    return row ? plan(row) : undefined;
  }

  async list(limit = 100): Promise<CanaryPlan[]> {
    const rows = await this.sql.op('list', (q) =>
      q.all<{ plan_json: string }>(
        'SELECT plan_json FROM canary_plans ORDER BY created_at DESC, id DESC LIMIT ?',
        [limit],
      ),
    );
    return rows.map(plan);
  }

  async due(now: number): Promise<CanaryPlan[]> {
    const rows = await this.sql.op('due', (q) =>
      q.all<{ plan_json: string }>(
        "SELECT plan_json FROM canary_plans WHERE state IN ('running', 'waiting') AND next_at <= ? ORDER BY next_at",
        [now],
      ),
    );
    return rows.map(plan);
  }

  take(owner: string, now: number, holdMs: number): Promise<CanaryPlan[]> {
    return this.sql.tx('take', async (q) => {
      const rows = await q.all<{ id: string; plan_json: string; next_at: number | string }>(
        `SELECT id, plan_json, next_at FROM canary_plans
         WHERE state IN ('running', 'waiting') AND next_at <= ? AND claimed_until <= ?
         ORDER BY next_at${q.skipLocked}`,
        [now, now],
      );
      for (const r of rows)
        await q.run('UPDATE canary_plans SET claimed_by = ?, claimed_until = ? WHERE id = ?', [
          owner,
          now + holdMs,
          r.id,
        ]);
      return rows.sort((a, b) => num(a.next_at) - num(b.next_at)).map(plan);
    });
  }

  async release(id: string, owner: string): Promise<void> {
    await this.sql.op('release', (q) =>
      q.run('UPDATE canary_plans SET claimed_by = NULL, claimed_until = 0 WHERE id = ? AND claimed_by = ?', [
        id,
        owner,
      ]),
    );
  }

  async save(p: CanaryPlan): Promise<void> {
    await this.sql.op('save', (q) =>
      q.run('UPDATE canary_plans SET state = ?, next_at = ?, plan_json = ? WHERE id = ?', [
        p.state,
        p.nextAt,
        JSON.stringify(p),
        p.id,
      ]),
    );
  }

  async gate(key: string): Promise<CanaryGate | undefined> {
    const row = await this.sql.op('gate', (q) =>
      q.get<{ key: string; ticket: string | null; opened_at: string | null }>(
        'SELECT key, ticket, opened_at FROM canary_gates WHERE key = ?',
        [key],
      ),
    );
    if (!row) return undefined;
    return {
      key: row.key,
      ...(row.ticket ? { ticket: row.ticket } : {}),
      ...(row.opened_at ? { openedAt: row.opened_at } : {}),
    };
  }

  async setGateTicket(key: string, ticket: string): Promise<void> {
    await this.sql.op('set_gate_ticket', (q) =>
      q.run(
        'INSERT INTO canary_gates (key, ticket) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET ticket = excluded.ticket',
        [key, ticket],
      ),
    );
  }

  async openGate(key: string): Promise<void> {
    await this.sql.op('open_gate', (q) =>
      q.run(
        'INSERT INTO canary_gates (key, opened_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET opened_at = excluded.opened_at',
        [key, new Date().toISOString()],
      ),
    );
  }

  close(): void {
    this.sql.close();
  }
}

/** The plan store for the app's state: PostgreSQL when the app has one, else the SQLite file at `path`. */
export function openCanaryPlanStore(pgState: PgState | undefined, path: string): CanaryPlanStore {
  return new CanaryPlanStore(path, pgState);
}
