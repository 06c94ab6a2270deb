import { createHash } from 'node:crypto';
import { defaultRedactor, type Redactor } from '../tools/core/redact.js';
import type { ToolDef } from '../tools/core/types.js';
import type { BlockedWrite } from './types.js';

/**
 * How a change the agent did not run is shown, and what a yes to it confirms. A yes may only
 * confirm what the person saw, so a proposal is confirmable only when it is shown whole and
 * exactly: the call with every argument as JSON (characters that do not show, such as zero-width,
 * bidirectional and tag characters, are written as escapes), no longer than SHOW_MAX characters,
 * and with nothing masked (a manifest carrying Secret values is shown masked, so it cannot be
 * confirmed). The digest shown with it is of the tool and its exact arguments; the confirmed call
 * runs only if its arguments still hash to that digest.
 */

/** Longest call shown whole (and so confirmable with a yes), in characters. */
export const SHOW_MAX = 2000;
/** Hex characters of the digest a person types back: "yes 3f9a2c". */
const DIGEST_CHARS = 6;

// Characters that do not show, or show as something else: controls (C0, DEL, C1), format
// characters (zero-width, bidirectional controls, tags), line and paragraph separators.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** `pods_delete namespace="shop" name="web-1"`: every argument, as JSON, nothing hidden. */
export function exactCall(name: string, args: Record<string, unknown>): string {
  const parts = Object.entries(args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v) ?? String(v)}`);
  const text = `${name}${parts.length ? ` ${parts.join(' ')}` : ''}`;
  return text.replace(HIDDEN, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** JSON with object keys sorted, so equal arguments always hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The short digest a person confirms: the first hex characters of the SHA-256 of the exact call. */
export function digestOf(name: string, args: unknown): string {
  const text = `${name}\n${canonical(isPlainObject(args) ? args : {})}`;
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, DIGEST_CHARS);
}

export interface ProposalView {
  /** What the answer shows. */
  shown: string;
  /** Present when `shown` is the whole call, exactly: a yes (with this digest) may confirm it. */
  digest?: string;
  /** Why a yes cannot confirm it, when it cannot. */
  notConfirmable?: string;
}

/** The tool's own masking of its arguments; a masking that fails hides every value. */
function masked(def: Pick<ToolDef, 'redactArgs'> | undefined, args: Record<string, unknown>) {
  if (!def?.redactArgs) return args;
  try {
    return def.redactArgs(args);
  } catch {
    return Object.fromEntries(Object.keys(args).map((k) => [k, '[REDACTED]']));
  }
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * How a refused call is shown, and whether a yes may confirm it. Shown text passes the same
 * masking as a ticket's plan (the tool's own, then the credential redactor); when that changes
 * anything, the person would not see what runs, so a yes cannot confirm it.
 */
export function proposalView(
  def: Pick<ToolDef, 'redactArgs'> | undefined,
  name: string,
  args: unknown,
  redact: Redactor = defaultRedactor,
): ProposalView {
  if (!isPlainObject(args)) {
    return { shown: name, notConfirmable: 'its arguments are not an object' };
  }
  const exact = exactCall(name, args);
  if (exact.length > SHOW_MAX) {
    return {
      shown: redact(cut(exactCall(name, masked(def, args)), 160)),
      notConfirmable: `the whole call is ${exact.length} characters, too long to show here`,
    };
  }
  const shown = redact(exactCall(name, masked(def, args)));
  if (shown !== exact) {
    return {
      shown: cut(shown, SHOW_MAX),
      notConfirmable: 'it carries secret values, which are not shown here',
    };
  }
  return { shown: exact, digest: digestOf(name, args) };
}

/** Whether a yes may run this proposal: it was shown whole, and its arguments are still what was shown. */
export function confirmable(b: BlockedWrite): b is BlockedWrite & { digest: string; shown: string } {
  return (
    typeof b.digest === 'string' &&
    isPlainObject(b.args) &&
    b.shown === exactCall(b.name, b.args) &&
    b.digest === digestOf(b.name, b.args)
  );
}
