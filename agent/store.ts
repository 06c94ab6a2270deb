import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqlite } from '../state/sqlite.js';
import type { RunState } from './state.js';
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS threads (
  id TEXT PRIMARY KEY,
  principal_id TEXT NOT NULL,
  context_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
  thread_id TEXT NOT NULL REFERENCES threads(id),
  seq INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL REFERENCES threads(id),
  principal_id TEXT NOT NULL,
  status TEXT NOT NULL,
  ticket_id TEXT,
  state_json TEXT NOT NULL,
  answer_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_ticket ON runs(ticket_id);`;

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

/**
 * The agent's state in SQLite (`<dataDir>/agent.db`): threads with their turns (conversation
 * memory), and runs with everything a paused run needs to continue in another process.
 */
export class AgentStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(SCHEMA);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private now(): string {
    return new Date().toISOString();
  }

  createThread(principalId: string): string {
    const id = newId('th');
    const at = this.now();
    this.db
      .prepare('INSERT INTO threads (id, principal_id, created_at, updated_at) VALUES (?, ?, ?, ?)')
      .run(id, principalId, at, at);
    return id;
  }

  /** The thread, if it exists and belongs to this principal; another person's thread is not found. */
  thread(id: string, principalId: string): { id: string; context: ThreadContext } {
    const row = this.db.prepare('SELECT principal_id, context_json FROM threads WHERE id = ?').get(id) as
      | { principal_id: string; context_json: string | null }
      | undefined;
    if (!row || row.principal_id !== principalId)
      throw new AgentStoreError(
        'not_found',
        `no thread '${id}' of yours; omit the thread to start a new one`,
      );
    return { id, context: row.context_json ? JSON.parse(row.context_json) : {} };
  }

  setContext(threadId: string, context: ThreadContext): void {
    this.db
      .prepare('UPDATE threads SET context_json = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(context), this.now(), threadId);
  }

  /** The last `limit` turns, oldest first. */
  turns(threadId: string, limit: number): ThreadTurn[] {
    if (limit <= 0) return [];
    const rows = this.db
      .prepare('SELECT run_id, question, answer, at FROM turns WHERE thread_id = ? ORDER BY seq DESC LIMIT ?')
      .all(threadId, limit) as Array<{ run_id: string; question: string; answer: string; at: string }>;
    return rows.reverse().map((r) => ({ runId: r.run_id, question: r.question, answer: r.answer, at: r.at }));
  }

  /** Records the run's turn, or updates its answer when the run already has one (after a resume). */
  recordTurn(threadId: string, runId: string, question: string, answer: string): void {
    this.db.transaction(() => {
      const at = this.now();
      const updated = this.db
        .prepare('UPDATE turns SET answer = ?, at = ? WHERE thread_id = ? AND run_id = ?')
        .run(answer, at, threadId, runId);
      if (updated.changes === 0) {
        const { next } = this.db
          .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM turns WHERE thread_id = ?')
          .get(threadId) as { next: number };
        this.db
          .prepare(
            'INSERT INTO turns (thread_id, seq, run_id, question, answer, at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(threadId, next, runId, question, answer, at);
      }
      this.db.prepare('UPDATE threads SET updated_at = ? WHERE id = ?').run(at, threadId);
    })();
  }

  saveRun(run: {
    id: string;
    status: RunStatus;
    state: RunState;
    ticketId?: string;
    answer?: AgentAnswer;
  }): void {
    const at = this.now();
    this.db
      .prepare(
        `INSERT INTO runs (id, thread_id, principal_id, status, ticket_id, state_json, answer_json, created_at, updated_at)
         VALUES (@id, @thread, @principal, @status, @ticket, @state, @answer, @at, @at)
         ON CONFLICT(id) DO UPDATE SET status = @status, ticket_id = @ticket, state_json = @state,
           answer_json = @answer, updated_at = @at`,
      )
      .run({
        id: run.id,
        thread: run.state.threadId,
        principal: run.state.principal.id,
        status: run.status,
        ticket: run.ticketId ?? null,
        state: JSON.stringify(run.state),
        answer: run.answer ? JSON.stringify(run.answer) : null,
        at,
      });
  }

  getRun(id: string): RunRecord {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
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

  /** Moves a paused run to running; true for exactly one caller, so a run never resumes twice at once. */
  claimPaused(id: string): boolean {
    return (
      this.db
        .prepare("UPDATE runs SET status = 'running', updated_at = ? WHERE id = ? AND status = 'paused'")
        .run(this.now(), id).changes === 1
    );
  }

  /** The run waiting on a ticket, if any (chat bots resume runs when a ticket is decided). */
  runForTicket(ticketId: string): string | undefined {
    const row = this.db
      .prepare("SELECT id FROM runs WHERE ticket_id = ? AND status = 'paused' ORDER BY updated_at DESC")
      .get(ticketId) as { id: string } | undefined;
    return row?.id;
  }
}
