import type { Fact } from './schema.js';
import { fill, type Vars } from './template.js';

export interface FactResult {
  fact: string;
  ok: boolean;
  /** The first pattern that matched, or all of them when none did. */
  matched?: string;
  patterns: string[];
}

/** Regex-escapes a variable's value, so `${pod}` in a fact matches that name literally. */
function escapedVars(vars: Vars): Vars {
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [k, v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')]),
  );
}

/** Compiles a fact's patterns (case-insensitive); throws with the pattern's text when one is invalid. */
export function compileFact(fact: Fact, vars: Vars = {}): RegExp[] {
  const safe = escapedVars(vars);
  return fact.any.map((p) => {
    const source = fill(p, safe);
    try {
      return new RegExp(source, 'i');
    } catch (e) {
      throw new Error(`fact "${fact.fact}": invalid pattern /${source}/: ${(e as Error).message}`);
    }
  });
}

/** Checks every fact against an answer: a fact holds when any one of its patterns matches. */
export function checkFacts(answer: string, facts: Fact[], vars: Vars = {}): FactResult[] {
  return facts.map((fact) => {
    const patterns = compileFact(fact, vars);
    const hit = patterns.find((re) => re.test(answer));
    return {
      fact: fact.fact,
      ok: hit !== undefined,
      patterns: patterns.map((re) => re.source),
      ...(hit ? { matched: hit.source } : {}),
    };
  });
}

export const allHold = (results: FactResult[]): boolean => results.every((r) => r.ok);
