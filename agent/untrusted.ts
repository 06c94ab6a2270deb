import { randomBytes } from 'node:crypto';

/**
 * Untrusted data (tool results, runbook passages) enters the prompt between delimiters that carry
 * a per-run random nonce. The system prompt says that everything between them is data, never
 * instructions, and that markers with another nonce are part of the data. Data cannot close the
 * block early: any marker-like text in it is defused (after Unicode normalisation, so full-width
 * look-alikes count too) and the nonce itself is masked should it ever appear in data.
 */

export const TAG = 'untrusted-data';

export function newNonce(): string {
  return randomBytes(12).toString('hex');
}

// Zero-width and bidirectional-control characters hide text from a reader but not from a model.
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u00AD]/g;
const MARKER = /<\s*\/?\s*untrusted[\s_-]*data/gi;

/** The data as it may appear inside a block: visible characters only, no marker can be formed. */
export function defuse(text: string, nonce: string): string {
  let out = text.normalize('NFKC').replace(INVISIBLE, '');
  out = out.replace(MARKER, (m) => m.replace('<', '‹'));
  if (nonce) out = out.split(nonce).join('[nonce removed]');
  return out;
}

/** A label (source, citation) as an attribute: one line, no quotes or angle brackets, bounded. */
export function attr(text: string, max = 160): string {
  const flat = text
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/["<>]/g, "'")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function wrapUntrusted(nonce: string, source: string, text: string): string {
  return `<${TAG} nonce="${nonce}" source="${attr(source)}">\n${defuse(text, nonce)}\n</${TAG} nonce="${nonce}">`;
}
