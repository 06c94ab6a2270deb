// Approval tickets in PostgreSQL, shared by every replica. The same ticket life as ApprovalStore
// (policies/approvals.ts): bound to a hash of the exact call, single use, expiring. Approvals of one
// ticket on several replicas take turns on the ticket's row (SELECT … FOR UPDATE), and the move to
// executing is one conditional UPDATE, so a ticket runs once however many replicas race for it.
import { randomBytes } from 'node:crypto';
import type { PgClient, PgState } from '../state/postgres.js';
import { ApprovalError, DEFAULT_EXECUTING_LIMIT_MS, type Ticket, type TicketStatus } from './approvals.js';
import { APPROVALS_MIGRATIONS } from './approvals-schema.js';
import { canonicalJson, ticketHash } from './canonical.js';
import type { Principal } from './types.js';

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
  created_at: Date;
  expires_at: Date;
  decided_by: string | null;
  note: string | null;
  outcome_json: string | null;
  default_cluster: string | null;
}

type Q = Pick<PgClient, 'query'>;
const STORE = 'approvals';

export class PgApprovalStore {
  private constructor(
    private readonly state: PgState,
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly executingLimitMs: number,
  ) {}

  /** Applies the schema migrations, then returns the store. */
  static async open(
    state: PgState,
    ttlMs: number,
    now: () => number = Date.now,
    executingLimitMs: number = DEFAULT_EXECUTING_LIMIT_MS,
  ): Promise<PgApprovalStore> {
    await state.migrate(STORE, APPROVALS_MIGRATIONS);
    return new PgApprovalStore(state, ttlMs, now, executingLimitMs);
  }

  /** The store on a database whose schema is already migrated (app/state.ts migratePostgres). */
  static migrated(
    state: PgState,
    ttlMs: number,
    now: () => number = Date.now,
    executingLimitMs: number = DEFAULT_EXECUTING_LIMIT_MS,
  ): PgApprovalStore {
    return new PgApprovalStore(state, ttlMs, now, executingLimitMs);
  }

