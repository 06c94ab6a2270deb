import type { Citation } from '../rag/types.js';
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

/**
 * Citations out of a `runbooks_search` result's structured content: its passages carry the
 * citation fields flat (`{source, title, headingPath, lineStart, lineEnd, …}`) or as `citation`.
 */
export function citationsFrom(structured: Record<string, unknown> | undefined): Citation[] {
  const list = structured?.passages;
  if (!Array.isArray(list)) return [];
  const out: Citation[] = [];
  for (const item of list) {
    const c = (
      item && typeof item === 'object' && 'citation' in item ? item.citation : item
    ) as Partial<Citation>;
    if (!c || typeof c.source !== 'string' || !Array.isArray(c.headingPath)) continue;
    out.push({
      source: c.source,
      title: typeof c.title === 'string' ? c.title : c.source,
      headingPath: c.headingPath.map(String),
      lineStart: Number(c.lineStart ?? 0),
      lineEnd: Number(c.lineEnd ?? 0),
    });
  }
  return out;
}
