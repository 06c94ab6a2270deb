import type { Citation, Passage } from '../rag/types.js';
import { attr } from './untrusted.js';

/** `[network/dns.md › DNS failures › Checks]`: how answers cite a runbook passage. */
export function citationLabel(c: Citation): string {
  const path = c.headingPath.length ? c.headingPath : [c.title];
  return `[${[c.source, ...path].map((p) => attr(p, 80)).join(' › ')}]`;
}

const key = (c: Citation) => `${c.source}#${c.lineStart}-${c.lineEnd}`;

export function dedupeCitations(list: Citation[]): Citation[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    if (seen.has(key(c))) return false;
    seen.add(key(c));
    return true;
  });
}

/** Cited first (those whose label or source the answer names), then the rest it was shown. */
export function orderCitations(
  answer: string,
  consulted: Citation[],
): { cited: Citation[]; all: Citation[] } {
  const unique = dedupeCitations(consulted);
  const cited = unique.filter((c) => answer.includes(citationLabel(c)) || answer.includes(c.source));
  return { cited, all: [...cited, ...unique.filter((c) => !cited.includes(c))] };
}

/** Passages out of a `runbooks_search` result's structured content, when it has them. */
export function passagesFrom(structured: Record<string, unknown> | undefined): Passage[] {
  const list = structured?.passages;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (p): p is Passage =>
      !!p &&
      typeof p === 'object' &&
      typeof (p as Passage).citation?.source === 'string' &&
      Array.isArray((p as Passage).citation?.headingPath),
  );
}
