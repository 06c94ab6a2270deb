import { MASK } from './names.js';

/**
 * Reading keys' separators and values. Every function here reads forward a bounded distance or
 * up to the end of the value it returns; callers resume after that value, so no character is
 * read more than a fixed number of times.
 */

/** A quoted value longer than this, or with no closing quote on its line, is masked to the line end. */
const MAX_QUOTED = 8 * 1024;
const MAX_KEY = 128;

export const isBlank = (c: number) => c === 32 || c === 9;
export const isEol = (c: number) => c === 10 || c === 13 || Number.isNaN(c);
export const isQuote = (c: number) => c === 34 || c === 39;
export const isKeyChar = (c: number) =>
  (c >= 48 && c <= 57) ||
  (c >= 65 && c <= 90) ||
  (c >= 97 && c <= 122) ||
  c === 95 ||
  c === 45 ||
  c === 46 ||
  c === 91 ||
  c === 93;

export function skipBlanks(t: string, i: number, max: number): number {
  const limit = i + max;
  while (i < limit && isBlank(t.charCodeAt(i))) i++;
  return i;
}

/** A `\n`, `\r`, `\t`, `\"` or `\'` escape starts at i: the end of a value inside a JSON string. */
export function isEscape(t: string, i: number): boolean {
  if (t.charCodeAt(i) !== 92) return false;
  const d = t.charCodeAt(i + 1);
  return d === 110 || d === 114 || d === 116 || d === 34 || d === 39;
}

export interface Value {
  start: number;
  end: number;
  /** Where scanning resumes. */
  next: number;
}

export type Mode = 'token' | 'line' | 'rest';

/** Where an unquoted value ends: `token` at blanks and punctuation, `line` and `rest` at the line end. */
export function unquotedEnd(t: string, i: number, mode: Mode): number {
  const n = t.length;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (isEol(c) || isEscape(t, i)) return i;
    if (mode === 'line') {
      if (c === 35 && isBlank(t.charCodeAt(i - 1))) return i;
      continue;
    }
    if (mode === 'rest') {
      if (c === 34) return i;
      continue;
    }
    // token
    if (
      isBlank(c) ||
      isQuote(c) ||
      c === 44 || // ,
      c === 59 || // ;
      c === 38 || // &
      c === 125 || // }
      c === 93 || // ]
      c === 41 || // )
      c === 60 || // <
      c === 62 // >
    )
      return i;
  }
  return n;
}

export function lineEnd(t: string, i: number, limit: number): number {
  for (; i < limit; i++) if (isEol(t.charCodeAt(i))) return i;
  return limit;
}

/** A quoted value starting at the opening quote `i` (optionally escaped `\"`). */
function quoted(t: string, i: number): Value {
  const escaped = t.charCodeAt(i) === 92;
  const q = t.charCodeAt(escaped ? i + 1 : i);
  const start = escaped ? i + 2 : i + 1;
  const limit = Math.min(t.length, start + MAX_QUOTED);
  for (let j = start; j < limit; j++) {
    const c = t.charCodeAt(j);
    if (isEol(c)) break;
    if (escaped) {
      if (c === 92 && t.charCodeAt(j + 1) === q) return { start, end: j, next: j + 2 };
      if (c === q) return { start, end: j, next: j + 1 };
    } else {
      if (c === 92) j++;
      else if (c === q) return { start, end: j, next: j + 1 };
    }
  }
  const end = lineEnd(t, start, limit);
  return { start, end, next: end };
}

