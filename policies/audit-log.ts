import type Database from 'better-sqlite3';
import { migrateSqlite } from '../state/migrations.js';
import { openSqlite } from '../state/sqlite.js';
import {
  auditKeyId,
  auditMac,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  type IndexedColumns,
  indexedColumns,
} from './audit-chain.js';
import { AUDIT_MIGRATIONS, NOTABLE, NOTABLE_SQL } from './audit-schema.js';
import { type AuditAnchor, type StoredRow, type VerifyReport, verifyChain } from './audit-verify.js';
import type { AuditRecord, AuditSink } from './types.js';

export type { AuditAnchor, AuditProblem, MacReport, VerifyReport } from './audit-verify.js';

/** A record read back, with its place in the chain (and its MAC, when written with a key). */
export type AuditEntry = AuditRecord & { seq: number; hash: string; prevHash: string; mac?: string };

export interface AuditFilter {
  /** Principal id, exactly (`slack:U123`). */
  principal?: string;
  /** The person behind the principal, as the policy maps identities (not indexed). */
  person?: string;
  /** Approval ticket id (not indexed). */
  ticketId?: string;
  source?: string;
  tool?: string;
  kind?: AuditRecord['kind'];
  /** A result's status (`success`, `denied`…) or a decision's effect (`allow`, `deny`, `needs-approval`). */
  outcome?: string;
  /** ISO 8601 time, inclusive. */
  since?: string;
  /** ISO 8601 time, exclusive. */
  until?: string;
  /** Substring of the record's JSON, or of a value in it (case-insensitive for ASCII). */
  text?: string;
  /** How many of the newest matches `search` returns (default 100). */
  limit?: number;
}

export interface AuditLogOptions {
  /**
   * `NORMAL` (default): a returned `record` survives the process being killed; the last records
   * may be lost if the machine loses power. `FULL`: also survives power loss, one fsync per record.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * A secret kept outside the database (a file only Kubemate can read, or its environment). With
   * it, each record also carries an HMAC of its seq and chain hash, so the chain cannot be rewritten
   * by someone who can write the database but not read the key; `verify` checks the MACs.
   */
  hmacKey?: Buffer;
}

const ROW = 'seq, at, principal, source, tool, kind, outcome, record, prev_hash, hash, mac';
const EQUALS = ['principal', 'source', 'tool', 'kind', 'outcome'] as const;

/**
 * The tamper-evident audit store: one SQLite table, appended to and never changed. Each row's hash
 * covers the previous row's hash, its canonical JSON and its seq, so editing, deleting or moving
 * any record breaks the chain at that seq. Rewriting the whole chain is caught by the MACs when a
 * key is configured (see AuditLogOptions.hmacKey), and truncating the newest records by an anchor
 * kept outside the log (`head()` → `verify({ anchors })`; the server publishes heads to its log and
 * /metrics).
 */
export class AuditLog implements AuditSink {
  private readonly db: Database.Database;
  private readonly append: (json: string, columns: IndexedColumns) => number;
  private readonly headStmt: Database.Statement<[], { seq: number; hash: string; mac: string | null }>;
  private readonly byHashStmt: Database.Statement<[], { seq: number; hash: string }>;
  private readonly hashAtStmt: Database.Statement<[number], { hash: string }>;

