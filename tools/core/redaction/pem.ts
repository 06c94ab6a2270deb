import type { Spans } from './spans.js';

/**
 * Private key blocks. Only the key material is masked: the base64 lines after a
 * `-----BEGIN … PRIVATE KEY-----` header, up to the END line or, when there is none (the text was
 * cut, or a workload printed a bare header), up to the first line that is not key material. What
 * follows the block stays visible. Lines end at a newline, at a `\n` escape or at a double quote
 * (keys inside JSON and YAML strings).
 *
 * Linear: line ends are found by one forward scan shared by all headers, and every other look at
 * a line reads a bounded number of characters, so a text made of nothing but headers costs a
 * constant per header.
 */

const HEADER = /-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;
const BEGIN = '-----BEGIN ';
const END = '-----END ';
const ARMOR_HEADER = /(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset):/y;
/** A block is at most this long; a 8192-bit RSA key is under 7 KB. */
const MAX_BLOCK = 64 * 1024;
/** Longer lines are read in pieces of this size (a key printed on one line, spaces for newlines). */
const MAX_LINE = 8 * 1024;
/** A base64 run at least this long is key material even with text around it. */
const LONG_RUN = 16;
/** Key lines are 64 (OpenSSL) to 76 characters; after a long prefix, only such a run counts. */
const KEY_LINE = 40;
const MAX_KEY_LINE = 256;
const MAX_PREFIX = 80;
const MAX_PREFIX_TOKEN = 40;
const MAX_BLANKS = 64;

const isB64 = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 61;
const isBlank = (c: number) => c === 32 || c === 9;
/** Blanks and the end of a JSON string or object a key line was printed in: `"'}],;)` */
const isTrailer = (c: number) =>
  isBlank(c) || c === 34 || c === 39 || c === 125 || c === 93 || c === 44 || c === 59 || c === 41;

interface Line {
  start: number;
  /** Before the line terminator. */
  end: number;
  /** After the line terminator. */
  next: number;
}

/**
 * Line ends, found by scanning forward once: the terminator found for one position is the
 * terminator of every later position up to it.
 */
class Lines {
  private from = -1;
  private at = -1;
  private after = -1;

  constructor(private readonly text: string) {}

  line(pos: number): Line {
    if (!(pos >= this.from && pos <= this.at)) this.scan(pos);
    if (this.at - pos > MAX_LINE) return { start: pos, end: pos + MAX_LINE, next: pos + MAX_LINE };
    return { start: pos, end: this.at, next: this.after };
  }

  private scan(pos: number) {
    const t = this.text;
    const n = t.length;
    this.from = pos;
    for (let i = pos; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c === 10 || c === 34) return this.found(i, i + 1);
      if (c === 13) return this.found(i, t.charCodeAt(i + 1) === 10 ? i + 2 : i + 1);
      if (c === 92) {
        let j = i;
        while (j < n && t.charCodeAt(j) === 92) j++;
        const d = t.charCodeAt(j);
        if (d === 110 || d === 114) return this.found(i, j + 1);
        i = j - 1;
      }
    }
    this.found(n, n);
  }

  private found(at: number, after: number) {
    this.at = at;
    this.after = after;
  }
}

function skipBlanks(text: string, i: number, end: number): number {
  const limit = Math.min(end, i + MAX_BLANKS);
  while (i < limit && isBlank(text.charCodeAt(i))) i++;
  return i;
}

function b64End(text: string, i: number, end: number): number {
  while (i < end && isB64(text.charCodeAt(i))) i++;
  return i;
}

