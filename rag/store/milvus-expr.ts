// Milvus boolean expressions built from SearchFilter. User strings only ever appear as escaped
// string literals, never as expression syntax, so a tag or source cannot change the query's shape.
// (Milvus's template parameters, `exprValues`, would avoid escaping altogether, but milvus-lite
// does not parse them.)
import type { SearchFilter } from '../types.js';

/**
 * A double-quoted Milvus string literal. Milvus (an ANTLR grammar, then Go's strconv.Unquote) and
 * milvus-lite both accept exactly these escapes; any other character is taken as is.
 */
export function quote(value: string): string {
  return `"${value.replace(/[\\"\n\r\t]/g, (c) => ESCAPES[c] ?? c)}"`;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function list(values: readonly string[]): string {
  return `[${values.map(quote).join(', ')}]`;
}

/** Marks a filter that can match nothing (an empty `sources` list), so no query is sent. */
export const MATCHES_NOTHING = Symbol('matches nothing');

/** The chunk-collection expression for a filter: '' for none, MATCHES_NOTHING when nothing can match. */
export function chunkFilter(filter: SearchFilter | undefined): string | typeof MATCHES_NOTHING {
  if (!filter) return '';
  const terms: string[] = [];
  // Tags and alert names are stored lower-cased beside their spelling, so matching ignores case.
  if (filter.tags && filter.tags.length > 0) {
    terms.push(`array_contains_all(tags_lc, ${list(filter.tags.map((t) => t.toLowerCase()))})`);
  }
  if (filter.alert) terms.push(`array_contains(alerts_lc, ${quote(filter.alert.toLowerCase())})`);
  if (filter.team) terms.push(`team == ${quote(filter.team)}`);
  if (filter.sources) {
    if (filter.sources.length === 0) return MATCHES_NOTHING;
    terms.push(`source in ${list(filter.sources)}`);
  }
  return and(terms);
}

export function and(terms: readonly string[]): string {
  return terms.map((t) => `(${t})`).join(' and ');
}
