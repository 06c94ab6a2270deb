// Repeated log lines clustered into patterns, in the manner of Drain (He et al., ICWS 2017): the
// variable parts that are easy to recognise are masked first (numbers, UUIDs, hex ids, IPs,
// timestamps, quoted values), then lines of the same length and first token are merged when most
// of their tokens agree, the disagreeing positions becoming <*>.

const P = '<*>';

/** Timestamps that span tokens, found on the whole line. */
const TIMESTAMPS = [
  // 2024-05-01T12:00:00.123Z, 2024-05-01 12:00:00,123+02:00, 2024/05/01 12:00:00
  /\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/,
  // May  1 12:00:00, 01/May/2024:12:00:00 +0000
  /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}(?:\.\d+)?/,
  /\d{2}\/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2}(?:\s[+-]\d{4})?/,
  // klog: I0501 12:00:00.000001
  /\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+/,
];
const LINE_TIMESTAMP = new RegExp(TIMESTAMPS.map((re) => re.source).join('|'), 'g');
/** HTTP status codes carry meaning: 200 and 204 may merge, 200 and 503 may not. */
const HTTP_STATUS =
  /(HTTP\/\d(?:\.\d)?"?\s+|\b(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+\/\S*\s+|\bstatus(?:_?code)?["']?\s*[:=]\s*["']?)([1-5])\d\d\b/gi;

// Within one token (no whitespace), applied only to tokens that contain a digit.
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/;
const IPV6 =
  /\b(?:(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})\b/;
const HEX = /\b(?:0x[0-9a-f]+|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,})\b/;
const CLOCK = /\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b/;
const TOKEN_VARIABLE = new RegExp([UUID, IPV4, IPV6, HEX, CLOCK].map((re) => re.source).join('|'), 'gi');
/** 12ms, 1.5s, 256Mi, 80%: a number with a unit, before the unit could pass for an id. */
const WITH_UNIT = /\b\d+(?:\.\d+)?(?!xx\b)(?=[a-zµ]{1,3}\b)/gi;
/** Generated names and ids: letters and digits mixed, e.g. the suffix of api-7d9f8-x2k4q. */
const MIXED_ID = /\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{5,}\b/gi;
const NUMBER = /(?<![A-Za-z<])[-+]?\d+(?:\.\d+)?(?!xx\b)/g;
const DIGIT = /\d/;

