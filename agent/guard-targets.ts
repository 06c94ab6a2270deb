import { parseAllDocuments } from 'yaml';
import type { ToolDef } from '../tools/core/types.js';
import { NEGATED, tokenList } from './guard-words.js';

/**
 * What a write call changes, as the write guard checks it against the user's words: every value
 * the model filled in that decides what the write does. Strings and numbers must appear in the
 * user's words; a boolean must be said ("force", "delete emptyDir data"); a manifest is read as
 * the apply tool reads it, and each of its objects' kind, name and namespace is a target. A
 * manifest that cannot be read, or an object in it that does not say what it is, cannot be
 * checked, so the call is refused.
 */
export type Target =
  | { as: 'word'; key: string; value: string }
  | { as: 'kind'; key: string; value: string }
  | { as: 'flag'; key: string; value: boolean };

export interface Targets {
  targets: Target[];
  /** Why the call cannot be checked; the guard refuses it. */
  unreadable?: string;
}

/** Free-text arguments (a reason for the record) are not targets. */
const FREE_TEXT = new Set(['reason', 'note', 'message', 'comment', 'description']);
/** Chosen by the model from the user's target ("restart payments/api" → kind Deployment). */
const CHOSEN = new Set(['kind']);
/** How long to wait, not what to change: a timeout ends the call early, it does not widen it. */
const isTiming = (key: string) => /timeout/i.test(key);
/** Arguments holding a manifest. */
const MANIFEST_KEYS = new Set(['yaml', 'manifest']);

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The objects of a manifest, read with the parser and rules of resources_apply (kind: List included). */
export function manifestTargets(text: string): Targets {
  const targets: Target[] = [];
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return { targets, unreadable: 'the manifest does not parse' };
  }
  if (!Array.isArray(docs)) return { targets, unreadable: 'the manifest is empty' };
  const visit = (value: unknown, where: string, depth: number): string | undefined => {
    if (value === null || value === undefined) return undefined;
    if (depth > 4) return `${where} nests lists too deep`;
    if (Array.isArray(value)) {
      for (const item of value) {
        const bad = visit(item, where, depth + 1);
        if (bad) return bad;
      }
      return undefined;
    }
    if (!isObj(value)) return `${where} is not a Kubernetes object`;
    if (typeof value.kind === 'string' && /List$/.test(value.kind) && Array.isArray(value.items)) {
      return visit(value.items, where, depth + 1);
    }
    const meta = value.metadata;
    if (typeof value.kind !== 'string' || !value.kind || !isObj(meta)) {
      return `${where} does not say its kind and metadata`;
    }
    if (typeof meta.name !== 'string' || !meta.name) return `${where} (${value.kind}) has no name`;
    if (meta.namespace !== undefined && meta.namespace !== null && typeof meta.namespace !== 'string') {
      return `${where} (${value.kind} ${meta.name}) has a namespace that is not text`;
    }
    targets.push({ as: 'kind', key: 'kind', value: value.kind });
    targets.push({ as: 'word', key: 'name', value: meta.name });
    if (typeof meta.namespace === 'string' && meta.namespace) {
      targets.push({ as: 'word', key: 'namespace', value: meta.namespace });
    }
    return undefined;
  };
  try {
    for (const [i, d] of docs.entries()) {
      if (d.errors.length) return { targets, unreadable: `document ${i + 1} of the manifest does not parse` };
      const bad = visit(d.toJS(), `document ${i + 1} of the manifest`, 0);
      if (bad) return { targets, unreadable: bad };
    }
  } catch {
    return { targets, unreadable: 'the manifest does not parse' };
  }
  if (targets.length === 0) return { targets, unreadable: 'the manifest names no object' };
  return { targets };
}

/** The values in a call's arguments that say what it changes (see Target). */
export function targetsOf(args: Record<string, unknown>): Targets {
  const targets: Target[] = [];
  let unreadable: string | undefined;
  const visit = (key: string, value: unknown, depth: number) => {
    if (unreadable || FREE_TEXT.has(key) || CHOSEN.has(key) || isTiming(key)) return;
    if (depth > 8) {
      unreadable = `the argument ${key} nests too deep`;
      return;
    }
    if (MANIFEST_KEYS.has(key) && typeof value === 'string') {
      const m = manifestTargets(value);
      targets.push(...m.targets);
      unreadable = m.unreadable;
      return;
    }
    if (typeof value === 'string' || typeof value === 'number') {
      targets.push({ as: 'word', key, value: String(value) });
    } else if (typeof value === 'boolean') {
      targets.push({ as: 'flag', key, value });
    } else if (Array.isArray(value)) {
      for (const v of value) visit(key, v, depth + 1);
    } else if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) visit(k, v, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(args)) visit(k, v, 0);
  return unreadable ? { targets, unreadable } : { targets };
}

