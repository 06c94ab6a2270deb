import { isCredentialName, isSecretKey, MASK, SECRET_KEY_WORDS } from './names.js';
import {
  arrowValue,
  assignment,
  flagArgument,
  headerValue,
  isBlank,
  isEol,
  isKeyChar,
  isQuote,
  lineStart,
  MAX_INDENT,
  type Mode,
  skipBlanks,
  type Value,
  valueAt,
} from './scan.js';
import type { Spans } from './spans.js';

/**
 * Values written next to a key that names a secret: `password=x`, `"apiKey": "x"`, `DB_PASSWORD: x`,
 * `--db-password x`, `client_secret x`, `Authorization: Token x`, `Cookie: a=b`, diff lines
 * `env[DB_PASSWORD].value: "old" → "new"`, and name/value pairs (`- name: DB_PASSWORD\n  value: x`,
 * `{"name":"DB_PASSWORD","value":"x"}`) in YAML, flow YAML and JSON.
 *
 * Linear by construction: a regex finds the words a key can end with (no quantifier before them);
 * from each, the key is read backwards at most MAX_KEY characters and the separator forwards a
 * bounded distance; a value is read once and scanning resumes after it.
 */

/**
 * A word a key can end with, followed by what can follow a key: a secret word, or the `name`,
 * `key` or `value` of a name/value pair. No capture groups (`test` is much cheaper than `exec`
 * on dense input); the key itself is classified from its last segment.
 */
const TRIGGER = new RegExp(`(?:${SECRET_KEY_WORDS}|name|key|value)(?=[\\s"'\\\\\\],:=>]|$)`, 'gi');

const MAX_KEY = 128;
/** A name and a value further apart than this are not one pair. */
const MAX_ITEM = 4 * 1024;

/** Words after `client_secret` or `--password` that are prose, not the secret. */
const STOPWORDS = new Set(
  'a an and are as at be been by can could does for from has have in invalid is it missing must no none not null of on or provided required set should the to unset was were will with expired empty rotated changed updated found file env variable value header flag would may might'.split(
    ' ',
  ),
);

function isStopword(t: string, v: Value): boolean {
  return v.end - v.start <= 12 && STOPWORDS.has(t.slice(v.start, v.end).toLowerCase());
}

/** Letters, digits, `_` and `-`: one segment of a key path. */
const isSegmentChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
const isLower = (c: number) => c >= 97 && c <= 122;
const isUpper = (c: number) => c >= 65 && c <= 90;
const isLetter = (c: number) => isLower(c) || isUpper(c);

const lower = (c: number) => c | 0x20;

/** Whether [to - word.length, to) is `word` (lower case), any case. */
function endsWith(t: string, from: number, to: number, word: string): boolean {
  const n = word.length;
  if (to - from < n) return false;
  for (let i = 0; i < n; i++) if (lower(t.charCodeAt(to - n + i)) !== word.charCodeAt(i)) return false;
  return true;
}

const SHORT = ['pass', 'pin', 'creds', 'cred', 'dsn', 'sig'];

/**
 * The trigger matched at the end of the segment [from, to): was it a secret word (not a trailing
 * `name`/`value`, and `pass`/`pin`/… only as a word of their own)? Decided from the segment's last
 * characters, without allocating: this runs once per trigger.
 */
function endsWithSecretWord(t: string, from: number, to: number): boolean {
  if (endsWith(t, from, to, 'name') || endsWith(t, from, to, 'value')) return false;
  if (endsWith(t, from, to, 'key')) return isSecretKey(t.slice(from, to));
  for (const w of SHORT) {
    if (endsWith(t, from, to, w)) {
      const before = to - w.length - 1;
      return before < from || !isLetter(t.charCodeAt(before));
    }
  }
  return true;
}

/** The text of an XML element up to its closing tag, on the same line. */
function elementText(t: string, i: number): Value | null {
  const limit = Math.min(t.length, i + 4096);
  let j = i;
  while (j < limit && t.charCodeAt(j) !== 60 && !isEol(t.charCodeAt(j))) j++;
  return j > i ? { start: i, end: j, next: j } : null;
}

/**
 * `[abc]`, `[Token abc]`, `["a","b"]`: the inside of a list written as a secret key's value, on
 * one line. A list of maps (`[{`) is structure, not a value.
 */
function bracketed(t: string, i: number): Value | null {
  const c = t.charCodeAt(i + 1);
  if (c === 123 || c === 93 || isEol(c)) return null;
  if (t.startsWith(MASK, i + 1)) return { start: i + 1, end: i + 1, next: i + 1 + MASK.length };
  const limit = Math.min(t.length, i + 4096);
  let j = i + 1;
  while (j < limit && t.charCodeAt(j) !== 93 && !isEol(t.charCodeAt(j))) j++;
  return { start: i + 1, end: j, next: j };
}