/** Quoted values are masked, except JSON keys and the values of keys that hold the message itself. */
const QUOTED = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g;
const MESSAGE_KEY =
  /(?:^|[\s{,"'])(?:msg|message|error|err|level|lvl|severity|event|reason|logger)["']?\s*[:=]\s*$/i;

function maskToken(token: string): string {
  if (!DIGIT.test(token)) return token;
  return token.replace(TOKEN_VARIABLE, P).replace(WITH_UNIT, P).replace(MIXED_ID, P).replace(NUMBER, P);
}

function maskPlain(text: string): string {
  // What varies nearly always has a digit in it; lines of words only are left as they are.
  if (!DIGIT.test(text)) return text;
  const line = text
    .replace(LINE_TIMESTAMP, P)
    .replace(HTTP_STATUS, (_m, prefix: string, cls: string) => `${prefix}${cls}xx`);
  return line.split(/(\s+)/).map(maskToken).join('');
}

/** A log line with its variable parts replaced by <*>. */
export function maskLine(line: string): string {
  let out = '';
  let last = 0;
  for (const m of line.matchAll(QUOTED)) {
    const before = line.slice(last, m.index);
    out += maskPlain(before);
    const end = m.index + m[0].length;
    const isKey = /^\s*:/.test(line.slice(end, end + 3)); // a JSON key names, it does not vary
    const keyed = MESSAGE_KEY.test(line.slice(Math.max(0, m.index - 24), m.index));
    out += isKey ? m[0] : keyed ? `${m[0][0]}${maskPlain(m[0].slice(1, -1))}${m[0][0]}` : P;
    last = m.index + m[0].length;
  }
  out += maskPlain(line.slice(last));
  return out
    .replace(/<\*>(?:[:,./_-]*<\*>)+/g, P)
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Tokens whose difference is never noise: HTTP status classes and log levels. Lines that differ in
 * one of them never share a pattern, however similar the rest.
 */
const KEY_TOKEN =
  /^[1-5]xx$|^\W*(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|PANIC|CRITICAL|trace|debug|info|warn|warning|error|fatal|panic)\W*$|(?:level|lvl|severity)["']?[:=]/;

export interface Pattern<T = unknown> {
  tokens: string[];
  count: number;
  /**
   * Words that differed where the template now says <*>, with how many lines had each: "timeout"
   * and "refused" merged into one pattern stay visible; counts per position add up to the lines
   * since it started to vary. Positions masked from the start (numbers, ids) have none; at most
   * MAX_VARIANTS distinct words are kept per position, the rest count as "…".
   */
  variants: Map<number, Map<string, number>>;
  /** The caller's per-pattern data (errors, first and last time, an example). */
  data: T;
}

const MAX_VARIANTS = 8;

function noteVariant(p: Pattern, i: number, word: string, n: number) {
  let words = p.variants.get(i);
  if (!words) {
    words = new Map();
    p.variants.set(i, words);
  }
  if (words.has(word) || words.size < MAX_VARIANTS) words.set(word, (words.get(word) ?? 0) + n);
  else words.set('…', (words.get('…') ?? 0) + n);
}

export interface ClusterOptions {
  /** Share of equal tokens for a line to join a pattern (Drain's similarity threshold). */
  similarity?: number;
  /** Beyond this many patterns per length-and-first-token group, lines start new ones no more. */
  maxPerGroup?: number;
}

/**
 * Incremental clustering. `add` returns the pattern a line joined, so callers can keep per-pattern
 * counts (errors, first and last time, examples) next to the template.
 */
export class PatternClusterer<T> {
  private readonly groups = new Map<string, Pattern<T>[]>();
  readonly patterns: Pattern<T>[] = [];
  private readonly similarity: number;
  private readonly maxPerGroup: number;

  constructor(
    private readonly init: () => T,
    opts: ClusterOptions = {},
  ) {
    this.similarity = opts.similarity ?? 0.5;
    this.maxPerGroup = opts.maxPerGroup ?? 200;
  }

  /** Masked tokens by line: logs repeat themselves, and masking is the costly step. */
  private readonly masked = new Map<string, string[]>();

  add(line: string): Pattern<T> {
    let cached = this.masked.get(line);
    if (!cached) {
      cached = maskLine(line).split(' ');
      if (this.masked.size < 20_000) this.masked.set(line, cached);
    }
    const tokens = [...cached];
    const key = [
      tokens.length,
      tokens[0] === P ? P : tokens[0],
      ...tokens.filter((t) => KEY_TOKEN.test(t)),
    ].join('\u0000');
    const group = this.groups.get(key) ?? [];
    this.groups.set(key, group);
    let best: Pattern<T> | undefined;
    let bestScore = -1;
    for (const p of group) {
      let same = 0;
      let params = 0;
      for (let i = 0; i < tokens.length; i++) {
        if (p.tokens[i] === P) params++;
        else if (p.tokens[i] === tokens[i]) same++;
      }
      const score = same / tokens.length;
      // Prefer the most similar, then the one with fewer wildcards (the more specific).
      if (
        score > bestScore ||
        (score === bestScore && best && params < best.tokens.filter((t) => t === P).length)
      ) {
        best = p;
        bestScore = score;
      }
    }
    const fixed = tokens.filter((t) => t !== P).length;
    const threshold = fixed === 0 ? 0 : this.similarity;
    if (best && (bestScore >= threshold || group.length >= this.maxPerGroup)) {
      for (let i = 0; i < tokens.length; i++) {
        const was = best.tokens[i]!;
        if (was === tokens[i]) continue;
        if (was !== P) {
          // The position starts to vary: the lines so far all had `was` there.
          noteVariant(best, i, was, best.count);
          best.tokens[i] = P;
        }
        if (best.variants.has(i)) noteVariant(best, i, tokens[i]!, 1);
      }
      best.count++;
      return best;
    }
    const created: Pattern<T> = { tokens, count: 1, variants: new Map(), data: this.init() };
    group.push(created);
    this.patterns.push(created);
    return created;
  }
}

export function template(p: Pattern): string {
  return p.tokens.join(' ');
}

/**
 * "timeout ×20, refused ×20" for each varying position that had a few distinct words, in token
 * order; positions with more (names, free text) say nothing useful this way and are left out.
 */
export function variantSummary(p: Pattern): string[] {
  return [...p.variants.entries()]
    .filter(([, words]) => !words.has('…'))
    .sort(([a], [b]) => a - b)
    .map(([, words]) =>
      [...words.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([w, n]) => `${w} ×${n}`)
        .join(', '),
    );
}
