import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { migrateSqlite } from '../state/migrations.js';
import { openSqlite } from '../state/sqlite.js';
import { APPROVALS_MIGRATIONS } from './approvals-schema.js';
import { canonicalJson, ticketHash } from './canonical.js';
import type { Principal } from './types.js';

export type TicketStatus =
  | 'pending'
  | 'approved'
  | 'executing'
  | 'executed'
  | 'failed'
  | 'rejected'
  | 'expired';

export interface Ticket {
  id: string;
  tool: string;
  args: Record<string, unknown>;
  argsHash: string;
  requester: Principal;
  requesterPerson: string;
  rule: string;
  required: { count: number; groups?: string[] };
  /**
   * For a tool that takes a cluster, when the call named none: the cluster it resolved to when the
   * ticket was made. Part of the hash; the ticket never runs once the default cluster is another.
   */
  defaultCluster?: string;
  /** Plain-language statement of what will run, for the approver. */
  plan: string;
  status: TicketStatus;
  createdAt: string;
  expiresAt: string;
  approvals: Array<{ person: string; principalId: string; at: string }>;
  decidedBy?: string;
  note?: string;
  outcome?: { status: string; text: string; at: string };
}

export class ApprovalError extends Error {
  constructor(
    readonly code: 'not_found' | 'not_pending' | 'expired' | 'duplicate' | 'forbidden' | 'mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

interface Row {
  id: string;
  tool: string;
  args_json: string;
  args_hash: string;
  requester_json: string;
  requester_person: string;
  rule: string;
  required_json: string;
  plan: string;
  status: TicketStatus;
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  note: string | null;
  outcome_json: string | null;
  default_cluster: string | null;
  claimed_at: string | null;
}

type MaybePromise<T> = T | Promise<T>;

/** What a caller asks a ticket for. */
export interface TicketRequest {
  tool: string;
  args: Record<string, unknown>;
  requester: Principal;
  requesterPerson: string;
  rule: string;
  required: { count: number; groups?: string[] };
  plan: string;
  /** See Ticket.defaultCluster. */
  defaultCluster?: string;
}

/**
 * An approvals store, on either backend: ApprovalStore (SQLite, synchronous) or PgApprovalStore
 * (PostgreSQL, shared by replicas). Callers always `await` its answers.
 */
export interface Approvals {
  request(input: TicketRequest): MaybePromise<Ticket>;
  get(id: string): MaybePromise<Ticket>;
  list(filter?: { status?: TicketStatus; requesterPerson?: string; limit?: number }): MaybePromise<Ticket[]>;
  approve(id: string, approver: { person: string; principalId: string }): MaybePromise<Ticket>;
  reject(id: string, by: string, note?: string): MaybePromise<Ticket>;
  claim(id: string, argsHash: string): MaybePromise<boolean>;
  complete(id: string, outcome: { status: string; text: string }): MaybePromise<Ticket>;
  close(): void;
}

/** How long a ticket may stay `executing` by default before it is taken for lost (a crash). */
export const DEFAULT_EXECUTING_LIMIT_MS = 10 * 60_000;

/**
 * Approval tickets in SQLite. A ticket is bound to a hash of the exact tool and arguments and to
 * its requester; it is single use, expires, and moves pending → approved → executing → executed
 * (or failed), or to rejected / expired. The move to executing is one conditional UPDATE, so a
 * ticket is claimed for execution exactly once, even when approvals race. A ticket still executing
 * `executingLimitMs` after its claim was lost with the process that ran it: it becomes failed,
 * saying that whether the call took effect is unknown.
 */
export class ApprovalStore implements Approvals {
  private readonly db: Database.Database;

  constructor(
    path: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** Longer than any run can take (the pipeline's timeout), so only a lost run is cut short. */
    private readonly executingLimitMs: number = DEFAULT_EXECUTING_LIMIT_MS,
  ) {
    this.db = openSqlite(path);
    migrateSqlite(this.db, 'approvals', APPROVALS_MIGRATIONS);
  }

  close(): void {
    this.db.close();
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  private toTicket(row: Row): Ticket {
    const approvals = this.db
      .prepare('SELECT person, principal_id, at FROM ticket_approvals WHERE ticket_id = ? ORDER BY at')
      .all(row.id) as Array<{ person: string; principal_id: string; at: string }>;
    return {
      id: row.id,
      tool: row.tool,
      args: JSON.parse(row.args_json),
      argsHash: row.args_hash,
      requester: JSON.parse(row.requester_json),
      requesterPerson: row.requester_person,
      rule: row.rule,
      required: JSON.parse(row.required_json),
      ...(row.default_cluster !== null ? { defaultCluster: row.default_cluster } : {}),
      plan: row.plan,
      status: row.status,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      approvals: approvals.map((a) => ({ person: a.person, principalId: a.principal_id, at: a.at })),
      ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
      ...(row.note ? { note: row.note } : {}),
      ...(row.outcome_json ? { outcome: JSON.parse(row.outcome_json) } : {}),
    };
  }

  /**
   * Marks pending tickets past their expiry as expired, and tickets executing for longer than any
   * run can take as failed; called before every read and write.
   */
  private expire(): void {
    const now = this.iso();
    this.db
      .prepare(
        "UPDATE tickets SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= ?",
      )
      .run(now);
    // Tickets claimed before claim times were kept count from their expiry instead.
    this.db
      .prepare(
        `UPDATE tickets SET status = 'failed', outcome_json = json_object(
           'status', 'error',
           'text', 'Kubemate stopped while running this ticket (claimed at ' || COALESCE(claimed_at, 'an unknown time') ||
             ') and never recorded an outcome; whether the call took effect is unknown: check before requesting it again',
           'at', ?)
         WHERE status = 'executing' AND COALESCE(claimed_at, expires_at) <= ?`,
      )
      .run(now, this.iso(this.now() - this.executingLimitMs));
  }

  /** A pending ticket for the same requester and call is reused rather than duplicated. */
  request(input: {
    tool: string;
    args: Record<string, unknown>;
    requester: Principal;
    requesterPerson: string;
    rule: string;
    required: { count: number; groups?: string[] };
    plan: string;
    /** See Ticket.defaultCluster. */
    defaultCluster?: string;
  }): Ticket {
    this.expire();
    const argsHash = ticketHash(input.tool, input.args, input.defaultCluster);
    const existing = this.db
      .prepare("SELECT * FROM tickets WHERE args_hash = ? AND requester_person = ? AND status = 'pending'")
      .get(argsHash, input.requesterPerson) as Row | undefined;
    if (existing) return this.toTicket(existing);
    const id = `apr_${randomBytes(6).toString('hex')}`;
    this.db
      .prepare(
        `INSERT INTO tickets (id, tool, args_json, args_hash, requester_json, requester_person, rule, required_json, plan, status, created_at, expires_at, default_cluster)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      )
      .run(
        id,
        input.tool,
        canonicalJson(input.args),
        argsHash,
        JSON.stringify(input.requester),
        input.requesterPerson,
        input.rule,
        JSON.stringify(input.required),
        input.plan,
        this.iso(),
        this.iso(this.now() + this.ttlMs),
        input.defaultCluster ?? null,
      );
    return this.get(id);
  }

  get(id: string): Ticket {
    this.expire();
    const row = this.db.prepare('SELECT * FROM tickets WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new ApprovalError('not_found', `no approval ticket '${id}'`);
    return this.toTicket(row);
  }

  list(filter: { status?: TicketStatus; requesterPerson?: string; limit?: number } = {}): Ticket[] {
    this.expire();
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.requesterPerson) {
      where.push('requester_person = ?');
      params.push(filter.requesterPerson);
    }
    const sql = `SELECT * FROM tickets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit ?? 100) as Row[]).map((r) => this.toTicket(r));
  }

  /**
   * Records one approval. Returns the ticket; when this approval completes the quorum the ticket
   * becomes approved. The caller has already checked the approver may approve (policy).
   */
  approve(id: string, approver: { person: string; principalId: string }): Ticket {
    return this.db.transaction(() => {
      const ticket = this.get(id);
      if (ticket.status === 'expired')
        throw new ApprovalError('expired', `ticket ${id} expired at ${ticket.expiresAt}`);
      if (ticket.status !== 'pending')
        throw new ApprovalError('not_pending', `ticket ${id} is ${ticket.status}, not pending`);
      if (approver.person === ticket.requesterPerson) {
        throw new ApprovalError(
          'forbidden',
          `${approver.person} requested ticket ${id} and cannot approve it`,
        );
      }
      if (ticket.approvals.some((a) => a.person === approver.person)) {
        throw new ApprovalError('duplicate', `${approver.person} has already approved ticket ${id}`);
      }
      this.db
        .prepare('INSERT INTO ticket_approvals (ticket_id, person, principal_id, at) VALUES (?, ?, ?, ?)')
        .run(id, approver.person, approver.principalId, this.iso());
      if (ticket.approvals.length + 1 >= ticket.required.count) {
        this.db
          .prepare(
            "UPDATE tickets SET status = 'approved', decided_by = ? WHERE id = ? AND status = 'pending'",
          )
          .run(approver.person, id);
      }
      return this.get(id);
    })();
  }

  reject(id: string, by: string, note?: string): Ticket {
    return this.db.transaction(() => {
      const ticket = this.get(id);
      if (ticket.status !== 'pending' && ticket.status !== 'approved') {
        throw new ApprovalError(
          'not_pending',
          `ticket ${id} is ${ticket.status}; only pending tickets can be rejected`,
        );
      }
      this.db
        .prepare("UPDATE tickets SET status = 'rejected', decided_by = ?, note = ? WHERE id = ?")
        .run(by, note ?? null, id);
      return this.get(id);
    })();
  }

  /** Claims an approved ticket for execution; true for exactly one caller, ever. */
  claim(id: string, argsHash: string): boolean {
    this.expire();
    const res = this.db
      .prepare(
        "UPDATE tickets SET status = 'executing', claimed_at = ? WHERE id = ? AND status = 'approved' AND args_hash = ?",
      )
      .run(this.iso(), id, argsHash);
    return res.changes === 1;
  }

  complete(id: string, outcome: { status: string; text: string }): Ticket {
    const final: TicketStatus =
      outcome.status === 'success' || outcome.status === 'no_data' ? 'executed' : 'failed';
    this.db
      .prepare("UPDATE tickets SET status = ?, outcome_json = ? WHERE id = ? AND status = 'executing'")
      .run(final, JSON.stringify({ ...outcome, text: outcome.text.slice(0, 4000), at: this.iso() }), id);
    return this.get(id);
  }
}
