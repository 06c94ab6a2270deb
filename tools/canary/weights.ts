/**
 * Traffic weights as percentages: what a split sends where now, and what a shift, promotion or
 * rollback would make of it. Pure: no API calls, so every rule is unit tested on plain data.
 */
import { suggestion, ToolError } from '../core/errors.js';

export interface Backend {
  /** The backend as its route names it: the Service name, or namespace/name across namespaces. */
  name: string;
  /** The weight as written in the object (relative; Gateway API defaults it to 1). */
  weight: number;
}

export type Percentages = Record<string, number>;

/** Each backend's share of the traffic in whole percent, largest remainders first so they add up to 100. */
export function percentages(backends: readonly Backend[]): Percentages {
  const total = backends.reduce((n, b) => n + Math.max(0, b.weight), 0);
  const out: Percentages = {};
  if (total === 0) {
    for (const b of backends) out[b.name] = 0;
    return out;
  }
  const exact = backends.map((b) => ({ name: b.name, v: (Math.max(0, b.weight) * 100) / total }));
  let left = 100;
  for (const e of exact) {
    out[e.name] = Math.floor(e.v);
    left -= Math.floor(e.v);
  }
  for (const e of [...exact].sort((a, b) => b.v - Math.floor(b.v) - (a.v - Math.floor(a.v)))) {
    if (left <= 0) break;
    out[e.name]! += 1;
    left -= 1;
  }
  return out;
}

export function formatWeights(p: Percentages): string {
  return Object.entries(p)
    .map(([name, v]) => `${name} ${v}%`)
    .join(', ');
}

/** "stable 90% → 50%, canary 10% → 50%" */
export function formatChange(before: Percentages, after: Percentages): string {
  return Object.keys(after)
    .map((name) => `${name} ${before[name] ?? 0}% → ${after[name]}%`)
    .join(', ');
}

export interface Roles {
  stable: string;
  canaries: string[];
}

const STABLE_SUFFIX = /-(primary|stable)$/;
const CANARY_SUFFIX = /-(canary|preview)$/;

/**
 * Which backend is stable and which are canaries: as the caller says, as the controller in charge
 * declares (Argo's stableService), or by the names Flagger and common practice use (-primary or
 * -stable, -canary or -preview). Ambiguity is an error that says how to resolve it.
 */
export function rolesOf(names: readonly string[], stable?: string, declared?: string): Roles {
  const known = (n: string, what: string) => {
    if (!names.includes(n)) {
      throw new ToolError(
        'invalid_arguments',
        `${what} '${n}' is not a backend of this split${suggestion(n, names)}; its backends are ${names.join(', ')}`,
      );
    }
  };
  // What the split itself says is stable: declared, or named so (api-stable; the one not named -canary).
  const bySuffix = names.filter((n) => STABLE_SUFFIX.test(n));
  const canaryNamed = names.filter((n) => CANARY_SUFFIX.test(n));
  const detected =
    declared ??
    (bySuffix.length === 1
      ? bySuffix[0]
      : names.length === 2 && canaryNamed.length === 1
        ? names.find((n) => n !== canaryNamed[0])
        : undefined);
  if (stable) known(stable, 'stable backend');
  // A caller may name the stable backend only where the split does not: calling the canary "stable"
  // would turn a rollback into a promotion and a shift towards it into one that skips the analysis.
  if (stable && detected && stable !== detected) {
    throw new ToolError(
      'invalid_arguments',
      `'${stable}' is not the stable backend of this split: ${declared ? 'it declares' : 'its names make'} '${detected}' the stable one; leave stable out`,
    );
  }
  const chosen = stable ?? detected;
  if (chosen) known(chosen, 'stable backend');
  if (!chosen) {
    throw new ToolError(
      'invalid_arguments',
      `cannot tell which backend is stable among ${names.join(', ')}; pass stable: '<backend name>'`,
    );
  }
  return { stable: chosen, canaries: names.filter((n) => n !== chosen) };
}

export type WeightRequest =
  | { kind: 'set'; weights: Record<string, number> }
  | { kind: 'step'; by: number }
  | { kind: 'promote' }
  | { kind: 'rollback' };

/**
 * The percentages after a request, or an error that names what is wrong and changes nothing:
 * weights that do not add up to 100, backends the split does not have, a step with more than one
 * canary (ambiguous), a step past 0 or 100.
 */
export function plan(current: Percentages, roles: Roles, req: WeightRequest): Percentages {
  const names = Object.keys(current);
  const out: Percentages = Object.fromEntries(names.map((n) => [n, 0]));
  switch (req.kind) {
    case 'set': {
      const unknown = Object.keys(req.weights).filter((n) => !names.includes(n));
      if (unknown.length) {
        throw new ToolError(
          'invalid_arguments',
          `weights name ${unknown.map((u) => `'${u}'${suggestion(u, names)}`).join(', ')}, not backends of this split; its backends are ${names.join(', ')}. Nothing was changed.`,
        );
      }
      const sum = Object.values(req.weights).reduce((a, b) => a + b, 0);
      if (sum !== 100) {
        throw new ToolError(
          'invalid_arguments',
          `weights must add up to 100 (percent); these add up to ${sum} (${formatWeights(req.weights)}). Backends left out get 0. Nothing was changed.`,
        );
      }
      return { ...out, ...req.weights };
    }
    case 'step': {
      if (roles.canaries.length !== 1) {
        throw new ToolError(
          'invalid_arguments',
          `a step moves traffic between the stable backend and one canary, and this split has ${roles.canaries.length} canaries (${roles.canaries.join(', ')}); give the weights instead. Nothing was changed.`,
        );
      }
      const canary = roles.canaries[0]!;
      const to = (current[canary] ?? 0) + req.by;
      if (to < 0 || to > 100) {
        throw new ToolError(
          'invalid_arguments',
          `a step of ${req.by} would put ${canary} at ${to}%, outside 0–100 (it is at ${current[canary] ?? 0}%). Nothing was changed.`,
        );
      }
      out[canary] = to;
      out[roles.stable] = 100 - to;
      return out;
    }
    case 'promote': {
      if (roles.canaries.length !== 1) {
        throw new ToolError(
          'invalid_arguments',
          `promotion sends all traffic to the one canary, and this split has ${roles.canaries.length} (${roles.canaries.join(', ')}); use canary_shift with weights instead. Nothing was changed.`,
        );
      }
      out[roles.canaries[0]!] = 100;
      return out;
    }
    case 'rollback':
      out[roles.stable] = 100;
      return out;
  }
}

export const unchanged = (a: Percentages, b: Percentages) =>
  Object.keys(b).every((k) => (a[k] ?? 0) === b[k]);
