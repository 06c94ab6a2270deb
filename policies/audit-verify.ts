import {
  auditKeyId,
  auditMac,
  chainHash,
  GENESIS_HASH,
  type IndexedColumns,
  indexedColumns,
  rawIndexedColumns,
} from './audit-chain.js';
import type { AuditRecord } from './types.js';

/** One row as stored: the indexed columns, the canonical JSON and the two hashes. */
export interface StoredRow extends IndexedColumns {
  seq: number;
  record: string;
  prev_hash: string;
  hash: string;
  /** `<key id>:<hex>` when the record was written with a MAC key, else null. */
  mac: string | null;
}

export interface AuditProblem {
  seq: number;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  count: number;
  problems: AuditProblem[];
  /** Present when a key was given or some record carries a MAC: what the MAC check covered. */
  mac?: MacReport;
}

export interface MacReport {
  /** Records whose MAC was checked against the key (0 without a key). */
  checked: number;
  /** Records without a MAC that were written before the first record with one. */
  unkeyedBefore: number;
  /** Records carrying a MAC (also counted without a key). */
  present: number;
  /** Set when the MACs could not be checked, and why. */
  note?: string;
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
export function verifyChain(source: ChainSource, anchors: AuditAnchor[] = [], macKey?: Buffer): VerifyReport {
  const problems: AuditProblem[] = [];
  const suspects: Suspect[] = [];
  const macs = macChecker(macKey);
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  for (const row of source.rows()) {
    count++;
    macs.row(row);
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
  const mac = macs.finish(problems);
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
  return { ok: problems.length === 0, count, problems, ...(mac ? { mac } : {}) };
}

/**
 * The MAC side of verification. With the key: every MAC must match; once one record carries a MAC,
 * every later one must too; and the newest record must carry one, since a chain rewritten without
 * the key can only drop them. Records older than the first MAC (written before a key was set) are
 * counted, not failed: the hash chain and anchors still cover them. Without the key, MACs are
 * counted and left unchecked.
 */
function macChecker(key: Buffer | undefined) {
  const keyId = key ? auditKeyId(key) : undefined;
  const problems: AuditProblem[] = [];
  const missing: number[] = [];
  let checked = 0;
  let present = 0;
  let unkeyedBefore = 0;
  let last: StoredRow | undefined;
  return {
    row(row: StoredRow) {
      last = row;
      if (row.mac === null) {
        if (present > 0) missing.push(row.seq);
        else unkeyedBefore++;
        return;
      }
      present++;
      if (!key) return;
      checked++;
      const id = row.mac.split(':', 1)[0];
      if (id !== keyId) {
        problems.push({
          seq: row.seq,
          problem: `record ${row.seq} has a MAC made with another key (key id ${id}; the key given has id ${keyId})`,
        });
      } else if (row.mac !== auditMac(key, row.seq, row.hash)) {
        problems.push({
          seq: row.seq,
          problem: `record ${row.seq} does not match its MAC: it was written or rewritten by someone without the key`,
        });
      }
    },
    finish(out: AuditProblem[]): MacReport | undefined {
      if (!key) {
        return present > 0
          ? { checked: 0, unkeyedBefore, present, note: 'no MAC key given: MACs not checked' }
          : undefined;
      }
      for (const [from, to] of ranges(missing)) {
        out.push({
          seq: from,
          problem: `${from === to ? `record ${from} has` : `records ${from} to ${to} have`} no MAC although earlier records do: the MACs were stripped, or written without the key`,
        });
      }
      if (last && last.mac === null && !missing.includes(last.seq)) {
        out.push({
          seq: last.seq,
          problem: `the newest record (${last.seq}) has no MAC although a key was given: the chain was rewritten without the key, or Kubemate writes without it`,
        });
      }
      out.push(...problems);
      return { checked, unkeyedBefore, present };
    },
  };
}

/** Consecutive runs of ascending numbers, as [first, last] pairs. */
function ranges(seqs: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of seqs) {
    const tail = out.at(-1);
    if (tail && tail[1] + 1 === s) tail[1] = s;
    else out.push([s, s]);
  }
  return out;
}

function missing(from: number, next: number): string {
  const what = next - from === 1 ? `record ${from} is missing` : `records ${from} to ${next - 1} are missing`;
  const context = from === 1 ? `the log starts at seq ${next}` : `seq ${from - 1} is followed by seq ${next}`;
  return `${what} (deleted): ${context}`;
}

function explain(source: ChainSource, suspects: Suspect[]): AuditProblem[] {
  if (suspects.length === 0) return [];
  const holders = source.seqsOfHashes(new Set(suspects.map((s) => s.row.prev_hash)));
  const holderOf = (row: StoredRow) => (row.prev_hash === GENESIS_HASH ? 0 : holders.get(row.prev_hash));
  const origins = writtenSeqs(
    new Map(suspects.filter((s) => s.edited).map((s) => [s.row.seq, s.row])),
    holderOf,
  );
  const originOf = (seq: number) => (origins.has(seq) ? origins.get(seq) : seq);
  const out: AuditProblem[] = [];
  for (const { row, edited, unlinked } of suspects) {
    const { seq } = row;
    const original = originOf(seq);
    if (original !== undefined && original !== seq) {
      const how =
        holderOf(row) === undefined
          ? ', and the record written before it is gone: records were deleted and the rest renumbered'
          : ': records were reordered';
      out.push({ seq, problem: `seq ${seq} holds the record written as seq ${original}${how}` });
      continue;
    }
    if (edited)
      out.push({ seq, problem: `record ${seq} does not match its hash: it was edited after it was written` });
    if (!unlinked) continue;
    const before = holderOf(row);
    // Chained after the record written as seq-1, which was itself moved: the move is already reported.
    if (before !== undefined && originOf(before) === seq - 1) continue;
    const where = before === undefined ? '' : ` (it was chained after the record now at seq ${before})`;
    out.push({
      seq,
      problem: `chain broken between seq ${seq - 1} and seq ${seq}: record ${seq} was chained after a different record${where}; record ${seq - 1} was rewritten, or ${seq} was moved or inserted`,
    });
  }
  return out;
}

/**
 * The seq each edited-looking row was written at, when it can be found: a moved row still hashes
 * correctly with its original seq, which is one more than the original seq of the record it was
 * chained to. Rows whose predecessor is gone (renumbered after a deletion) are tried at nearby seqs.
 * Undefined means the content itself changed.
 */
function writtenSeqs(
  edited: Map<number, StoredRow>,
  holderOf: (row: StoredRow) => number | undefined,
): Map<number, number | undefined> {
  const origin = new Map<number, number | undefined>();
  const fits = (row: StoredRow, seq: number) =>
    seq > 0 && chainHash(row.prev_hash, row.record, seq) === row.hash;
  for (const start of edited.keys()) {
    // Walk back through edited predecessors to one whose origin is known, then resolve forwards.
    const path: StoredRow[] = [];
    const seen = new Set<number>();
    let at: number | undefined = start;
    let base: number | undefined;
    for (;;) {
      if (at === undefined || seen.has(at)) break;
      const row = edited.get(at);
      if (!row) {
        base = at;
        break;
      }
      if (origin.has(at)) {
        base = origin.get(at);
        break;
      }
      seen.add(at);
      path.push(row);
      at = holderOf(row);
    }
    for (const row of path.reverse()) {
      let seq = base === undefined ? undefined : base + 1;
      if (seq === undefined || !fits(row, seq)) seq = base === undefined ? nearby(row, fits) : undefined;
      origin.set(row.seq, seq);
      base = seq;
    }
  }
  return origin;
}

function nearby(row: StoredRow, fits: (row: StoredRow, seq: number) => boolean): number | undefined {
  for (let d = 1; d <= 64; d++) {
    if (fits(row, row.seq + d)) return row.seq + d;
    if (fits(row, row.seq - d)) return row.seq - d;
  }
  return undefined;
}

function columnProblem(row: StoredRow): string | undefined {
  let expected: IndexedColumns;
  let raw: IndexedColumns;
  try {
    const record = JSON.parse(row.record) as AuditRecord;
    expected = indexedColumns(record);
    raw = rawIndexedColumns(record);
  } catch {
    return `record ${row.seq} is not a readable audit record: it was edited after it was written`;
  }
  for (const key of Object.keys(expected) as Array<keyof IndexedColumns>) {
    if (expected[key] !== row[key] && raw[key] !== row[key]) {
      return `record ${row.seq}: column ${key} reads ${JSON.stringify(row[key])} but the record says ${JSON.stringify(expected[key])}: the row was edited outside the audit log`;
    }
  }
  return undefined;
}
