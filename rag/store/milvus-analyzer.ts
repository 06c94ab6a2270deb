// Text analysis for Milvus's BM25, done here rather than by Milvus's analyzer.
//
// milvus-lite's analyzer only lower-cases and splits on non-word characters (it ignores Milvus's
// stemmer filter), so "certificates expiring" would miss "certificate expired" there and not on a
// real Milvus. Analysing in the store makes both servers index the same terms, and the same terms as
// the embedded store: its words, stop words, CamelCase parts and Porter stems (FTS5's `porter`).
// Milvus still does the BM25 ranking; it receives space-separated stems and only splits them.
// Chinese bigrams (cjk.ts) go to Milvus spelled in ASCII (`asciiTerm`): Milvus's standard tokenizer
// would cut Han text back into single characters.
import { asciiTerm } from '../cjk.js';
import { identifierParts, queryTerms, vocabularyTerms, words } from '../keyword.js';
import type { Chunk } from '../types.js';

/** What the BM25 function indexes for a chunk: title, headings, labels and text, stemmed. */
export function documentTerms(chunk: Chunk): string {
  const text = [
    chunk.title,
    ...chunk.headingPath.slice(1),
    ...chunk.tags,
    ...chunk.alerts,
    ...chunk.services,
    ...identifierParts(`${chunk.headingPath.join(' ')} ${chunk.text}`),
    chunk.text,
  ].join('\n');
  return words(text).map(term).join(' ');
}

/** The query as BM25 terms ('' when nothing searchable is left, e.g. only stop words). */
export function queryTermsText(query: string): string {
  return queryTerms([query, ...identifierParts(query), ...vocabularyTerms(query)].join(' '))
    .map(term)
    .join(' ');
}

/** One index term as Milvus receives it: a Porter stem, or a CJK term in ASCII. */
const term = (word: string): string => {
  const ascii = asciiTerm(word);
  return ascii === word ? porterStem(word) : ascii;
};

// --- Porter (1980), as in Martin Porter's reference implementation -------------------------------

const c = '[^aeiou]';
const v = '[aeiouy]';
const C = `${c}[^aeiouy]*`;
const V = `${v}[aeiou]*`;
/** measure > 0, measure = 1, measure > 1, and "has a vowel", of a stem. */
const mGt0 = new RegExp(`^(${C})?${V}${C}`);
const mEq1 = new RegExp(`^(${C})?${V}${C}(${V})?$`);
const mGt1 = new RegExp(`^(${C})?${V}${C}${V}${C}`);
const hasVowel = new RegExp(`^(${C})?${v}`);
/** consonant-vowel-consonant at the end, the last not w, x or y (for a stem of measure 1). */
const cvc = new RegExp(`^${C}${v}[^aeiouwxy]$`);

const STEP2: Record<string, string> = {
  ational: 'ate',
  tional: 'tion',
  enci: 'ence',
  anci: 'ance',
  izer: 'ize',
  bli: 'ble',
  alli: 'al',
  entli: 'ent',
  eli: 'e',
  ousli: 'ous',
  ization: 'ize',
  ation: 'ate',
  ator: 'ate',
  alism: 'al',
  iveness: 'ive',
  fulness: 'ful',
  ousness: 'ous',
  aliti: 'al',
  iviti: 'ive',
  biliti: 'ble',
  logi: 'log',
};
const STEP3: Record<string, string> = {
  icate: 'ic',
  ative: '',
  alize: 'al',
  iciti: 'ic',
  ical: 'ic',
  ful: '',
  ness: '',
};
const STEP2_RE = new RegExp(`^(.+?)(${Object.keys(STEP2).join('|')})$`);
const STEP3_RE = new RegExp(`^(.+?)(${Object.keys(STEP3).join('|')})$`);
const STEP4_RE = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/;

/** The Porter stem of a lower-case word; words shorter than three letters stay as they are. */
export function porterStem(word: string): string {
  if (word.length < 3) return word;
  // A leading y is a consonant: mark it so the vowel patterns skip it.
  const leadingY = word[0] === 'y';
  let w = leadingY ? `Y${word.slice(1)}` : word;

  // Step 1a: plurals.
  const plural = /^(.+?)(ss|i)es$/.exec(w) ?? /^(.+?)([^s])s$/.exec(w);
  if (plural) w = plural[1]! + plural[2]!;

  // Step 1b: -eed, -ed, -ing.
  const eed = /^(.+?)eed$/.exec(w);
  const edIng = eed ? null : /^(.+?)(ed|ing)$/.exec(w);
  if (eed) {
    if (mGt0.test(eed[1]!)) w = w.slice(0, -1);
  } else if (edIng && hasVowel.test(edIng[1]!)) {
    w = edIng[1]!;
    if (/(at|bl|iz)$/.test(w)) w += 'e';
    else if (/([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
    else if (cvc.test(w)) w += 'e';
  }

  // Step 1c: y to i after a vowel in the stem.
  const y = /^(.+?)y$/.exec(w);
  if (y && hasVowel.test(y[1]!)) w = `${y[1]}i`;

  // Steps 2 and 3: map double and single suffixes, when the stem has measure > 0.
  const s2 = STEP2_RE.exec(w);
  if (s2 && mGt0.test(s2[1]!)) w = s2[1]! + STEP2[s2[2]!];
  const s3 = STEP3_RE.exec(w);
  if (s3 && mGt0.test(s3[1]!)) w = s3[1]! + STEP3[s3[2]!];

  // Step 4: drop suffixes when the stem has measure > 1 (-ion only after s or t).
  const s4 = STEP4_RE.exec(w);
  const ion = s4 ? null : /^(.+?)(s|t)(ion)$/.exec(w);
  if (s4) {
    if (mGt1.test(s4[1]!)) w = s4[1]!;
  } else if (ion && mGt1.test(ion[1]! + ion[2]!)) {
    w = ion[1]! + ion[2]!;
  }

  // Step 5: a final -e, and a final double l.
  const e = /^(.+?)e$/.exec(w);
  if (e && (mGt1.test(e[1]!) || (mEq1.test(e[1]!) && !cvc.test(e[1]!)))) w = e[1]!;
  if (/ll$/.test(w) && mGt1.test(w)) w = w.slice(0, -1);

  return leadingY ? `y${w.slice(1)}` : w;
}
