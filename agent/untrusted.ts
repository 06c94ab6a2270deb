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

/**
 * Characters that hide text from a reader but not from a model: every format character (zero-width
 * spaces and joiners, bidirectional controls, soft hyphen, word joiner, interlinear annotation),
 * the Unicode tag block U+E0000–E007F (which spells invisible ASCII), variation selectors (which
 * can carry hidden bytes), and fillers and blanks that render as nothing. The combining grapheme
 * joiner (U+034F) and the variation selectors stand outside the class: combining marks inside one
 * would be misread.
 */
const INVISIBLE = new RegExp(
  // Alternatives joined at run time: the linter reads combining marks in a literal as misleading.
  [
    '[\\p{Cf}\\u{E0000}-\\u{E007F}\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u3164\\uFFA0]',
    '\\p{Variation_Selector}',
    '\\u034F',
  ].join('|'),
  'gu',
);
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
