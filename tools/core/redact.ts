import { argvMasks, findCliSecrets } from './redaction/argv.js';
import { isCredentialName, isSecretKey, MASK } from './redaction/names.js';
import { findPairs } from './redaction/pairs.js';
import { findPrivateKeys } from './redaction/pem.js';
import { findShapes } from './redaction/shapes.js';
import { Spans } from './redaction/spans.js';

/** Replaces secret-looking substrings. The pipeline applies it to every text and structured output. */
export type Redactor = (text: string) => string;

export { argvMasks, isCredentialName, isSecretKey, MASK };

/**
 * Text longer than this is cut before it is checked: the rest is replaced by a note, never shown
 * unchecked. Checking is linear (about 20–40 ms per MB); the cap bounds one call's work.
 */
export const MAX_REDACT_CHARS = 4 * 1024 * 1024;

function redactText(input: string, keepLines = false): string {
  // One flat copy: text built by concatenation is a tree of pieces, and reading it character by
  // character would walk the tree each time.
  const text = input.length > 256 ? ` ${input}`.slice(1) : input;
  const spans = new Spans();
  findPrivateKeys(text, spans);
  findShapes(text, spans);
  findPairs(text, spans);
  findCliSecrets(text, spans);
  return spans.apply(text, MASK, keepLines);
}

function tooLong(rest: number): string {
  return `… (${rest} more characters not shown: too long to check for credentials)`;
}

/**
 * Masks credentials in free text: private key blocks, token shapes (JWT, AWS, GitHub, Stripe,
 * OpenAI, Google…), URL passwords, values of secret-named keys, flags and headers, and name/value
 * pairs with a secret name. Runs in time linear in the text.
 */
export const defaultRedactor: Redactor = (text) => {
  if (text.length <= MAX_REDACT_CHARS) return redactText(text);
  return `${redactText(text.slice(0, MAX_REDACT_CHARS))}${tooLong(text.length - MAX_REDACT_CHARS)}`;
};

/**
 * The lines of one log, in order, redacted as one text (a key block spans lines) but returned
 * line for line: entry i of the result is line i of the input, masked.
 */
export function redactLines(lines: readonly string[]): string[] {
  const total = lines.reduce((n, l) => n + l.length + 1, 0);
  if (total > MAX_REDACT_CHARS) return lines.map((l) => defaultRedactor(l));
  const pieces = redactText(lines.join('\n'), true).split('\n');
  let k = 0;
  return lines.map((line) => {
    let newlines = 0;
    for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n', i + 1)) newlines++;
    const out = pieces.slice(k, k + newlines + 1).join('\n');
    k += newlines + 1;
    return out;
  });
}

/** A whole log (a container's output): redacted with its lines kept, so line numbers still hold. */
export function redactLog(text: string): string {
  if (text.length <= MAX_REDACT_CHARS) return redactText(text, true);
  return `${redactText(text.slice(0, MAX_REDACT_CHARS), true)}${tooLong(text.length - MAX_REDACT_CHARS)}`;
}

/** Structures nested deeper than this are not walked: the part below is replaced whole. */
const MAX_DEPTH = 64;

/** Keys whose values are secrets whatever they look like (besides secret-named keys). */
const SECRET_FIELD = /^(?:tls\.key|\.dockerconfigjson|\.dockercfg|ssh-privatekey)$/i;

/** `{name: DB_PASSWORD, value: …}`: an env entry, header or parameter whose name says it is a secret. */
function secretNamedValue(obj: Record<string, unknown>): boolean {
  const name = typeof obj.name === 'string' ? obj.name : typeof obj.key === 'string' ? obj.key : undefined;
  return name !== undefined && typeof obj.value !== 'object' && isCredentialName(name);
}

function redactArray(list: unknown[], redact: Redactor, depth: number): unknown[] {
  const masks = argvMasks(list);
  return list.map((v, i) => masks.get(i) ?? redactAt(v, redact, depth + 1));
}

/**
 * `out[key] = value` as an own property whatever the key: a `__proto__` key (valid in JSON, and as a
 * ConfigMap data key) stays a key instead of replacing the copy's prototype.
 */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function redactAt(value: unknown, redact: Redactor, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > MAX_DEPTH && value && typeof value === 'object')
    return `${MASK} (nested deeper than ${MAX_DEPTH})`;
  if (Array.isArray(value)) return redactArray(value, redact, depth);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const namedSecret = secretNamedValue(obj);
    // A container's command and args are one command line: `-u root` in command, `-pX` in args.
    const command = Array.isArray(obj.command) ? obj.command : [];
    const args = Array.isArray(obj.args) ? obj.args : [];
    const argv = command.length && args.length ? argvMasks([...command, ...args]) : undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const scalar = typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint';
      const secret =
        (scalar && v !== '' && (isSecretKey(k) || SECRET_FIELD.test(k))) ||
        (namedSecret && k === 'value' && v !== '' && v !== null && v !== undefined);
      const key = redact(k);
      if (secret) setOwn(out, key, MASK);
      else if (argv && (k === 'command' || k === 'args')) {
        const offset = k === 'command' ? 0 : command.length;
        setOwn(
          out,
          key,
          (v as unknown[]).map((a, i) => argv.get(offset + i) ?? redactAt(a, redact, depth + 1)),
        );
      } else setOwn(out, key, redactAt(v, redact, depth + 1));
    }
    return out;
  }
  return value;
}

/** Applies a redactor to every string inside a JSON-like value, and masks values under secret keys. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  return redactAt(value, redact, 0) as T;
}
