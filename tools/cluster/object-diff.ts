/** Field-level differences between two Kubernetes objects, for plans and write results. */

export interface FieldChange {
  op: 'add' | 'remove' | 'change';
  /** `spec.template.spec.containers[main].image`, `data.LOG_LEVEL`, `metadata.labels["app.kubernetes.io/name"]` */
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface DiffOptions {
  /** Paths (as key arrays) to leave out entirely, with everything under them. */
  ignore?: (keys: string[]) => boolean;
}

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

function segment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Lists whose items all carry a distinct `name` (containers, env, ports, volumes) diff by name. */
function byName(list: Json[]): Map<string, Json> | undefined {
  const out = new Map<string, Json>();
  for (const item of list) {
    if (!isObject(item) || typeof item.name !== 'string' || out.has(item.name)) return undefined;
    out.set(item.name, item);
  }
  return out;
}

function walk(
  before: Json,
  after: Json,
  keys: string[],
  path: string,
  opts: DiffOptions,
  out: FieldChange[],
) {
  if (opts.ignore?.(keys)) return;
  if (before === undefined && after === undefined) return;
  if (isObject(before) && isObject(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      walk(before[k], after[k], [...keys, k], `${path}${segment(k)}`, opts, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = byName(before);
    const b = byName(after);
    if (a && b) {
      for (const n of new Set([...a.keys(), ...b.keys()])) {
        walk(a.get(n), b.get(n), [...keys, n], `${path}[${n}]`, opts, out);
      }
      return;
    }
    if (before.length === after.length) {
      before.forEach((v, i) => {
        walk(v, after[i], [...keys, String(i)], `${path}[${i}]`, opts, out);
      });
      return;
    }
  }
  // Created or removed maps and lists are reported leaf by leaf, so every value shows where it goes.
  if (before === undefined && (isObject(after) || (Array.isArray(after) && byName(after)))) {
    walk(Array.isArray(after) ? [] : {}, after, keys, path, opts, out);
    return;
  }
  if (after === undefined && (isObject(before) || (Array.isArray(before) && byName(before)))) {
    walk(before, Array.isArray(before) ? [] : {}, keys, path, opts, out);
    return;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  const p = path.replace(/^\./, '');
  if (before === undefined) out.push({ op: 'add', path: p, after });
  else if (after === undefined) out.push({ op: 'remove', path: p, before });
  else out.push({ op: 'change', path: p, before, after });
}

export function diffObjects(before: Json, after: Json, opts: DiffOptions = {}): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, [], '', opts, out);
  return out;
}

/** A value in one short line: strings quoted, long values cut. */
export function shortValue(v: unknown, max = 80): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** "~ data.LOG_LEVEL: "info" → "debug"", or with hidden values "~ data.pin: (value hidden)". */
export function formatChange(c: FieldChange, hidden = false): string {
  if (hidden) return `${{ add: '+', remove: '-', change: '~' }[c.op]} ${c.path}: (value hidden)`;
  switch (c.op) {
    case 'add':
      return `+ ${c.path}: ${shortValue(c.after)}`;
    case 'remove':
      return `- ${c.path}: ${shortValue(c.before)}`;
    default:
      return `~ ${c.path}: ${shortValue(c.before)} → ${shortValue(c.after)}`;
  }
}

/** At most `max` lines, then how many more there were. */
export function capLines(lines: string[], max: number, indent = '  '): string[] {
  const shown = lines.slice(0, max).map((l) => `${indent}${l}`);
  if (lines.length > max) shown.push(`${indent}… ${lines.length - max} more changes`);
  return shown;
}
