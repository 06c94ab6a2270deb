/** Replaces secret-looking substrings. The pipeline applies it to every text and structured output. */
export type Redactor = (text: string) => string;

const MASK = '[REDACTED]';

/** Words that make a key name a secret: `DB_PASSWORD`, `dbPassword`, `client_secret`, `SECRET_KEY`… */
const SECRET_WORD =
  '(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?key[_-]?data|credentials?|auth)';

const PATTERNS: Array<[RegExp, string]> = [
  // PEM private keys, also when the text was cut before the END line
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*$)/g, MASK],
  // Authorization headers and bearer tokens
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
  // JSON Web Tokens
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, MASK],
  // AWS access key ids, GitHub and Slack tokens
  [/\bAKIA[0-9A-Z]{16}\b/g, MASK],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, MASK],
  [/\bxox[abpors]-[A-Za-z0-9-]{10,}/g, MASK],
  // credentials embedded in URLs: scheme://user:password@host (user may be empty)
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${MASK}@`],
  // key="quoted value with spaces" where the key names a secret
  [new RegExp(`\\b([A-Za-z0-9_.-]*${SECRET_WORD})(["']?\\s*[:=]\\s*)"[^"]*"`, 'gi'), `$1$2"${MASK}"`],
  [new RegExp(`\\b([A-Za-z0-9_.-]*${SECRET_WORD})(["']?\\s*[:=]\\s*)'[^']*'`, 'gi'), `$1$2'${MASK}'`],
  // key=value / key: value where the key names a secret
  [
    new RegExp(`\\b([A-Za-z0-9_.-]*${SECRET_WORD})(["']?\\s*[:=]\\s*)(?!\\[REDACTED\\])([^\\s"',;}]+)`, 'gi'),
    `$1$2${MASK}`,
  ],
];

/** Object keys whose string values are secrets whatever they look like. */
const SECRET_KEY = new RegExp(`^([A-Za-z0-9_.-]*?)${SECRET_WORD}$|^tls\\.key$|^\\.dockerconfigjson$`, 'i');

export const defaultRedactor: Redactor = (text) => {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
};

/** `{name: DB_PASSWORD, value: …}`: an env entry or parameter whose name says it is a secret. */
function secretNamedValue(obj: Record<string, unknown>): boolean {
  return typeof obj.name === 'string' && typeof obj.value === 'string' && SECRET_KEY.test(obj.name);
}

/** Applies a redactor to every string inside a JSON-like value, and masks values under secret keys. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const namedSecret = secretNamedValue(obj);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const secret =
        (typeof v === 'string' && v !== '' && SECRET_KEY.test(k)) || (namedSecret && k === 'value');
      out[k] = secret ? MASK : redactDeep(v, redact);
    }
    return out as T;
  }
  return value;
}