/**
 * The arguments the model set to something other than what the tool would use anyway: a value
 * equal to the default it would get when left out ("force": false) asks for nothing.
 */
export function withoutDefaults(
  def: Pick<ToolDef, 'input'>,
  given: Record<string, unknown>,
  parsed: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!(key in parsed)) continue;
    const rest = { ...given };
    delete rest[key];
    const without = def.input.safeParse(rest);
    const fallback = without.success ? (without.data as Record<string, unknown>)[key] : undefined;
    if (fallback !== undefined && JSON.stringify(fallback) === JSON.stringify(parsed[key])) continue;
    out[key] = parsed[key];
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * A word on its own, not part of a name: "force" and "--force", not "force-1", "no-force" or
 * "web-secret".
 */
const ALONE_BEFORE = '(?<![a-z0-9._])(?<![a-z0-9]-)';
const ALONE_AFTER = '(?![a-z0-9._])(?!-[a-z0-9])';

/** Whether `value` appears in the text as a whole word (or, with spaces or punctuation, as a whole phrase). */
function mentions(value: string, text: string, words: Set<string>): boolean {
  const t = value.normalize('NFKC').toLowerCase();
  if (!/[a-z0-9\p{L}]/u.test(t)) return false;
  const own = tokenList(t);
  if (own.length === 1 && own[0] === t) return words.has(t);
  return new RegExp(`(?<![a-z0-9])${escapeRe(t)}(?![a-z0-9])`).test(text);
}

/** Short names kubectl knows for common kinds. */
const SHORT_NAMES: Record<string, string[]> = {
  configmap: ['cm'],
  deployment: ['deploy'],
  service: ['svc'],
  serviceaccount: ['sa'],
  namespace: ['ns'],
  statefulset: ['sts'],
  daemonset: ['ds'],
  persistentvolumeclaim: ['pvc'],
  persistentvolume: ['pv'],
  ingress: ['ing'],
  cronjob: ['cj'],
  horizontalpodautoscaler: ['hpa'],
  poddisruptionbudget: ['pdb'],
  networkpolicy: ['netpol'],
};

/** "ConfigMap" is said as configmap(s), config map(s), config-map or cm. */
function mentionsKind(kind: string, text: string): boolean {
  const k = kind.normalize('NFKC');
  const parts = k
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (parts.length === 0) return false;
  const forms = [`${parts.map(escapeRe).join('[\\s_-]?')}(?:s|es)?`];
  for (const short of SHORT_NAMES[parts.join('')] ?? []) forms.push(short);
  return new RegExp(`${ALONE_BEFORE}(?:${forms.join('|')})${ALONE_AFTER}`).test(text);
}

/** Other ways to say a flag; otherwise its words ("deleteEmptyDirData" → delete emptydir data). */
const FLAG_WORDS: Record<string, string[]> = {
  force: ['强制'],
  deleteEmptyDirData: ['删除\\s*emptydir\\s*数据'],
  ignoreDaemonSets: ['忽略\\s*daemonsets?'],
};

/**
 * Whether the user said to set the flag this way: its words, not negated, for true ("drain
 * node-1 with force"); negated, or `=false`, for false ("don't ignore daemonsets").
 */
function saysFlag(key: string, value: boolean, text: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (words.length === 0) return false;
  const forms = [
    `${ALONE_BEFORE}${words.map(escapeRe).join('[\\s_-]*')}${ALONE_AFTER}`,
    ...(FLAG_WORDS[key] ?? []),
  ];
  const pattern = new RegExp(`(?:${forms.join('|')})(\\s*[=:]\\s*(true|false))?`, 'g');
  for (const m of text.matchAll(pattern)) {
    const negated = NEGATED.test(text.slice(0, m.index)) || m[2] === 'false';
    if (negated !== value) return true;
  }
  return false;
}

/** Whether the user's words (normalised text and its tokens) state this target. */
export function states(target: Target, text: string, words: Set<string>): boolean {
  switch (target.as) {
    case 'word':
      return mentions(target.value, text, words);
    case 'kind':
      return mentionsKind(target.value, text);
    case 'flag':
      return saysFlag(target.key, target.value, text);
  }
}

/** A target as the refusal names it. */
export function targetLabel(target: Target): string {
  if (target.as === 'flag') return `${target.key}=${target.value}`;
  return target.value;
}
