import { chainHash, GENESIS_HASH, type IndexedColumns, indexedColumns } from './audit-chain.js';
import type { AuditRecord } from './types.js';

/** One row as stored: the indexed columns, the canonical JSON and the two hashes. */
export interface StoredRow extends IndexedColumns {
  seq: number;
  record: string;
  prev_hash: string;
  hash: string;
}

export interface AuditProblem {
  seq: number;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  count: number;
  problems: AuditProblem[];
}

/** A (seq, hash) pair written down outside the log, e.g. from `kubemate audit head`. */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** What verification reads from the store. */
export interface ChainSource {
  /** Every row in seq order. */
  rows(): Iterable<StoredRow>;
  /** The seq currently holding each of these hashes (only for hashes that are present). */
  seqsOfHashes(hashes: Set<string>): Map<string, number>;
  hashAt(seq: number): string | undefined;
}

interface Suspect {
  row: StoredRow;
  edited: boolean;
  unlinked: boolean;
}

/**
 * Walks the chain once, then explains the rows that failed: a row whose hash only fits another
 * seq was moved (reordered), a row whose hash fits nothing was edited, a row chained after a record
 * that is no longer its predecessor marks a rewrite or an insertion. Gaps in seq are deletions.
 */
export function verifyChain(source: ChainSource, anchors: AuditAnchor[] = []): VerifyReport {
  const problems: AuditProblem[] = [];
  const suspects: Suspect[] = [];
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  for (const row of source.rows()) {
    count++;
    const gap = row.seq > expected;
    if (gap) problems.push({ seq: expected, problem: missing(expected, row.seq) });
    const unlinked = !gap && row.prev_hash !== prevHash;
    const edited = chainHash(row.prev_hash, row.record, row.seq) !== row.hash;
    if (edited || unlinked) suspects.push({ row, edited, unlinked });
    const columns = columnProblem(row);
    if (columns) problems.push({ seq: row.seq, problem: columns });
    prevHash = row.hash;
    expected = row.seq + 1;
  }
  problems.push(...explain(source, suspects));
  for (const a of anchors) {
    const hash = source.hashAt(a.seq);
    if (hash === undefined) {
      problems.push({
        seq: a.seq,
        problem: `anchored record ${a.seq} is missing: the log was truncated or the record deleted`,
      });
    } else if (hash !== a.hash) {
      problems.push({
        seq: a.seq,
        problem: `record ${a.seq} has hash ${hash.slice(0, 12)}… but the anchor says ${a.hash.slice(0, 12)}…: the log was rewritten up to here`,
      });
    }
  }
  problems.sort((a, b) => a.seq - b.seq);
  return { ok: problems.length === 0, count, problems };
}

function missing(from: number, next: number): string {
  const what = next - from === 1 ? `record ${from} is missing` : `records ${from} to ${next - 1} are missing`;
  const context = from === 1 ? `the log starts at seq ${next}` : `seq ${from - 1} is followed by seq ${next}`;
  return `${what} (deleted): ${context}`;
}

function explain(source: ChainSource, suspects: Suspect[]): AuditProblem[] {
  if (suspects.length === 0) return [];
  const holders = source.seqsOfHashes(new Set(suspects.map((s) => s.row.prev_hash)));
  const holderOf = (s: Suspect) => (s.row.prev_hash === GENESIS_HASH ? 0 : holders.get(s.row.prev_hash));
  // Where each moved row was written: one after the record it was chained to.
  const writtenAs = new Map<number, number>();
  for (const s of suspects) {
    const before = holderOf(s);
    if (!s.edited || before === undefined || before + 1 === s.row.seq) continue;
    if (chainHash(s.row.prev_hash, s.row.record, before + 1) === s.row.hash)
      writtenAs.set(s.row.seq, before + 1);
  }
  const out: AuditProblem[] = [];
  for (const s of suspects) {
    const { seq } = s.row;
    const original = writtenAs.get(seq);
    if (original !== undefined) {
      out.push({
        seq,
        problem: `seq ${seq} holds the record written as seq ${original}: records were reordered`,
      });
      continue;
    }
    if (s.edited) {
      out.push({ seq, problem: `record ${seq} does not match its hash: it was edited after it was written` });
    }
    if (s.unlinked) {
      const before = holderOf(s);
      // Chained after a record that was itself moved away from seq-1: the link is intact, the move is reported.
      if (before !== undefined && (writtenAs.get(before) ?? before) === seq - 1) continue;
      const where = before === undefined ? '' : ` (it was chained after the record now at seq ${before})`;
      out.push({
        seq,
        problem: `chain broken between seq ${seq - 1} and seq ${seq}: record ${seq} was chained after a different record${where}; record ${seq - 1} was rewritten, or ${seq} was moved or inserted`,
      });
    }
  }
  return out;
}

function columnProblem(row: StoredRow): string | undefined {
  let expected: IndexedColumns;
  try {
    expected = indexedColumns(JSON.parse(row.record) as AuditRecord);
  } catch {
    return `record ${row.seq} is not a readable audit record: it was edited after it was written`;
  }
  for (const key of Object.keys(expected) as Array<keyof IndexedColumns>) {
    if (expected[key] !== row[key]) {
      return `record ${row.seq}: column ${key} reads ${JSON.stringify(row[key])} but the record says ${JSON.stringify(expected[key])}: the row was edited outside the audit log`;
    }
  }
  return undefined;
}