  constructor(
    readonly path: string,
    private readonly options: AuditLogOptions = {},
  ) {
    this.db = openSqlite(path, { synchronous: options.synchronous === 'FULL' ? 'FULL' : 'NORMAL' });
    migrateSqlite(this.db, 'audit', AUDIT_MIGRATIONS);
    this.headStmt = this.db.prepare('SELECT seq, hash, mac FROM audit ORDER BY seq DESC LIMIT 1');
    this.byHashStmt = this.db.prepare('SELECT seq, hash FROM audit');
    this.hashAtStmt = this.db.prepare('SELECT hash FROM audit WHERE seq = ?');
    const insert = this.db.prepare(`INSERT INTO audit (${ROW}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const key = options.hmacKey;
    // IMMEDIATE takes the write lock before reading the head, so two processes never chain to the same record.
    this.append = this.db.transaction((json: string, columns: IndexedColumns) => {
      const head = this.headStmt.get();
      const seq = (head?.seq ?? 0) + 1;
      const prev_hash = head?.hash ?? GENESIS_HASH;
      const { at, principal, source, tool, kind, outcome } = columns;
      const hash = chainHash(prev_hash, json, seq);
      const mac = key ? auditMac(key, seq, hash) : null;
      insert.run(seq, at, principal, source, tool, kind, outcome, json, prev_hash, hash, mac);
      return seq;
    }).immediate;
  }

  /** Appends one record and returns its seq. Durable (see `synchronous`) once it returns. */
  record(entry: AuditRecord): number {
    return this.append(canonicalJson(entry), indexedColumns(entry));
  }

  /** The newest record's seq and hash (and MAC): write it down elsewhere to detect later truncation. */
  head(): (AuditAnchor & { mac?: string }) | undefined {
    const row = this.headStmt.get();
    if (!row) return undefined;
    return { seq: row.seq, hash: row.hash, ...(row.mac ? { mac: row.mac } : {}) };
  }

  /** Whether records are written with a MAC key. */
  get keyed(): boolean {
    return this.options.hmacKey !== undefined;
  }

  /** The id of the MAC key records are written with (it reveals nothing of the key). */
  get keyId(): string | undefined {
    return this.options.hmacKey ? auditKeyId(this.options.hmacKey) : undefined;
  }

  /**
   * Checks the hash chain, the indexed columns, the anchors given and, with a key (by default the
   * one this log writes with), every record's MAC. Without a key, MACs are counted, not checked.
   */
  verify(options: { anchors?: AuditAnchor[]; hmacKey?: Buffer } = {}): VerifyReport {
    const db = this.db;
    return verifyChain(
      {
        rows: () => db.prepare<[], StoredRow>(`SELECT ${ROW} FROM audit ORDER BY seq`).iterate(),
        seqsOfHashes: (wanted) => {
          const found = new Map<string, number>();
          for (const r of this.byHashStmt.iterate()) if (wanted.has(r.hash)) found.set(r.hash, r.seq);
          return found;
        },
        hashAt: (seq) => this.hashAtStmt.get(seq)?.hash,
      },
      options.anchors,
      options.hmacKey ?? this.options.hmacKey,
    );
  }

  /** The newest `n` records, oldest first. */
  tail(n = 20): AuditEntry[] {
    const rows = this.db
      .prepare<[number], StoredRow>(`SELECT ${ROW} FROM audit ORDER BY seq DESC LIMIT ?`)
      .all(positive(n, 'n'));
    return rows.reverse().map(toEntry);
  }

  /** The newest `limit` records matching every given filter, oldest first. */
  search(filter: AuditFilter = {}): AuditEntry[] {
    const { sql, params } = where(filter);
    const rows = this.db
      .prepare<unknown[], StoredRow>(`SELECT ${ROW} FROM audit ${sql} ORDER BY seq DESC LIMIT ?`)
      .all(...params, positive(filter.limit ?? 100, 'limit'));
    return rows.reverse().map(toEntry);
  }

  /**
   * Streams matching records, oldest first, as JSON lines: the record's fields plus `seq`, `hash`,
   * `prevHash` and, when written with a key, `mac`. Dropping those and hashing the canonical JSON of
   * the rest re-checks a line offline: sha256(prevHash + "\n" + json + "\n" + seq); with the key,
   * mac is "<key id>:" + HMAC-SHA256(key, "kubemate-audit-mac-v1\n" + seq + "\n" + hash).
   * Returns the number of lines written.
   */
  export(write: (line: string) => void, filter: Omit<AuditFilter, 'limit'> = {}): number {
    const { sql, params } = where(filter);
    let lines = 0;
    const stmt = this.db.prepare<unknown[], StoredRow>(`SELECT ${ROW} FROM audit ${sql} ORDER BY seq`);
    for (const row of stmt.iterate(...params)) {
      write(canonicalJson(toEntry(row)));
      lines++;
    }
    return lines;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toEntry(row: StoredRow): AuditEntry {
  return {
    ...(JSON.parse(row.record) as AuditRecord),
    seq: row.seq,
    hash: row.hash,
    prevHash: row.prev_hash,
    ...(row.mac ? { mac: row.mac } : {}),
  };
}

function where(filter: AuditFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const key of EQUALS) {
    if (filter[key] === undefined) continue;
    clauses.push(`${key} = ?`);
    params.push(filter[key]);
  }
  for (const key of ['person', 'ticketId'] as const) {
    if (filter[key] === undefined) continue;
    clauses.push(`json_extract(record, '$.${key}') = ?`);
    params.push(filter[key]);
  }
  // Repeating the partial index's own condition, word for word, is what lets SQLite use it.
  if (filter.outcome !== undefined && NOTABLE.includes(filter.outcome)) clauses.push(NOTABLE_SQL);
  if (filter.since !== undefined) {
    clauses.push('at >= ?');
    params.push(isoTime(filter.since, 'since'));
  }
  if (filter.until !== undefined) {
    clauses.push('at < ?');
    params.push(isoTime(filter.until, 'until'));
  }
  if (filter.text) {
    // Either as written in the JSON (`"replicas":3`) or as it reads inside a value (`role "viewer"`).
    const forms = [...new Set([filter.text, JSON.stringify(filter.text).slice(1, -1)])];
    clauses.push(`(${forms.map(() => "record LIKE ? ESCAPE '\\'").join(' OR ')})`);
    params.push(...forms.map((f) => `%${f.replace(/[\\%_]/g, '\\$&')}%`));
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Records carry `toISOString()` times, so normalising the bound makes string comparison exact. */
function isoTime(value: string, name: string): string {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) {
    throw new RangeError(
      `${name}: '${value}' is not a time; use ISO 8601, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`,
    );
  }
  return t.toISOString();
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
