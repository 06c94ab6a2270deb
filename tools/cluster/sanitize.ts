import { argvMasks, defaultRedactor, isCredentialName } from '../core/redact.js';

/**
 * The one place that makes a Kubernetes object safe to show. Every read tool that shows object
 * content passes it through `sanitize` first; the pipeline's redactor is a second, pattern-based
 * net, not a replacement.
 */

export const MASK = '[REDACTED]';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Names that mark a value as a credential: DB_PASSWORD, api-token, aws_secret_access_key, tls.key… */
export function looksLikeCredentialName(name: string): boolean {
  return isCredentialName(name);
}

/** A value that carries a credential whatever its key: a JWT, a PEM key, `password=…`, a URL with a password. */
export function looksLikeCredentialValue(value: string): boolean {
  return defaultRedactor(value) !== value;
}

function byteSize(base64: unknown): number {
  if (typeof base64 !== 'string') return 0;
  return Buffer.from(base64, 'base64').length;
}

/** A Secret's `data` and `stringData` replaced by their keys and sizes: values never leave. */
export function secretKeys(secret: {
  data?: Record<string, unknown> | null;
  stringData?: Record<string, unknown> | null;
}): Array<{ key: string; bytes: number }> {
  const out: Array<{ key: string; bytes: number }> = [];
  for (const [key, v] of Object.entries(secret.data ?? {})) out.push({ key, bytes: byteSize(v) });
  for (const [key, v] of Object.entries(secret.stringData ?? {})) {
    out.push({ key, bytes: typeof v === 'string' ? Buffer.byteLength(v) : 0 });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

function hiddenData(values: Record<string, unknown> | null | undefined, base64: boolean) {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(values ?? {})) {
    const bytes = base64 ? byteSize(v) : typeof v === 'string' ? Buffer.byteLength(v) : 0;
    out[key] = `(${bytes} bytes, hidden)`;
  }
  return out;
}

function sanitizeAnnotations(annotations: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(annotations)) {
    if (key === LAST_APPLIED) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out[key] =
      looksLikeCredentialName(key.split('/').pop() ?? key) || looksLikeCredentialValue(text) ? MASK : value;
  }
  return out;
}

function sanitizeEnv(env: unknown[]): unknown[] {
  return env.map((e) => {
    if (!e || typeof e !== 'object') return e;
    const entry = e as { name?: unknown; value?: unknown };
    if (typeof entry.value !== 'string') return walk(entry);
    const secret =
      (typeof entry.name === 'string' && looksLikeCredentialName(entry.name)) ||
      looksLikeCredentialValue(entry.value);
    return { ...entry, value: secret ? MASK : entry.value };
  });
}

/** A container's command line with secrets given by position masked: `--db-password X`, `mysql -pX`. */
function sanitizeCommand(obj: Record<string, unknown>): Record<string, unknown> {
  const command = Array.isArray(obj.command) ? obj.command : [];
  const args = Array.isArray(obj.args) ? obj.args : [];
  const masks = argvMasks([...command, ...args]);
  if (masks.size === 0) return obj;
  const out = { ...obj };
  if (command.length) out.command = command.map((a, i) => masks.get(i) ?? a);
  if (args.length) out.args = args.map((a, i) => masks.get(command.length + i) ?? a);
  return out;
}

function isSecret(obj: Record<string, unknown>): boolean {
  return obj.kind === 'Secret' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined);
}

function walk(value: unknown, secretHint = false): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(v));
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  // Items of a SecretList carry no kind of their own.
  if (obj.kind === 'SecretList' && Array.isArray(obj.items)) {
    const rest = walk({ ...obj, items: [] }) as Record<string, unknown>;
    return { ...rest, items: obj.items.map((i) => walk(i, true)) };
  }
  const secret = secretHint || isSecret(obj);
  const out: Record<string, unknown> = {};
  const fields = Array.isArray(obj.command) || Array.isArray(obj.args) ? sanitizeCommand(obj) : obj;
  for (const [key, v] of Object.entries(fields)) {
    if (secret && key === 'data') out.data = hiddenData(v as Record<string, unknown>, true);
    else if (secret && key === 'stringData') out.stringData = hiddenData(v as Record<string, unknown>, false);
    else if (key === 'managedFields') continue;
    else if (key === 'annotations' && v && typeof v === 'object' && !Array.isArray(v)) {
      out.annotations = sanitizeAnnotations(v as Record<string, unknown>);
    } else if (key === 'env' && Array.isArray(v)) out.env = sanitizeEnv(v);
    else out[key] = walk(v);
  }
  return out;
}

/**
 * A copy of any object (or list of objects) that is safe to show: Secret data reduced to key names
 * and sizes, credential-looking env values and annotations masked, managedFields and the
 * last-applied-configuration annotation (which can embed a whole Secret) dropped.
 */
export function sanitize<T>(obj: T, kind?: string): T {
  return walk(obj, kind === 'Secret') as T;
}

/** Shortens long strings (certificates, embedded files) so one object cannot flood the answer. */
export function shortenStrings<T>(value: T, maxChars = 1000): T {
  if (typeof value === 'string') {
    return (
      value.length > maxChars
        ? `${value.slice(0, Math.floor(maxChars / 2))}… (${value.length - Math.floor(maxChars / 2)} more characters)`
        : value
    ) as T;
  }
  if (Array.isArray(value)) return value.map((v) => shortenStrings(v, maxChars)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shortenStrings(v, maxChars);
    return out as T;
  }
  return value;
}
