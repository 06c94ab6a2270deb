/**
 * `${name}` placeholders in scenario data: values known only once the scenario exists on the cluster
 * (generated pod names, a certificate's expiry), and `${now-3d}` / `${now+10m}` timestamps.
 */

export type Vars = Record<string, string>;

const PLACEHOLDER = /\$\{([^}]+)\}/g;
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "2h", "3d" → milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (use 90s, 5m, 2h or 3d)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function resolve(key: string, vars: Vars, now: number): string {
  const rel = /^now(?:([+-])(\d+[smhd]))?$/.exec(key);
  if (rel) {
    const offset = rel[2] ? durationMs(rel[2]) * (rel[1] === '-' ? -1 : 1) : 0;
    return new Date(now + offset).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  const value = vars[key];
  if (value === undefined) {
    const known = Object.keys(vars).sort().join(', ') || 'none';
    throw new Error(`unknown placeholder \${${key}} (known: ${known}, now±duration)`);
  }
  return value;
}

/** Replaces placeholders in a string. */
export function fill(text: string, vars: Vars, now = Date.now()): string {
  return text.replace(PLACEHOLDER, (_, key: string) => resolve(key.trim(), vars, now));
}

/** Replaces placeholders in every string of a JSON-like value. */
export function fillDeep<T>(value: T, vars: Vars, now = Date.now()): T {
  if (typeof value === 'string') return fill(value, vars, now) as T;
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, vars, now)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, vars, now)])) as T;
  }
  return value;
}

/** The placeholder names a value uses (timestamps excluded). */
export function placeholders(value: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(PLACEHOLDER))
        if (!/^now([+-]\d+[smhd])?$/.test(m[1]!.trim())) found.add(m[1]!.trim());
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return [...found];
}