  /** The pool belongs to the PgState; closing a store leaves it to its owner. */
  close(): void {}

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  private async toTicket(q: Q, row: Row): Promise<Ticket> {
    const approvals = await q.query<{ person: string; principal_id: string; at: Date }>(
      'SELECT person, principal_id, at FROM ticket_approvals WHERE ticket_id = $1 ORDER BY at, person',
      [row.id],
    );
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
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
      approvals: approvals.rows.map((a) => ({
        person: a.person,
        principalId: a.principal_id,
        at: a.at.toISOString(),
      })),
      ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
      ...(row.note ? { note: row.note } : {}),
      ...(row.outcome_json ? { outcome: JSON.parse(row.outcome_json) } : {}),
    };
  }

  /**
   * See ApprovalStore.expire: pending past expiry → expired; executing past any run → failed. Run as
   * statements of their own before a transaction, so expiring never holds a ticket's lock for long.
   */
  private async expire(): Promise<void> {
    const now = this.iso();
    await this.state.query(
      STORE,
      'expire',
      "UPDATE tickets SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= $1",
      [now],
    );
    await this.state.query(
      STORE,
      'expire',
      `UPDATE tickets SET status = 'failed', outcome_json = json_build_object(
         'status', 'error',
         'text', 'Kubemate stopped while running this ticket (claimed at ' ||
           COALESCE(to_char(claimed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'an unknown time') ||
           ') and never recorded an outcome; whether the call took effect is unknown: check before requesting it again',
         'at', $1::text)::text
       WHERE status = 'executing' AND COALESCE(claimed_at, expires_at) <= $2`,
      [now, this.iso(this.now() - this.executingLimitMs)],
    );
  }

  private async row(q: Q, id: string, lock = false): Promise<Row | undefined> {
    const res = await q.query<Row>(`SELECT * FROM tickets WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return res.rows[0];
  }

  /** A pending ticket for the same requester and call is reused rather than duplicated. */
  async request(input: {
    tool: string;
    args: Record<string, unknown>;
    requester: Principal;
    requesterPerson: string;
    rule: string;
    required: { count: number; groups?: string[] };
    plan: string;
    defaultCluster?: string;
  }): Promise<Ticket> {
    const argsHash = ticketHash(input.tool, input.args, input.defaultCluster);
    await this.expire();
    return this.state.tx(STORE, 'request', async (c) => {
      const id = `apr_${randomBytes(6).toString('hex')}`;
      // The partial unique index makes a concurrent duplicate a no-op; the existing ticket is returned.
      await c.query(
        `INSERT INTO tickets (id, tool, args_json, args_hash, requester_json, requester_person, rule, required_json, plan, status, created_at, expires_at, default_cluster)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12)
         ON CONFLICT (args_hash, requester_person) WHERE status = 'pending' DO NOTHING`,
        [
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
        ],
      );
      const res = await c.query<Row>(
        "SELECT * FROM tickets WHERE args_hash = $1 AND requester_person = $2 AND status = 'pending'",
        [argsHash, input.requesterPerson],
      );
      return this.toTicket(c, res.rows[0]!);
    });
  }

  async get(id: string): Promise<Ticket> {
    await this.expire();
    return this.state.tx(STORE, 'get', async (c) => {
      const row = await this.row(c, id);
      if (!row) throw new ApprovalError('not_found', `no approval ticket '${id}'`);
      return this.toTicket(c, row);
    });
  }

  async list(
    filter: { status?: TicketStatus; requesterPerson?: string; limit?: number } = {},
  ): Promise<Ticket[]> {
    await this.expire();
    return this.state.tx(STORE, 'list', async (c) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status) {
        params.push(filter.status);
        where.push(`status = $${params.length}`);
      }
      if (filter.requesterPerson) {
        params.push(filter.requesterPerson);
        where.push(`requester_person = $${params.length}`);
      }
      params.push(filter.limit ?? 100);
      const res = await c.query<Row>(
        `SELECT * FROM tickets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.length}`,
        params,
      );
      const out: Ticket[] = [];
      for (const r of res.rows) out.push(await this.toTicket(c, r));
      return out;
    });
  }

  /** Records one approval; the ticket's row is locked, so racing approvals are counted one by one. */
  async approve(id: string, approver: { person: string; principalId: string }): Promise<Ticket> {
    await this.expire();
    return this.state.tx(STORE, 'approve', async (c) => {
      const row = await this.row(c, id, true);
      if (!row) throw new ApprovalError('not_found', `no approval ticket '${id}'`);
      const ticket = await this.toTicket(c, row);
      // Expiry is checked again under the row's lock: the sweep before the transaction may have run
      // just before the ticket's time was up.
      if (
        ticket.status === 'expired' ||
        (ticket.status === 'pending' && row.expires_at.getTime() <= this.now())
      )
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
      await c.query(
        'INSERT INTO ticket_approvals (ticket_id, person, principal_id, at) VALUES ($1, $2, $3, $4)',
        [id, approver.person, approver.principalId, this.iso()],
      );
      if (ticket.approvals.length + 1 >= ticket.required.count) {
        await c.query(
          "UPDATE tickets SET status = 'approved', decided_by = $1 WHERE id = $2 AND status = 'pending'",
          [approver.person, id],
        );
      }
      return this.toTicket(c, (await this.row(c, id))!);
    });
  }

  async reject(id: string, by: string, note?: string): Promise<Ticket> {
    await this.expire();
    return this.state.tx(STORE, 'reject', async (c) => {
      const row = await this.row(c, id, true);
      if (!row) throw new ApprovalError('not_found', `no approval ticket '${id}'`);
      if (row.status !== 'pending' && row.status !== 'approved') {
        throw new ApprovalError(
          'not_pending',
          `ticket ${id} is ${row.status}; only pending tickets can be rejected`,
        );
      }
      await c.query("UPDATE tickets SET status = 'rejected', decided_by = $1, note = $2 WHERE id = $3", [
        by,
        note ?? null,
        id,
      ]);
      return this.toTicket(c, (await this.row(c, id))!);
    });
  }

  /** Claims an approved ticket for execution; true for exactly one caller on any replica, ever. */
  async claim(id: string, argsHash: string): Promise<boolean> {
    await this.expire();
    return this.state.tx(STORE, 'claim', async (c) => {
      // Not past its expiry, checked in the same statement that claims it (the row's lock).
      const res = await c.query(
        "UPDATE tickets SET status = 'executing', claimed_at = $1 WHERE id = $2 AND status = 'approved' AND args_hash = $3 AND expires_at > $1",
        [this.iso(), id, argsHash],
      );
      return res.rowCount === 1;
    });
  }

  async complete(id: string, outcome: { status: string; text: string }): Promise<Ticket> {
    const final: TicketStatus =
      outcome.status === 'success' || outcome.status === 'no_data' ? 'executed' : 'failed';
    return this.state.tx(STORE, 'complete', async (c) => {
      await c.query(
        "UPDATE tickets SET status = $1, outcome_json = $2 WHERE id = $3 AND status = 'executing'",
        [final, JSON.stringify({ ...outcome, text: outcome.text.slice(0, 4000), at: this.iso() }), id],
      );
      const row = await this.row(c, id);
      if (!row) throw new ApprovalError('not_found', `no approval ticket '${id}'`);
      return this.toTicket(c, row);
    });
  }
}
