/**
 * Bounds for the arguments of a call, which are caller input of any shape: a depth past which a
 * call is refused before anything else reads it, and the most of it an audit record keeps. Both
 * walk the value with an explicit stack, never by recursion, so no input can exhaust the call stack.
 */

/** No tool takes arguments nested deeper than this; deeper input is refused before validation. */
export const MAX_ARG_DEPTH = 32;

export interface AuditBounds {
  /** Containers nested deeper than this are replaced by a marker. */
  maxDepth: number;
  /** Characters kept of one string. */
  maxString: number;
  /** Items kept of one array, keys of one object. */
  maxEntries: number;
  /** Characters of keys and values kept in all (about the size of the record's JSON). */
  maxTotal: number;
}

export const AUDIT_BOUNDS: AuditBounds = {
  maxDepth: 12,
  maxString: 16_384,
  maxEntries: 256,
  maxTotal: 65_536,
};

/** The depth of a JSON-like value (a scalar is 0, `{}` is 1), or undefined when it is at most `limit`. */
export function depthBeyond(value: unknown, limit: number): number | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const here = depth + 1;
    if (here > limit) return here;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push([child, here]);
    }
  }
  return undefined;
}

type Container = unknown[] | Record<string, unknown>;

interface Frame {
  src: Container;
  keys: string[] | undefined;
  length: number;
  i: number;
  out: Container;
  depth: number;
}

/**
 * How a key named `__proto__` is recorded. Kept as `__proto__`, the next plain copy of the record
 * (any `out[key] = value`) would turn it into that copy's prototype: the key would vanish from the
 * record and its value would show through as inherited properties.
 */
export const PROTO_KEY = '[key __proto__]';

function put(out: Container, key: string | number, value: unknown): void {
  if (Array.isArray(out)) out.push(value);
  else out[key === '__proto__' ? PROTO_KEY : (key as string)] = value;
}

/**
 * A copy of `value` small enough to audit: long strings, long lists, deep nesting and everything
 * past the total budget are replaced by markers that say what was left out. Also returns one line
 * describing the cuts, or undefined when nothing was cut. Non-JSON values (functions, symbols) are
 * dropped, bigints become strings, `toJSON` is honoured once per value, and a `__proto__` key is
 * recorded as PROTO_KEY.
 */
export function boundForAudit(
  value: unknown,
  bounds: AuditBounds = AUDIT_BOUNDS,
): { value: unknown; cut: string | undefined } {
  let budget = bounds.maxTotal;
  const cut = { strings: 0, chars: 0, deep: 0, entries: 0 };

  const scalar = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const keep = Math.min(bounds.maxString, Math.max(budget, 64));
      if (v.length <= keep) {
        budget -= v.length + 2;
        return v;
      }
      budget -= keep + 2;
      cut.strings++;
      cut.chars += v.length - keep;
      return `${v.slice(0, keep)}… [cut: ${v.length - keep} more characters not recorded]`;
    }
    budget -= 6;
    if (typeof v === 'bigint') return String(v);
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    return v;
  };
  const jsonOf = (v: unknown, key: string | number): unknown => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      try {
        return (v as { toJSON: (k: string) => unknown }).toJSON(String(key));
      } catch {
        return '[not recorded: the value could not be read]';
      }
    }
    return v;
  };
  const open = (src: Container, depth: number): Frame => {
    const keys = Array.isArray(src) ? undefined : Object.keys(src);
    budget -= 2;
    return {
      src,
      keys,
      length: keys ? keys.length : (src as unknown[]).length,
      i: 0,
      out: Array.isArray(src) ? [] : {},
      depth,
    };
  };

  const root = jsonOf(value, '');
  if (root === null || typeof root !== 'object') return { value: scalar(root), cut: undefined };
  const first = open(root as Container, 1);
  const stack: Frame[] = [first];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.i >= Math.min(f.length, bounds.maxEntries) || budget <= 0) {
      const left = f.length - f.i;
      if (left > 0) {
        cut.entries += left;
        const marker = `[${left} more ${f.keys ? 'keys' : 'items'} not recorded]`;
        put(f.out, '…', marker);
      }
      stack.pop();
      continue;
    }
    const key: string | number = f.keys ? f.keys[f.i]! : f.i;
    f.i++;
    let v: unknown;
    try {
      v = jsonOf((f.src as Record<string | number, unknown>)[key], key);
    } catch {
      v = '[not recorded: the value could not be read]';
    }
    if (f.keys) budget -= String(key).length + 4;
    if (v !== null && typeof v === 'object') {
      if (f.depth >= bounds.maxDepth) {
        cut.deep++;
        put(f.out, key, `[not recorded: nested deeper than ${bounds.maxDepth} levels]`);
        continue;
      }
      const child = open(v as Container, f.depth + 1);
      put(f.out, key, child.out);
      stack.push(child);
      continue;
    }
    put(f.out, key, scalar(v));
  }
  const notes = [
    cut.strings ? `${cut.strings} string(s) shortened by ${cut.chars} characters` : '',
    cut.deep ? `${cut.deep} value(s) nested deeper than ${bounds.maxDepth} levels left out` : '',
    cut.entries ? `${cut.entries} item(s) or key(s) left out` : '',
  ].filter(Boolean);
  return {
    value: first.out,
    cut: notes.length ? `arguments cut for the audit record: ${notes.join(', ')}` : undefined,
  };
}
