// The audit log in PostgreSQL, one hash chain for every replica. An append takes a transaction-scoped
// advisory lock, reads the chain head, and inserts the records chained to it: the database serialises
// appends from all replicas, so no two records ever chain to the same predecessor. Records waiting in
// one process go in together (group commit): one lock and one round trip for many records, and each
// `record` resolves only once its row is committed.
import { LOCKS, type PgState } from '../state/postgres.js';
import {
  auditKeyId,
  auditMac,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  type IndexedColumns,
  indexedColumns,
} from './audit-chain.js';
import type { AuditEntry, AuditFilter } from './audit-log.js';
import { AUDIT_MIGRATIONS } from './audit-schema.js';
import { type AuditAnchor, type StoredRow, type VerifyReport, verifyChain } from './audit-verify.js';
import type { AuditRecord } from './types.js';

const ROW = 'seq, at, principal, source, tool, kind, outcome, record, prev_hash, hash, mac';
const STORE = 'audit';
/** Most records one transaction appends. */
const MAX_BATCH = 500;

interface Waiting {
  json: string;
  columns: IndexedColumns;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

export class PgAuditLog {
  private queue: Waiting[] = [];
  private flushing = false;

  private constructor(
    private readonly state: PgState,
    private readonly options: { hmacKey?: Buffer } = {},
  ) {}

  static async open(state: PgState, options: { hmacKey?: Buffer } = {}): Promise<PgAuditLog> {
    await state.migrate(STORE, AUDIT_MIGRATIONS);
    return new PgAuditLog(state, options);
  }

  get keyed(): boolean {
    return this.options.hmacKey !== undefined;
  }

  get keyId(): string | undefined {
    return this.options.hmacKey ? auditKeyId(this.options.hmacKey) : undefined;
  }

  /** Appends one record; resolves with its seq once committed. */
  record(entry: AuditRecord): Promise<number> {
    const json = canonicalJson(entry);
    const columns = indexedColumns(entry);
    return new Promise((resolve, reject) => {
      this.queue.push({ json, columns, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const seqs = await this.appendBatch(batch);
          for (const [i, w] of batch.entries()) w.resolve(seqs[i]!);
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          // One record the database refuses must not take the others down: each goes alone, so
          // the others commit and only the refused one's caller gets the error.
          for (const w of batch) {
            try {
              w.resolve((await this.appendBatch([w]))[0]!);
            } catch (one) {
              w.reject(one);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private appendBatch(batch: Waiting[]): Promise<number[]> {
    const key = this.options.hmacKey;
    return this.state.tx(STORE, 'append', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.audit]);
      const head = await c.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1',
      );
      let seq = Number(head.rows[0]?.seq ?? 0);
      let prev = head.rows[0]?.hash ?? GENESIS_HASH;
      const params: unknown[] = [];
      const tuples: string[] = [];
      const seqs: number[] = [];
      for (const w of batch) {
        seq++;
        const hash = chainHash(prev, w.json, seq);
        const { at, principal, source, tool, kind, outcome } = w.columns;
        const values = [seq, at, principal, source, tool, kind, outcome, w.json, prev, hash];
        values.push(key ? auditMac(key, seq, hash) : null);
        tuples.push(`(${values.map((_, i) => `$${params.length + i + 1}`).join(', ')})`);
        params.push(...values);
        seqs.push(seq);
        prev = hash;
      }
      await c.query(`INSERT INTO audit (${ROW}) VALUES ${tuples.join(', ')}`, params);
      return seqs;
    });
  }

  async head(): Promise<(AuditAnchor & { mac?: string }) | undefined> {
    const res = await this.state.query<{ seq: string; hash: string; mac: string | null }>(
      STORE,
      'head',
      'SELECT seq, hash, mac FROM audit ORDER BY seq DESC LIMIT 1',
    );
    const row = res.rows[0];
    if (!row) return undefined;
    return { seq: Number(row.seq), hash: row.hash, ...(row.mac ? { mac: row.mac } : {}) };
  }

  /** Every row, read in pages of seq order (kept in memory while the chain is checked). */
  private async allRows(): Promise<StoredRow[]> {
    const rows: StoredRow[] = [];
    let after = 0;
    for (;;) {
      const res = await this.state.query<StoredRow & { seq: string }>(
        STORE,
        'read',
        `SELECT ${ROW} FROM audit WHERE seq > $1 ORDER BY seq LIMIT 10000`,
        [after],
      );
      for (const r of res.rows) rows.push({ ...r, seq: Number(r.seq) });
      if (res.rows.length < 10000) return rows;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Same checks as AuditLog.verify: chain, indexed columns, anchors and, with a key, MACs. */
  async verify(options: { anchors?: AuditAnchor[]; hmacKey?: Buffer } = {}): Promise<VerifyReport> {
    const rows = await this.allRows();
    const bySeq = new Map(rows.map((r) => [r.seq, r.hash]));
    return verifyChain(
      {
        rows: () => rows,
        seqsOfHashes: (wanted) => {
          const found = new Map<string, number>();
          for (const r of rows) if (wanted.has(r.hash)) found.set(r.hash, r.seq);
          return found;
        },
        hashAt: (seq) => bySeq.get(seq),
      },
      options.anchors,
      options.hmacKey ?? this.options.hmacKey,
    );
  }

  /** The newest `n` records, oldest first. */
  async tail(n = 20): Promise<AuditEntry[]> {
    return this.search({ limit: n });
  }

  /** The newest `limit` records matching the equality filters (principal, source, tool, kind, outcome). */
  async search(
    filter: Pick<AuditFilter, 'principal' | 'source' | 'tool' | 'kind' | 'outcome' | 'limit'> = {},
  ) {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const k of ['principal', 'source', 'tool', 'kind', 'outcome'] as const) {
      if (filter[k] === undefined) continue;
      params.push(filter[k]);
      clauses.push(`${k} = $${params.length}`);
    }
    const limit = filter.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    params.push(limit);
    const res = await this.state.query<StoredRow & { seq: string }>(
      STORE,
      'search',
      `SELECT ${ROW} FROM audit ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return res.rows.reverse().map(
      (row): AuditEntry => ({
        ...(JSON.parse(row.record) as AuditRecord),
        seq: Number(row.seq),
        hash: row.hash,
        prevHash: row.prev_hash,
        ...(row.mac ? { mac: row.mac } : {}),
      }),
    );
  }

  /** Waits for records still queued; the pool belongs to the PgState. */
  async close(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