/** Indentation of the line holding `i`, and whether only list dashes, quotes or diff marks precede `from`. */
export function lineStart(t: string, from: number): { indent: number; atStart: boolean } {
  let i = from;
  const limit = Math.max(0, from - MAX_KEY);
  while (i > limit && !isEol(t.charCodeAt(i - 1))) i--;
  if (i === limit && i > 0 && !isEol(t.charCodeAt(i - 1))) return { indent: MAX_KEY, atStart: false };
  let indent = 0;
  while (isBlank(t.charCodeAt(i + indent))) indent++;
  const before = t.slice(i, from);
  return { indent, atStart: /^[\s\-~+"']*$/.test(before) };
}

/** `key: |` block scalar: the following lines indented deeper than the key. */
const BLOCK_HEADER = /[|>][-+0-9]{0,3}[ \t]*(?:#[^\n]*)?(?:\r?\n|$)/y;
const AUTH_SCHEME = /(?:AWS4-HMAC-SHA256|[A-Za-z][A-Za-z-]{1,20})[ \t]+(?=\S)/y;
const DIGEST = /digest\b/iy;

function blockScalar(t: string, i: number, keyIndent: number): Value | null {
  BLOCK_HEADER.lastIndex = i;
  if (!BLOCK_HEADER.test(t)) return null;
  const start = BLOCK_HEADER.lastIndex;
  const limit = Math.min(t.length, start + 64 * 1024);
  let pos = start;
  let end = start;
  while (pos < limit) {
    const eol = lineEnd(t, pos, limit);
    const indent = skipBlanks(t, pos, eol - pos) - pos;
    if (pos + indent < eol && indent <= keyIndent) break;
    if (pos + indent < eol) end = eol;
    pos = eol + (t.charCodeAt(eol) === 13 && t.charCodeAt(eol + 1) === 10 ? 2 : 1);
  }
  return { start, end, next: Math.max(end, start) };
}

/** The value at `i`, or null when there is none (end of line, a nested map or list, already masked). */
/** What Kubemate writes in place of a value it never shows: `(value hidden)`, `(12 bytes, hidden)`. */
const PLACEHOLDER = /\((?:\d{1,12} bytes, )?(?:value )?hidden\)/y;

export function valueAt(t: string, i: number, mode: Mode, keyIndent: number): Value | null {
  if (t.startsWith(MASK, i)) return { start: i, end: i, next: i + MASK.length };
  PLACEHOLDER.lastIndex = i;
  if (PLACEHOLDER.test(t)) return { start: i, end: i, next: PLACEHOLDER.lastIndex };
  const c = t.charCodeAt(i);
  if (isQuote(c) || (c === 92 && isQuote(t.charCodeAt(i + 1)))) return quoted(t, i);
  if (isEol(c) || isEscape(t, i) || c === 123 || c === 91 || c === 44 || c === 125 || c === 93) return null;
  if ((c === 124 || c === 62) && mode === 'line') return blockScalar(t, i, keyIndent);
  const end = unquotedEnd(t, i, mode);
  let e = end;
  while (e > i && isBlank(t.charCodeAt(e - 1))) e--;
  return e > i ? { start: i, end: e, next: end } : null;
}

/** After a masked value: `→ "new"`, `-> new`, `=> new` (diff lines) show the second value too. */
export function arrowValue(t: string, i: number, mode: Mode): Value | null {
  let j = skipBlanks(t, i, 8);
  // a YAML writer may fold a long diff line before the arrow
  if (t.charCodeAt(j) === 10 || (t.charCodeAt(j) === 13 && t.charCodeAt(j + 1) === 10)) {
    j = skipBlanks(t, j + (t.charCodeAt(j) === 13 ? 2 : 1), 64);
  }
  let k: number;
  if (t.charCodeAt(j) === 0x2192) k = j + 1;
  else if ((t.charCodeAt(j) === 45 || t.charCodeAt(j) === 61) && t.charCodeAt(j + 1) === 62) k = j + 2;
  else return null;
  return valueAt(t, skipBlanks(t, k, 8), mode === 'line' ? 'token' : mode, 0);
}

/**
 * The deepest indentation read when a value or list item may start on the next line. YAML written
 * from a deeply nested object (a pod template inside a List) is indented past 64 columns; a cap
 * that stops inside the indentation would take the next line's key for a value.
 */
export const MAX_INDENT = 1024;

/** `key: value`, `key=value`, `"key": value`, `key := value`, `key => value`; returns where the value starts. */
const NEXT_LINE_KEY = /[\w.-]{1,128}:(?:\s|$)|-\s|#/y;

/**
 * `key:` at the end of a line with its value on the next, more indented line: a YAML plain or
 * quoted scalar written (or folded by a YAML writer) onto the next line. A nested mapping or list
 * is not a value.
 */
function nextLineValue(t: string, j: number): number | null {
  if (t.charCodeAt(j) === 13) j++;
  if (t.charCodeAt(j) !== 10) return null;
  const start = j + 1;
  const at = skipBlanks(t, start, MAX_INDENT);
  if (at === start || isEol(t.charCodeAt(at)) || isBlank(t.charCodeAt(at))) return null;
  NEXT_LINE_KEY.lastIndex = at;
  return NEXT_LINE_KEY.test(t) ? null : at;
}

export function assignment(t: string, e: number): { at: number; op: number; nextLine?: boolean } | null {
  let j = e;
  if (t.charCodeAt(j) === 92 && isQuote(t.charCodeAt(j + 1))) j += 2;
  else if (isQuote(t.charCodeAt(j))) j++;
  if (t.charCodeAt(j) === 93) j++;
  j = skipBlanks(t, j, 16);
  const op = t.charCodeAt(j);
  if (op === 58) {
    if (t.charCodeAt(j + 1) === 58 || (t.charCodeAt(j + 1) === 47 && t.charCodeAt(j + 2) === 47)) return null;
    j++;
    if (t.charCodeAt(j) === 61) j++;
  } else if (op === 61) {
    if (t.charCodeAt(j + 1) === 61) return null;
    j++;
    if (t.charCodeAt(j) === 62) j++;
  } else return null;
  const at = skipBlanks(t, j, 64);
  if (op === 58 && isEol(t.charCodeAt(at)) && at < t.length) {
    const next = nextLineValue(t, at);
    if (next !== null) return { at: next, op, nextLine: true };
  }
  return { at, op };
}

/** The argument after a flag: `--password X`, `"--password", "X"`, `- --password\n- X`. */
export function flagArgument(t: string, e: number): number | null {
  let j = e;
  const closed = isQuote(t.charCodeAt(j));
  if (closed) j++;
  const from = j;
  j = skipBlanks(t, j, 8);
  if (t.charCodeAt(j) === 44) {
    // `"--password",` then the next element, on this line or the next (pretty-printed JSON)
    j++;
    const limit = j + 64;
    while (j < limit && (isBlank(t.charCodeAt(j)) || t.charCodeAt(j) === 10 || t.charCodeAt(j) === 13)) j++;
  } else if (t.charCodeAt(j) === 10 || t.charCodeAt(j) === 13) {
    j += t.charCodeAt(j) === 13 && t.charCodeAt(j + 1) === 10 ? 2 : 1;
    j = skipBlanks(t, j, MAX_INDENT);
    if (t.charCodeAt(j) !== 45 || !isBlank(t.charCodeAt(j + 1))) return null;
    j = skipBlanks(t, j + 1, 8);
  }
  if (j === from && !closed) return null;
  if (t.charCodeAt(j) === 45) return null; // the next flag
  return j;
}

/**
 * `Authorization: <scheme> <credentials>` keeps the scheme and masks the rest of the line;
 * `Cookie:` and `Set-Cookie:` mask the whole value. Digest parameters are quoted, so a Digest
 * value is masked to the line end regardless of quotes.
 */
export function headerValue(t: string, i: number, header: 'auth' | 'cookie'): Value | null {
  if (isEol(t.charCodeAt(i)) || isEscape(t, i) || t.startsWith(MASK, i)) return null;
  let start = i;
  if (header === 'auth') {
    AUTH_SCHEME.lastIndex = i;
    if (AUTH_SCHEME.test(t)) start = AUTH_SCHEME.lastIndex;
    DIGEST.lastIndex = i;
    if (DIGEST.test(t)) {
      const end = lineEnd(t, start, t.length);
      return { start, end, next: end };
    }
  }
  const end = unquotedEnd(t, start, 'rest');
  let e = end;
  while (e > start && isBlank(t.charCodeAt(e - 1))) e--;
  return e > start ? { start, end: e, next: end } : null;
}
