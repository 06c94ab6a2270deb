import { createHash } from 'node:crypto';
import type { AuditRecord } from './types.js';

/** The `prev_hash` of the first record: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) at every depth, so the
 * same record always gives the same bytes and the same hash whatever order its keys were built in.
 * Follows JSON.stringify otherwise: `toJSON` is honoured, undefined and functions are dropped from
 * objects and become null in arrays, non-finite numbers become null.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value);
  if (out === undefined) throw new TypeError('canonicalJson: value has no JSON form');
  return out;
}

function write(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return write((value as { toJSON: () => unknown }).toJSON());
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value) as string | undefined;
  if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const v = write((value as Record<string, unknown>)[key]);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * sha256(prev_hash || "\n" || canonical JSON || "\n" || seq), hex. The newlines cannot occur inside
 * a hex hash or inside JSON text, so the three parts can never be confused with each other.
 */
export function chainHash(prevHash: string, json: string, seq: number): string {
  return createHash('sha256').update(`${prevHash}\n${json}\n${seq}`).digest('hex');
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

export function indexedColumns(r: AuditRecord): IndexedColumns {
  return {
    at: r.at,
    principal: r.principal.id,
    source: r.principal.source,
    tool: r.tool,
    kind: r.kind,
    outcome: r.outcome ?? r.decision?.effect ?? null,
  };
}
