import type { ToolDef } from '../tools/core/types.js';
import { attr } from './untrusted.js';

/**
 * The write guard: a defence that does not depend on the model obeying its prompt.
 *
 * The agent runs a tool that changes state only when the user asked for that change in their own
 * words, in this thread: a sentence of theirs must ask for the action (its verb or a synonym, in
 * the base form, not in a why/should question, not negated), and every target argument of the
 * call (namespace, name, node, ticket, replica count…) must appear in the user's messages. A write the
 * model proposes on its own, which is what an injected instruction in a log line, event, annotation
 * or runbook turns into, is not run even where the policy would allow it outright, and is not put
 * in front of approvers either: the answer shows it as a proposal, with where the idea came from,
 * and the user confirms by asking for it explicitly. Writes that pass still go through the
 * pipeline, so the policy and approvals decide as for any other caller.
 */

/**
 * How a request for each action reads: base forms only ("restart", not "restarting" or
 * "restarted", which describe rather than ask), plus Chinese. Keyed by the last part of the
 * tool name; other tools fall back to that word itself.
 */
const VERBS: Record<string, RegExp> = {
  scale: /(?<![a-z])scale(?![a-z])|扩容|缩容/,
  restart: /(?<![a-z])(restart|bounce|reboot)(?![a-z])|重启/,
  undo: /(?<![a-z])(undo|roll\s*back|rollback|revert)(?![a-z])|回滚/,
  delete: /(?<![a-z])(delete|remove|kill|restart)(?![a-z])|删除/,
  cordon: /(?<![a-z])cordon(?![a-z])|封锁/,
  uncordon: /(?<![a-z])uncordon(?![a-z])|解除封锁/,
  drain: /(?<![a-z])(drain|evacuate)(?![a-z])|驱逐|排空/,
  apply: /(?<![a-z])(apply|create)(?![a-z])|应用/,
  approve: /(?<![a-z])approve(?![a-z])|批准/,
  reject: /(?<![a-z])(reject|withdraw)(?![a-z])|拒绝/,
};

/** A sentence that asks about something rather than for it ("why is api restarting", "should I scale"). */
const QUESTION =
  /^(why|what|how|when|where|who|which|whose|is|are|was|were|does|do|did|should|shall|has|have|had|isn't|aren't|doesn't|didn't)\b|^(为什么|为何|怎么|是不是|是否)/;
/** "don't restart", "do not scale", "never drain", "without deleting": the opposite of a request. */
const NEGATED = /(?<![a-z])(not|don't|dont|never|no|without|avoid)\s+(\S+\s+){0,2}$|(不要|别|不用|无需)\s*$/;

/** Whether any sentence of the user's words asks for the action `pattern` describes. */
function asks(pattern: RegExp, text: string): boolean {
  for (const raw of text.split(/[.?!\n。？！;；]+/)) {
    const sentence = raw.trim();
    if (!sentence || QUESTION.test(sentence)) continue;
    const global = new RegExp(pattern.source, 'g');
    for (const m of sentence.matchAll(global)) {
      if (!NEGATED.test(sentence.slice(0, m.index))) return true;
    }
  }
  return false;
}

/** Free-text arguments (a reason for the record) are not targets. */
const FREE_TEXT = new Set(['reason', 'note', 'message', 'comment', 'description']);
/** Chosen by the model from the user's target ("restart payments/api" → kind Deployment), or timing only. */
const NOT_TARGETS = new Set(['kind']);
const isTiming = (key: string) => /timeout/i.test(key);

function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Identifier-like tokens: `payments/api-7d9f` gives `payments` and `api-7d9f`. */
function tokens(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of normalise(text).split(/[^a-z0-9._:-]+/)) {
    const t = raw.replace(/^[.:-]+|[.:-]+$/g, '');
    if (t) out.add(t);
  }
  return out;
}

function verbOf(tool: string): { verb: string; pattern: RegExp } {
  const verb = tool.split('_').at(-1) ?? tool;
  const escaped = verb.replace(/[^a-z0-9]/g, '');
  return { verb, pattern: VERBS[verb] ?? new RegExp(`(?<![a-z])${escaped}`) };
}

/** Whether the user's words ask for this tool's action (see VERBS, QUESTION and NEGATED). */
export function asksFor(tool: string, userWords: string[]): boolean {
  return asks(verbOf(tool).pattern, normalise(userWords.join('\n')));
}

/** Names and namespaces in a manifest: what applying it would change. */
function manifestTargets(yaml: string): string[] {
  const out: string[] = [];
  for (const m of yaml.matchAll(/^\s*(name|namespace):\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)["']?\s*$/gm)) {
    out.push(m[2]!);
  }
  return out;
}

/** The values in a call's arguments that say what it changes. */
export function targetsOf(args: Record<string, unknown>): string[] {
  const out: string[] = [];
  const visit = (key: string, value: unknown) => {
    if (FREE_TEXT.has(key) || NOT_TARGETS.has(key) || isTiming(key)) return;
    if (key === 'yaml' && typeof value === 'string') {
      out.push(...manifestTargets(value));
      return;
    }
    if (typeof value === 'string' || typeof value === 'number') out.push(String(value));
    else if (Array.isArray(value)) for (const v of value) visit(key, v);
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(k, v);
  };
  for (const [k, v] of Object.entries(args)) visit(k, v);
  return out;
}

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/** Whether the user's own words ask for this write: its action and every one of its targets. */
export function writeRequested(
  tool: Pick<ToolDef, 'name'>,
  args: Record<string, unknown>,
  userWords: string[],
): GuardVerdict {
  const text = normalise(userWords.join('\n'));
  const words = tokens(text);
  const { verb, pattern } = verbOf(tool.name);
  const missing: string[] = [];
  for (const target of targetsOf(args)) {
    const t = normalise(target);
    const found = /\s/.test(t) ? text.includes(t) : words.has(t);
    if (!found && !missing.includes(target)) missing.push(target);
  }
  const verbMissing = !asks(pattern, text);
  if (!verbMissing && missing.length === 0) return { ok: true };
  const parts = [
    ...(verbMissing ? [`you did not ask to ${verb} anything`] : []),
    ...(missing.length
      ? [`your request does not name ${missing.map((m) => `'${attr(m, 60)}'`).join(', ')}`]
      : []),
  ];
  return { ok: false, reason: `not requested by you: ${parts.join(' and ')}` };
}

/** `pods_logs payments/api-7d9f`: a short label of what a read looked at, for provenance. */
export function readLabel(tool: string, args: unknown): string {
  const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
  const ns = typeof a.namespace === 'string' ? a.namespace : undefined;
  const target = [a.name, a.pod, a.node, a.id, a.ticket, a.query].find((v) => typeof v === 'string') as
    | string
    | undefined;
  const where = [ns, target].filter(Boolean).join('/');
  return attr(where ? `${tool} ${where}` : tool, 100);
}

/** The label a ticket carries so the approver sees where the request came from. */
export function originLabel(person: string, question: string, reads: string[]): string {
  const unique = [...new Set(reads)];
  const shown = unique.slice(0, 8).join(', ') + (unique.length > 8 ? ` and ${unique.length - 8} more` : '');
  return attr(
    `proposed by the Kubemate agent for ${person} (asked: "${attr(question, 100)}") after reading: ${shown || 'nothing'}`,
    600,
  );
}
