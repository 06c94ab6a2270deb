import { randomBytes } from 'node:crypto';
import type { PgState } from '../state/postgres.js';
import { PgSql, type SqlDb, SqliteSql } from '../state/sql.js';
import { openSqlite } from '../state/sqlite.js';
import type { RunState } from './state.js';
import { AGENT_MIGRATIONS } from './store-schema.js';
import type { AgentAnswer, AnswerStatus } from './types.js';

export type RunStatus = 'running' | AnswerStatus;

export interface ThreadTurn {
  runId: string;
  question: string;
  answer: string;
  at: string;
}

/** What degraded mode remembers about a thread, so "and its logs?" knows what "its" is. */
export interface ThreadContext {
  namespace?: string;
  name?: string;
  kind?: string;
}

export interface RunRecord {
  id: string;
  threadId: string;
  principalId: string;
  status: RunStatus;
  ticketId?: string;
  state: RunState;
  answer?: AgentAnswer;
  createdAt: string;
  updatedAt: string;
}

export class AgentStoreError extends Error {
  constructor(
    readonly code: 'not_found' | 'forbidden' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'AgentStoreError';
  }
}

interface RunRow {
  id: string;
  thread_id: string;
  principal_id: string;
  status: RunStatus;
  ticket_id: string | null;
  state_json: string;
  answer_json: string | null;
  created_at: string;
  updated_at: string;
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/** The agent's store: every call is a promise, whichever backend holds it. */
export interface AgentState {
  createThread(principalId: string): Promise<string>;
  /** The thread, if it exists and belongs to this principal; another person's thread is not found. */
  thread(id: string, principalId: string): Promise<{ id: string; context: ThreadContext }>;
  setContext(threadId: string, context: ThreadContext): Promise<void>;
  /** The last `limit` turns, oldest first. */
  turns(threadId: string, limit: number): Promise<ThreadTurn[]>;
  /** Records the run's turn, or updates its answer when the run already has one (after a resume). */
  recordTurn(threadId: string, runId: string, question: string, answer: string): Promise<void>;
  saveRun(run: {
    id: string;
    status: RunStatus;
    state: RunState;
    ticketId?: string;
    answer?: AgentAnswer;
  }): Promise<void>;
  getRun(id: string): Promise<RunRecord>;
  /** Moves a paused run to running; true for exactly one caller (on any replica), so a run never resumes twice at once. */
  claimPaused(id: string): Promise<boolean>;
  /** The run waiting on a ticket, if any (chat bots resume runs when a ticket is decided). */
  runForTicket(ticketId: string): Promise<string | undefined>;
  close(): void;
}

/**
 * The agent's state: threads with their turns (conversation memory), and runs with everything a
 * paused run needs to continue in another process or on another replica. In SQLite
 * (`<dataDir>/agent.db`) by default, or in the PostgreSQL every replica shares when `pgState` is
 * given; one implementation over state/sql.ts.
 */
export class AgentStore implements AgentState {
  private readonly sql: SqlDb;

  constructor(path: string, pgState?: PgState) {
    this.sql = pgState
      ? new PgSql(pgState, 'agent', AGENT_MIGRATIONS)
      : new SqliteSql(openSqlite(path), 'agent', AGENT_MIGRATIONS);
  }

  close(): void {
    this.sql.close();
  }

  private now(): string {
    return new Date().toISOString();
  }

  async createThread(principalId: string): Promise<string> {
    const id = newId('th');
    const at = this.now();
    await this.sql.op('create_thread', (q) =>
      q.run('INSERT INTO agent_threads (id, principal_id, created_at, updated_at) VALUES (?, ?, ?, ?)', [
        id,
        principalId,
        at,
        at,
      ]),
    );
    return id;
  }

  async thread(id: string, principalId: string): Promise<{ id: string; context: ThreadContext }> {
    const row = await this.sql.op('thread', (q) =>
      q.get<{ principal_id: string; context_json: string | null }>(
        'SELECT principal_id, context_json FROM agent_threads WHERE id = ?',
        [id],
      ),
    );
    if (!row || row.principal_id !== principalId)
      throw new AgentStoreError(
        'not_found',
        `no thread '${id}' of yours; omit the thread to start a new one`,
      );
    return { id, context: row.context_json ? JSON.parse(row.context_json) : {} };
  }

