/**
 * Turning what a person typed into a safe FTS5 query. User text never reaches FTS5's query syntax:
 * it is cut into words the way the index's unicode61 tokenizer cuts them, stop words are dropped, and
 * each remaining word is quoted, so `x509: certificate "expired"`, `NOT`, `*` or `col:term` are
 * just words.
 */

/** English function words plus the filler of questions ("how do I …", "what should we …"). */
const STOP_WORDS = new Set(
  `a about above after again against all am an and any are aren as at be because been before being below
  between both but by can cannot could couldn did didn do does doesn doing don down during each else etc
  ever few for from further get gets got had hadn has hasn have haven having he her here hers herself him
  himself his how i if in into is isn it its itself just let lets me might more most must my myself no nor
  not now of off on once only or other ought our ours ourselves out over own please same shall she should
  shouldn so some such than that the their theirs them themselves then there these they this those
  through to too under until up very was wasn we were weren what when where which while who whom why will
  with won would wouldn you your yours yourself yourselves s t d ll m re ve y`.split(/\s+/),
);

/** Letters and digits, as FTS5's unicode61 tokenizer sees a token (underscores and dots separate). */
const WORD = /[\p{L}\p{N}]+/gu;

export function words(text: string): string[] {
  return (text.normalize('NFKC').toLowerCase().match(WORD) ?? []) as string[];
}

/** Query terms: lower-cased words without stop words, each once, at most `max`. */
export function queryTerms(text: string, max = 32): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    if (STOP_WORDS.has(w) || out.includes(w)) continue;
    out.push(w);
    if (out.length === max) break;
  }
  return out;
}

/**
 * Parts of CamelCase and run-together identifiers, so "crash loop" finds CrashLoopBackOff and
 * "OOMKilled" finds "OOM killed": `CrashLoopBackOff` → crash loop back off.
 */
export function identifierParts(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b[A-Za-z][a-z0-9]*(?:[A-Z]+[a-z0-9]*)+\b/g)) {
    const parts = m[0].match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g) ?? [];
    if (parts.length > 1) for (const p of parts) out.add(p.toLowerCase());
  }
  return [...out];
}

/** An FTS5 MATCH expression ORing the quoted terms, or null when nothing searchable is left. */
export function ftsQuery(text: string): string | null {
  const terms = queryTerms([text, ...identifierParts(text)].join(' '));
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}
