import { createHmac, hash } from 'node:crypto';
import type { AuditRecord } from './types.js';

/** The `prev_hash` of the first record: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) at every depth, so the
 * same record always gives the same bytes and the same hash whatever order its keys were built in.
 * Follows JSON.stringify otherwise: `toJSON` is honoured, undefined and functions are dropped from
 * objects and become null in arrays, non-finite numbers become null.
 *
 * Written with an explicit stack rather than recursion, so no nesting depth can exhaust the call
 * stack: hashing is the last step of recording, and must not fail on input that got that far.
 */
export function canonicalJson(value: unknown): string {
  const root = resolve(value);
  if (absent(root)) throw new TypeError('canonicalJson: value has no JSON form');
  /** Text to emit as is, or a value (toJSON already applied, never absent) to write. */
  type Task = string | { v: unknown };
  const out: string[] = [];
  const stack: Task[] = [{ v: root }];
  const pushAll = (tasks: Task[]) => {
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  };
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (typeof task === 'string') {
      out.push(task);
      continue;
    }
    const v = task.v;
    if (typeof v !== 'object' || v === null) {
      out.push(JSON.stringify(v) as string);
      continue;
    }
    if (Array.isArray(v)) {
      const tasks: Task[] = ['['];
      for (let i = 0; i < v.length; i++) {
        if (i) tasks.push(',');
        const item = resolve(v[i]);
        tasks.push(absent(item) ? 'null' : { v: item });
      }
      tasks.push(']');
      pushAll(tasks);
      continue;
    }
    const tasks: Task[] = ['{'];
    let n = 0;
    for (const key of Object.keys(v).sort()) {
      const item = resolve((v as Record<string, unknown>)[key]);
      if (absent(item)) continue;
      tasks.push(`${n++ ? ',' : ''}${JSON.stringify(key)}:`, { v: item });
    }
    tasks.push('}');
    pushAll(tasks);
  }
  return out.join('');
}

/** A value after `toJSON`, as JSON.stringify sees it. */
function resolve(value: unknown): unknown {
  let v = value;
  while (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  return v;
}

/** Values JSON.stringify leaves out of objects (and writes as null in arrays). */
function absent(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/**
 * sha256(prev_hash || "\n" || canonical JSON || "\n" || seq), hex. The newlines cannot occur inside
 * a hex hash or inside JSON text, so the three parts can never be confused with each other.
 */
export function chainHash(prevHash: string, json: string, seq: number): string {
  return hash('sha256', `${prevHash}\n${json}\n${seq}`, 'hex');
}

/**
 * A record's MAC: HMAC-SHA256 under a key kept outside the database, over its seq and chain hash.
 * The hash covers every record before it, so the MAC of the newest record vouches for the whole
 * chain: rewriting the chain (recomputing every hash) cannot produce valid MACs without the key.
 * Stored as `<key id>:<hex>`, so a check with another key says so instead of calling it forged.
 */
export function auditMac(key: Buffer, seq: number, chainHashHex: string): string {
  const mac = createHmac('sha256', key)
    .update(`kubemate-audit-mac-v1\n${seq}\n${chainHashHex}`)
    .digest('hex');
  return `${auditKeyId(key)}:${mac}`;
}

/** A short name for a MAC key that reveals nothing of it: the start of an HMAC under the key. */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('kubemate-audit-key-id').digest('hex').slice(0, 12);
}

/** The columns stored beside the record so searches use indexes; `verify` checks they still agree. */
export interface IndexedColumns {
  at: string;
  principal: string;
  source: string;
  tool: string;
  kind: string;
  /** The result's status, or the decision's effect (`allow`, `deny`, `needs-approval`). */
  outcome: string | null;
}

/**
 * A NUL byte becomes U+FFFD in a column: PostgreSQL refuses NUL in text, and a call naming a tool
 * (or a principal) with one must still leave its record. The record itself keeps the exact text
 * (JSON escapes it).
 */
const columnText = (v: string): string => v.replaceAll('\u0000', '\ufffd');

export function indexedColumns(r: AuditRecord): IndexedColumns {
  const raw = rawIndexedColumns(r);
  return {
    at: columnText(raw.at),
    principal: columnText(raw.principal),
    source: columnText(raw.source),
    tool: columnText(raw.tool),
    kind: columnText(raw.kind),
    outcome: raw.outcome,
  };
}

/** The columns as written before NUL bytes were replaced (SQLite took them as they were). */
export function rawIndexedColumns(r: AuditRecord): IndexedColumns {
  return {
    at: r.at,
    principal: r.principal.id,
    source: r.principal.source,
    tool: r.tool,
    kind: r.kind,
    outcome: r.outcome ?? r.decision?.effect ?? null,
  };
}