/** The end of the token at i (up to a blank), reading at most `max` characters. */
function tokenEnd(text: string, i: number, end: number, max: number): number {
  const limit = Math.min(end, i + max);
  while (i < limit && !isBlank(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Where `-----END ` starts on the line, or -1. Only two places are looked at, so that a long line
 * is never searched: the line's start, and right after the key material on it (a key printed on
 * one line with spaces).
 */
function endMarker(text: string, line: Line, after: number): number {
  const first = skipBlanks(text, line.start, line.end);
  if (text.startsWith(END, first)) return first;
  const k = skipBlanks(text, after, line.end);
  return after > line.start && text.startsWith(END, k) ? k : -1;
}

type Kind = { from: number; to: number; clean: boolean } | 'blank' | null;

/**
 * The key material of one line, `[from, to)`: base64 runs, optionally after one prefix token (a
 * timestamp, a pod name). `clean` when nothing else follows on the line. A short run counts only
 * when it ends the key (padding `=`, or the END line follows).
 */
function keyMaterial(text: string, s: number, e: number, lines: Lines, next: number): Kind {
  const i = skipBlanks(text, s, e);
  if (i === e) return 'blank';
  ARMOR_HEADER.lastIndex = i;
  if (ARMOR_HEADER.test(text)) return { from: i, to: Math.min(e, i + MAX_KEY_LINE), clean: true };
  const shortOk = (from: number, to: number) => {
    if (to <= from) return false;
    const k = skipBlanks(text, to, e);
    if (text.startsWith(END, k)) return true;
    if (k !== e) return false;
    if (text.charCodeAt(to - 1) === 61) return true;
    // the END line follows
    const after = lines.line(next);
    return endMarker(text, after, after.start) >= 0;
  };
  let from = i;
  let to = b64End(text, i, e);
  if (to < e && !isBlank(text.charCodeAt(to)) && !text.startsWith(END, i) && !text.startsWith(BEGIN, i)) {
    // A line that is only a short prefix token (a timestamp a YAML writer folded away from its key line)
    const j = tokenEnd(text, to, e, MAX_PREFIX_TOKEN + 1);
    if (j - i <= MAX_PREFIX_TOKEN && skipBlanks(text, j, e) === e) return 'blank';
  }
  if (to - from < LONG_RUN && !shortOk(from, to)) {
    // one prefix token (a timestamp), then a long run
    const j = tokenEnd(text, i, e, MAX_PREFIX + 1);
    from = skipBlanks(text, j, e);
    if (j - i > MAX_PREFIX || from === j) return lastRun(text, i, e);
    to = b64End(text, from, e);
    if (to - from < LONG_RUN) return lastRun(text, i, e);
  }
  // further runs on the same line: a key printed with spaces for newlines
  for (;;) {
    const k = skipBlanks(text, to, e);
    if (k === to || k === e) break;
    const r = b64End(text, k, e);
    if (r - k >= LONG_RUN || shortOk(k, r)) to = r;
    else break;
  }
  return { from, to, clean: skipBlanks(text, to, e) === e };
}

/**
 * A longer prefix (`api-7d9f8 | `, `[pod/api] stdout F `): the line ends with one base64 run as
 * long as a key line, after at most MAX_PREFIX characters.
 */
function lastRun(text: string, s: number, e: number): Kind {
  if (e - s > MAX_PREFIX + MAX_KEY_LINE) return null;
  let end = e;
  // blanks, and the end of a JSON string or object the key was printed in
  const limit = Math.max(s, e - 8);
  while (end > limit && isTrailer(text.charCodeAt(end - 1))) end--;
  let from = end;
  while (from > s && isB64(text.charCodeAt(from - 1))) from--;
  if (end - from < KEY_LINE || from - s > MAX_PREFIX || (from > s && !isBlank(text.charCodeAt(from - 1))))
    return null;
  return { from, to: end, clean: skipBlanks(text, end, e) === e };
}

/** Masks the block after a header ending at `pos`; returns where to look for the next header. */
function maskBlock(text: string, lines: Lines, pos: number, header: number, spans: Spans): number {
  const limit = Math.min(text.length, pos + MAX_BLOCK);
  let maskFrom = -1;
  let maskTo = -1;
  let blanks = 0;
  let resume = pos;
  while (pos < limit) {
    const line = lines.line(pos);
    let endAt = endMarker(text, line, line.start);
    let kind = endAt >= 0 ? 'blank' : keyMaterial(text, line.start, line.end, lines, line.next);
    // The header's own prefix alone on a line: a YAML writer folded it away from its key line.
    if (kind === null && line.end - line.start <= MAX_PREFIX * 2) {
      const own = text.slice(line.start, line.end).trim();
      if (own && own === prefixOf(text, header)) kind = 'blank';
    }
    if (kind !== null && kind !== 'blank' && !kind.clean) {
      endAt = endMarker(text, line, kind.to);
      if (endAt >= 0) kind = { ...kind, clean: true };
    }
    resume = line.start;
    if (kind === 'blank') {
      if (endAt >= 0) {
        resume = endAt + END.length;
        break;
      }
      if (++blanks > 4 || line.next === pos) break;
      pos = line.next;
      continue;
    }
    blanks = 0;
    if (kind === null) break;
    if (maskFrom < 0) maskFrom = kind.from;
    maskTo = kind.to;
    resume = kind.to;
    if (endAt >= 0) {
      resume = endAt + END.length;
      break;
    }
    if (!kind.clean || line.next === pos) break;
    pos = line.next;
  }
  if (maskFrom >= 0) spans.add(maskFrom, maskTo);
  return resume;
}

/** What precedes the header on its line (a timestamp, a pod name), at most MAX_PREFIX characters. */
function prefixOf(text: string, pos: number): string {
  let i = pos;
  const limit = Math.max(0, pos - MAX_PREFIX);
  while (i > limit && text.charCodeAt(i - 1) !== 10) i--;
  return text.slice(i, pos).trim();
}

export function findPrivateKeys(text: string, spans: Spans): void {
  const lines = new Lines(text);
  let pos = text.indexOf(BEGIN);
  while (pos >= 0) {
    HEADER.lastIndex = pos;
    let next = pos + 1;
    if (HEADER.test(text)) {
      next = Math.max(next, maskBlock(text, lines, HEADER.lastIndex, pos, spans));
    }
    pos = text.indexOf(BEGIN, next);
  }
}
