// Where Kubemate keeps its state: `sqlite:` (files in the data folder, the embedded default) or a
// PostgreSQL URL (several replicas share one database). A foundation module: zod only.
import { z } from 'zod';

export type StateLocation = { kind: 'sqlite'; dir?: string } | { kind: 'postgres'; url: string };

const FORMS =
  "use 'sqlite:' (files in dataDir), 'sqlite:<folder>' or 'postgres://user:password@host:5432/database' (also postgresql://)";

/** Parses `state.url`; the error names the forms that are accepted. */
export function parseStateUrl(raw: string): StateLocation | { error: string } {
  const text = raw.trim();
  if (text === 'sqlite' || text === 'sqlite:') return { kind: 'sqlite' };
  if (text.startsWith('sqlite:')) {
    const dir = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir.includes('\0')) return { error: `'${raw}' is not a folder path; ${FORMS}` };
    return { kind: 'sqlite', dir };
  }
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { error: `'${redactUrl(raw)}' is not a valid URL; ${FORMS}` };
    }
    if (!url.hostname) return { error: `'${redactUrl(raw)}' names no host; ${FORMS}` };
    if (url.pathname.length <= 1)
      return { error: `'${redactUrl(raw)}' names no database (…/<database>); ${FORMS}` };
    return { kind: 'postgres', url: text };
  }
  return { error: `${shownOrHidden(raw)} is not a state URL; ${FORMS}` };
}

/**
 * A URL with its password replaced, for messages and logs. A password may hold '/', '@' or ':'
 * (base64 ones often do): everything between the user's ':' and the last '@' goes, and so does a
 * `password=` parameter.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/(\/\/[^:/@]*:).*@/s, '$1***@').replace(/([?&;]password=)[^&;#]*/gi, '$1***');
}

/**
 * A value that is not a URL we can redact (a libpq keyword string, a mistyped URL) may still carry a
 * password: quoted when it plainly holds none, else hidden.
 */
function shownOrHidden(raw: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim())) return `'${redactUrl(raw)}'`;
  return /@|password|secret|:[^/]/i.test(raw) ? '(the value is hidden: it may hold a password)' : `'${raw}'`;
}

/** Every URL-like string in a value, redacted: for echoing what was given in an error message. */
export function redactUrlsDeep(value: unknown): unknown {
  if (typeof value === 'string')
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(redactUrlsDeep);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUrlsDeep(v)]));
  return value;
}

/** `state.url` in the configuration: a string, checked and turned into a StateLocation. */
export const stateUrlSchema = z
  .string()
  .min(1)
  .transform((raw, ctx): StateLocation => {
    const parsed = parseStateUrl(raw);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed;
  });