/** `name`, `key` (the name of a name/value pair) or `value`, as a whole segment, any case. */
function roleOf(t: string, from: number, to: number): 'name' | 'value' | undefined {
  const n = to - from;
  const c = lower(t.charCodeAt(from));
  if (n === 4 && c === 110 && t.slice(from, to).toLowerCase() === 'name') return 'name';
  if (n === 3 && c === 107 && t.slice(from, to).toLowerCase() === 'key') return 'name';
  if (n === 5 && c === 118 && t.slice(from, to).toLowerCase() === 'value') return 'value';
  return undefined;
}

/** The `n` of a `\n` escape (or `t`, `r`): text inside a JSON string starts a new line after it. */
const afterEscape = (t: string, i: number) => {
  const c = t.charCodeAt(i);
  return (c === 110 || c === 116 || c === 114) && t.charCodeAt(i - 1) === 92;
};

/** `client_secret`, `DB_PASSWORD`, `apiKey`: written like code, not a word of prose. */
function isIdentifier(t: string, from: number, to: number): boolean {
  while (from < to && t.charCodeAt(from) === 45) from++;
  for (let i = from + 1; i < to - 1; i++) {
    const c = t.charCodeAt(i);
    if (c === 95 || c === 45 || c === 46) return true;
    if (isUpper(c) && isLower(t.charCodeAt(i - 1))) return true;
  }
  return to - from > 1 && isUpper(t.charCodeAt(to - 1)) && isLower(t.charCodeAt(to - 2));
}

/** `env[DB_PASSWORD].value`: the value of a list entry whose name is a credential. */
function bracketNameIsCredential(t: string, segmentStart: number): boolean {
  if (t.charCodeAt(segmentStart - 1) !== 46 || t.charCodeAt(segmentStart - 2) !== 93) return false;
  const close = segmentStart - 2;
  let open = close - 1;
  const limit = Math.max(0, close - MAX_KEY);
  while (open > limit && t.charCodeAt(open) !== 91) open--;
  return t.charCodeAt(open) === 91 && isCredentialName(t.slice(open + 1, close));
}

const HEADER_LENGTHS = new Set([6, 10, 13, 19]);

function headerOf(t: string, from: number, to: number): 'auth' | 'cookie' | undefined {
  if (!HEADER_LENGTHS.has(to - from)) return undefined;
  const word = t.slice(from, to).toLowerCase();
  if (word === 'authorization' || word === 'proxy-authorization') return 'auth';
  if (word === 'cookie' || word === 'set-cookie') return 'cookie';
  return undefined;
}

/**
 * Name/value pairs of one list item or mapping. A secret name masks the item's values, before or
 * after it; `{`, `}`, a YAML `- ` item start, a second name or distance ends the item.
 */
class Pairs {
  private start = 0;
  private last = 0;
  private named = false;
  private secret = false;
  private pending: Value[] = [];

  constructor(
    private readonly t: string,
    private readonly spans: Spans,
  ) {}

  private boundaryBetween(from: number, to: number): boolean {
    if (to - from > MAX_ITEM) return true;
    const t = this.t;
    for (let i = from; i < to; i++) {
      const c = t.charCodeAt(i);
      if (c === 123 || c === 125) return true;
      if (c === 10) {
        const j = skipBlanks(t, i + 1, MAX_INDENT);
        if (t.charCodeAt(j) === 45 && isBlank(t.charCodeAt(j + 1))) return true;
      }
    }
    return false;
  }

  private reach(at: number) {
    if (at - this.start > MAX_ITEM || this.boundaryBetween(this.last, at)) {
      this.start = at;
      this.named = false;
      this.secret = false;
      this.pending = [];
    }
  }

  name(at: number, end: number, secretName: boolean) {
    this.reach(at);
    if (this.named) {
      this.start = at;
      this.secret = false;
      this.pending = [];
    }
    this.named = true;
    this.last = Math.max(this.last, end);
    if (secretName) {
      this.secret = true;
      for (const v of this.pending) this.spans.add(v.start, v.end);
      this.pending = [];
    }
  }

  value(at: number, v: Value) {
    this.reach(at);
    this.last = Math.max(this.last, v.next);
    if (this.secret) this.spans.add(v.start, v.end);
    else if (this.pending.length < 16) this.pending.push(v);
  }
}

/**
 * Whether a key starts its line (after indentation, list dashes, quotes or diff marks), read
 * forwards once over the whole text as keys are met, so that it costs nothing per key.
 */
class Lines {
  private scanned = 0;
  private begin = 0;
  private clean = true;
  private newline = -1;

