/**
 * Chinese (and Japanese) text for keyword search. These scripts put no spaces between words, so a
 * word tokenizer (FTS5's unicode61, Milvus's standard) sees a whole clause as one token and a query
 * word never matches. Each run of such characters is cut into words by ICU's dictionary
 * (`Intl.Segmenter`, word granularity; Node ships full ICU), and a mixed query ("pod 一直
 * CrashLoopBackOff 怎么办") keeps its English words as they are.
 *
 * Three ways were measured on the shipped Chinese runbooks and questions (rag/README.md): ICU's
 * dictionary words, overlapping character pairs (bigrams, as Lucene's CJK analyzer does), and the
 * dictionary's words plus pairs of the characters it leaves single. The dictionary retrieved best:
 * it splits words it lacks (镜像, 重启) into single characters, but does so the same way in the
 * runbooks and the question, while bigrams add a pair across every word boundary. Where the ICU data
 * has no Chinese dictionary (a small-ICU build), bigrams are used instead; `segmentationId()` names
 * what is in use so an index built another way can be rebuilt.
 */

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}';
/** A run of characters written without spaces between words. */
export const CJK_RUN = new RegExp(`[${CJK}]+`, 'gu');
const HAS_CJK = new RegExp(`[${CJK}]`, 'u');
const SPLIT_CJK = new RegExp(`([${CJK}]+)`, 'u');

export const hasCjk = (text: string): boolean => HAS_CJK.test(text);

/**
 * Whether a passage is written in Chinese (or Japanese): its headings (or, without any, its title)
 * use those scripts. Its body is no guide: English runbooks quote Chinese error messages rarely, and
 * Chinese runbooks quote English status names, commands and logs all the time.
 */
export const isCjkPassage = (c: { headingPath: readonly string[]; title: string }): boolean =>
  hasCjk(c.headingPath.join(' ') || c.title);

/**
 * Question words and particles that carry no topic ("怎么办", "为什么", "一直", "的", "了"). A run is
 * cut at them before it is segmented, so they add no terms of their own (nor bigrams across them). Single characters
 * are only particles that do not start common compounds (not 在, 是, 有: 存在, 是否, 有效).
 */
const STOP_WORDS = [
  '怎么办',
  '为什么',
  '怎么回事',
  '是不是',
  '有没有',
  '能不能',
  '怎么',
  '什么',
  '如何',
  '一直',
  '总是',
  '老是',
  '我们',
  '你们',
  '他们',
  '这个',
  '那个',
  '请问',
  '一下',
  '是否',
  '能否',
  '的话',
  '的',
  '了',
  '吗',
  '呢',
  '吧',
  '啊',
  '呀',
  '嘛',
];
const STOP_RE = new RegExp([...STOP_WORDS].sort((a, b) => b.length - a.length).join('|'), 'u');

export type Segmentation = 'bigram' | 'dictionary' | 'both';

let segmenter: Intl.Segmenter | undefined;

function dictionaryWords(piece: string): string[] {
  segmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  return [...segmenter.segment(piece)].filter((s) => s.isWordLike).map((s) => s.segment);
}

/**
 * Whether this runtime's ICU data segments Chinese by dictionary (it finds 我们 and 服务 as words);
 * without one, every ideograph is a word of its own.
 */
function hasChineseDictionary(): boolean {
  try {
    return dictionaryWords('我们的服务器').some((w) => [...w].length > 1);
  } catch {
    return false;
  }
}

/** How runs are cut (see the module comment for the measurement behind it). */
export const SEGMENTATION: Segmentation = hasChineseDictionary() ? 'dictionary' : 'bigram';

/**
 * The segmentation in use, with the ICU version whose dictionary it follows: an index built under
 * another one may cut words differently from the queries, and is rebuilt (embedded store).
 */
export const segmentationId = (): string =>
  SEGMENTATION === 'bigram' ? 'bigram' : `${SEGMENTATION}/icu-${process.versions.icu ?? 'unknown'}`;

function bigrams(piece: string): string[] {
  const chars = [...piece];
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/**
 * Dictionary words, with the characters the dictionary left single (words it does not know, such as
 * 镜像 or 重启 in ICU's) also paired, so an unknown two-character word still matches as a whole.
 */
function dictionaryWithPairs(piece: string): string[] {
  const out: string[] = [];
  let singles = '';
  const flush = () => {
    if ([...singles].length > 1) out.push(...bigrams(singles));
    singles = '';
  };
  for (const w of dictionaryWords(piece)) {
    out.push(w);
    if ([...w].length === 1) singles += w;
    else flush();
  }
  flush();
  return out;
}

/** The terms of one run of CJK characters, stop words removed. */
export function cjkTerms(run: string, mode: Segmentation = SEGMENTATION): string[] {
  const out: string[] = [];
  for (const piece of run.split(STOP_RE)) {
    if (!piece) continue;
    if (mode === 'bigram') out.push(...bigrams(piece));
    else if (mode === 'dictionary') out.push(...dictionaryWords(piece));
    else out.push(...dictionaryWithPairs(piece));
  }
  return out;
}

/** A word (letters and digits only) with its CJK runs replaced by their terms. */
export function splitWord(word: string, mode: Segmentation = SEGMENTATION): string[] {
  if (!HAS_CJK.test(word)) return [word];
  const out: string[] = [];
  word.split(SPLIT_CJK).forEach((part, i) => {
    if (!part) return;
    // split() with a capturing group puts the CJK runs at odd indexes.
    if (i % 2 === 1) out.push(...cjkTerms(part, mode));
    else out.push(part);
  });
  return out;
}

/**
 * Text for a word tokenizer's index: each CJK run replaced by its terms separated by spaces, the rest
 * unchanged, so the index holds the same terms a query is cut into.
 */
export function segmentForIndex(text: string, mode: Segmentation = SEGMENTATION): string {
  if (!HAS_CJK.test(text)) return text;
  return text.normalize('NFKC').replace(CJK_RUN, (run) => ` ${cjkTerms(run, mode).join(' ')} `);
}

/**
 * A CJK term spelled in ASCII letters and digits (`c` and five hex digits per character), for Milvus:
 * its standard tokenizer follows Unicode word boundaries, which (its documentation warns) do not suit
 * Chinese and would undo the segmentation, while a run of ASCII letters and digits is one token on
 * every analyzer (and on milvus-lite's).
 */
export function asciiTerm(term: string): string {
  if (!HAS_CJK.test(term)) return term;
  return `c${[...term].map((ch) => ch.codePointAt(0)!.toString(16).padStart(5, '0')).join('')}`;
}
