/** Replaces secret-looking substrings. The pipeline applies it to every text and structured output. */
export type Redactor = (text: string) => string;

const MASK = '[REDACTED]';

const PATTERNS: Array<[RegExp, string]> = [
  // PEM private keys and certificates' private parts
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, MASK],
  // Authorization headers and bearer tokens
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
  // JSON Web Tokens
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, MASK],
  // AWS access key ids
  [/\bAKIA[0-9A-Z]{16}\b/g, MASK],
  // credentials embedded in URLs: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${MASK}@`],
  // key=value / key: value where the key names a secret
  [
    /\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))(["']?\s*[:=]\s*["']?)([^\s"',;}]{3,})/gi,
    `$1$2${MASK}`,
  ],
];

/** Object keys whose string values are secrets whatever they look like. */
const SECRET_KEY =
  /^(.*[_.-])?(password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)$/i;

export const defaultRedactor: Redactor = (text) => {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
};

/** Applies a redactor to every string inside a JSON-like value. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = typeof v === 'string' && SECRET_KEY.test(k) && v !== '' ? MASK : redactDeep(v, redact);
    }
    return out as T;
  }
  return value;
}