  constructor(private readonly t: string) {}

  at(pos: number): { atStart: boolean; indent: number } {
    if (pos < this.scanned) return lineStart(this.t, pos);
    const t = this.t;
    let i = this.scanned;
    // Only a newline can make a line clean again: jump from newline to newline up to pos.
    for (;;) {
      if (this.newline < i) {
        const n = t.indexOf('\n', i);
        this.newline = n < 0 ? Number.POSITIVE_INFINITY : n;
      }
      if (this.newline >= pos) break;
      i = this.newline + 1;
      this.begin = i;
      this.clean = true;
    }
    for (; i < pos && this.clean; i++) {
      const c = t.charCodeAt(i);
      if (!(isBlank(c) || c === 45 || c === 126 || c === 43 || c === 13 || isQuote(c))) this.clean = false;
    }
    this.scanned = pos;
    const indent = this.clean ? skipBlanks(t, this.begin, MAX_KEY) - this.begin : MAX_KEY;
    return { atStart: this.clean, indent };
  }
}

export function findPairs(t: string, spans: Spans): void {
  const re = new RegExp(TRIGGER.source, TRIGGER.flags);
  const pairs = new Pairs(t, spans);
  const lines = new Lines(t);
  while (re.test(t)) {
    const e = re.lastIndex;
    const limit = Math.max(0, e - MAX_KEY);
    let ss = e;
    while (ss > limit && isSegmentChar(t.charCodeAt(ss - 1)) && !afterEscape(t, ss - 1)) ss--;
    const role = roleOf(t, ss, e);
    const header = role ? undefined : headerOf(t, ss, e);
    const secret = role
      ? role === 'value' && bracketNameIsCredential(t, ss)
      : header !== undefined || endsWithSecretWord(t, ss, e);
    if (!role && !secret) continue;
    let ks = ss;
    while (ks > limit && isKeyChar(t.charCodeAt(ks - 1)) && !afterEscape(t, ks - 1)) ks--;
    // `payments/db-creds: would be created`, `/api/token:`: a path or an object's name, not a key
    if (t.charCodeAt(ks - 1) === 47) continue;
    let flag = false;
    if (t.charCodeAt(ss) === 45) {
      const d = t.charCodeAt(ss + 1) === 45 ? t.charCodeAt(ss + 2) : t.charCodeAt(ss + 1);
      flag = isUpper(d) || isLower(d);
    }

    const assign = assignment(t, e);
    let v: Value | null = null;
    let mode: Mode = 'token';
    const next = t.charCodeAt(e);
    if (next === 62) {
      // <password>value</password>
      if (secret && t.charCodeAt(ss - 1) === 60) v = elementText(t, e + 1);
    } else if (assign) {
      const line = lines.at(ks);
      mode = assign.op === 58 && (line.atStart || assign.nextLine) ? 'line' : 'token';
      if (secret && t.charCodeAt(assign.at) === 91 && !t.startsWith(MASK, assign.at)) {
        // Go's http.Header and map printing: Authorization:[Token abc], password: [abc]
        v = bracketed(t, assign.at);
      } else if (header && !isQuote(t.charCodeAt(assign.at)) && t.charCodeAt(assign.at) !== 92) {
        v = headerValue(t, assign.at, header);
      } else v = valueAt(t, assign.at, mode, line.indent);
      if (
        v &&
        mode === 'token' &&
        assign.op === 58 &&
        !isQuote(t.charCodeAt(assign.at)) &&
        isStopword(t, v)
      ) {
        v = null;
      }
    } else if (secret && flag) {
      const at = flagArgument(t, e);
      if (at !== null) v = valueAt(t, at, 'token', 0);
      if (v && isStopword(t, v)) v = null;
    } else if (secret && !role && isBlank(next) && isIdentifier(t, ss, e)) {
      const at = skipBlanks(t, e, 4);
      // a word of prose, a flag, a quote or a parenthesis ("api-token (14 bytes)") is no value
      const c = t.charCodeAt(at);
      if (c !== 45 && c !== 40 && c !== 60 && !isQuote(c)) v = valueAt(t, at, 'token', 0);
      if (v && isStopword(t, v)) v = null;
    }
    if (!v) continue;

    if (secret) {
      spans.add(v.start, v.end);
      const second = arrowValue(t, v.next, mode);
      if (second) {
        spans.add(second.start, second.end);
        v = second;
      }
    } else if (role === 'name') {
      pairs.name(ks, v.next, isCredentialName(t.slice(v.start, Math.min(v.end, v.start + 128))));
    } else {
      pairs.value(ks, v);
    }
    if (v.next > re.lastIndex) re.lastIndex = v.next;
  }
}