  async setContext(threadId: string, context: ThreadContext): Promise<void> {
    await this.sql.op('set_context', (q) =>
      q.run('UPDATE agent_threads SET context_json = ?, updated_at = ? WHERE id = ?', [
        JSON.stringify(context),
        this.now(),
        threadId,
      ]),
    );
  }

  async turns(threadId: string, limit: number): Promise<ThreadTurn[]> {
    if (limit <= 0) return [];
    const rows = await this.sql.op('turns', (q) =>
      q.all<{ run_id: string; question: string; answer: string; at: string }>(
        'SELECT run_id, question, answer, at FROM agent_turns WHERE thread_id = ? ORDER BY seq DESC LIMIT ?',
        [threadId, limit],
      ),
    );
    return rows.reverse().map((r) => ({ runId: r.run_id, question: r.question, answer: r.answer, at: r.at }));
  }

  recordTurn(threadId: string, runId: string, question: string, answer: string): Promise<void> {
    return this.sql.tx('record_turn', async (q) => {
      // The thread's row is held first: replicas recording turns of one thread number them in turn.
      await q.get(`SELECT id FROM agent_threads WHERE id = ?${q.forUpdate}`, [threadId]);
      const at = this.now();
      const updated = await q.run(
        'UPDATE agent_turns SET answer = ?, at = ? WHERE thread_id = ? AND run_id = ?',
        [answer, at, threadId, runId],
      );
      if (updated === 0) {
        const next = await q.get<{ next: number | string }>(
          'SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM agent_turns WHERE thread_id = ?',
          [threadId],
        );
        await q.run(
          'INSERT INTO agent_turns (thread_id, seq, run_id, question, answer, at) VALUES (?, ?, ?, ?, ?, ?)',
          [threadId, Number(next?.next ?? 1), runId, question, answer, at],
        );
      }
      await q.run('UPDATE agent_threads SET updated_at = ? WHERE id = ?', [at, threadId]);
    });
  }

  async saveRun(run: {
    id: string;
    status: RunStatus;
    state: RunState;
    ticketId?: string;
    answer?: AgentAnswer;
  }): Promise<void> {
    const at = this.now();
    await this.sql.op('save_run', (q) =>
      q.run(
        `INSERT INTO agent_runs (id, thread_id, principal_id, status, ticket_id, state_json, answer_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, ticket_id = excluded.ticket_id,
           state_json = excluded.state_json, answer_json = excluded.answer_json, updated_at = excluded.updated_at`,
        [
          run.id,
          run.state.threadId,
          run.state.principal.id,
          run.status,
          run.ticketId ?? null,
          JSON.stringify(run.state),
          run.answer ? JSON.stringify(run.answer) : null,
          at,
          at,
        ],
      ),
    );
  }

  async getRun(id: string): Promise<RunRecord> {
    const row = await this.sql.op('get_run', (q) =>
      q.get<RunRow>('SELECT * FROM agent_runs WHERE id = ?', [id]),
    );
    if (!row) throw new AgentStoreError('not_found', `no agent run '${id}'`);
    return {
      id: row.id,
      threadId: row.thread_id,
      principalId: row.principal_id,
      status: row.status,
      ...(row.ticket_id ? { ticketId: row.ticket_id } : {}),
      state: JSON.parse(row.state_json),
      ...(row.answer_json ? { answer: JSON.parse(row.answer_json) } : {}),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async claimPaused(id: string): Promise<boolean> {
    const changed = await this.sql.op('claim_paused', (q) =>
      q.run("UPDATE agent_runs SET status = 'running', updated_at = ? WHERE id = ? AND status = 'paused'", [
        this.now(),
        id,
      ]),
    );
    return changed === 1;
  }

  async runForTicket(ticketId: string): Promise<string | undefined> {
    const row = await this.sql.op('run_for_ticket', (q) =>
      q.get<{ id: string }>(
        "SELECT id FROM agent_runs WHERE ticket_id = ? AND status = 'paused' ORDER BY updated_at DESC",
        [ticketId],
      ),
    );
    return row?.id;
  }
}
