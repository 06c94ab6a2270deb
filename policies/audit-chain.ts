import { hash } from 'node:crypto';
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
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) as string | undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return write((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${write(value[i]) ?? 'null'}`;
    return `${out}]`;
  }
  let out = '{';
  for (const key of Object.keys(value).sort()) {
    const v = write((value as Record<string, unknown>)[key]);
    if (v !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${v}`;
  }
  return `${out}}`;
}

/**
 * sha256(prev_hash || "\n" || canonical JSON || "\n" || seq), hex. The newlines cannot occur inside
 * a hex hash or inside JSON text, so the three parts can never be confused with each other.
 */
export function chainHash(prevHash: string, json: string, seq: number): string {
  return hash('sha256', `${prevHash}\n${json}\n${seq}`, 'hex');
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
