import type { ToolDef } from '../tools/core/types.js';
import { states, targetLabel, targetsOf } from './guard-targets.js';
import { asks, tokenList, verbOf } from './guard-words.js';
import { attr } from './untrusted.js';

/**
 * The write guard: a defence that does not depend on the model obeying its prompt.
 *
 * The agent runs a tool that changes state only when the user asked for that change in their own
 * words, in this thread: a sentence of theirs must ask for the action (its verb or a synonym, in
 * the base form, not in a why/should question, not negated) with one of the call's targets, or a
 * word pointing back at one, as its object ("restart payments/api", "delete it"; not "create a
 * summary of why payments/api fails"), and every target of the call must be in the user's words:
 * namespace, name, node, ticket, every number (replicas, grace period), every boolean set to
 * other than its default ("force", "delete emptyDir data"), and for a manifest the kind, name and
 * namespace of each object in it. A manifest that cannot be read, or whose objects do not say
 * what they are, is refused. A write the model proposes on its own, which is what an injected
 * instruction in a log line, event, annotation or runbook turns into, is not run even where the
 * policy would allow it outright, and is not put in front of approvers either: the answer shows
 * it as a proposal, with where the idea came from, and the user confirms it (confirm.ts) or asks
 * for it in their own words. Writes that pass still go through the pipeline, so the policy and
 * approvals decide as for any other caller.
 */

export { type Target, type Targets, targetsOf, withoutDefaults } from './guard-targets.js';

/** NFKC, lower case, and one apostrophe: "Don’t" from a phone keyboard is "don't". */
function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc\u2032]/g, "'");
}

/**
 * Whether the user's words ask for this tool's action at all (see guard-words.ts): which write
 * tools are offered to the model. The guard itself also checks what the action is aimed at.
 */
export function asksFor(tool: string, userWords: string[]): boolean {
  return asks(verbOf(tool).pattern, normalise(userWords.join('\n')));
}

export type GuardVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether the user's own words ask for this write: a sentence of theirs asks for its action aimed
 * at one of its targets (or at something already named: "restart it"), and every target of the
 * call is in their words. `args` are what the model set, without values equal to the tool's
 * defaults (see withoutDefaults).
 */
export function writeRequested(
  tool: Pick<ToolDef, 'name'>,
  args: Record<string, unknown>,
  userWords: string[],
): GuardVerdict {
  const text = normalise(userWords.join('\n'));
  const words = new Set(tokenList(text));
  const { verb, pattern } = verbOf(tool.name);
  const { targets, unreadable } = targetsOf(args);
  if (unreadable) {
    return {
      ok: false,
      reason: `not requested by you: Kubemate cannot tell what this call would change (${unreadable})`,
    };
  }
  const missing: string[] = [];
  for (const target of targets) {
    const label = targetLabel(target);
    if (!states(target, text, words) && !missing.includes(label)) missing.push(label);
  }
  const aimedAt = new Set<string>();
  for (const t of targets) {
    if (t.as !== 'flag') for (const p of tokenList(normalise(t.value))) aimedAt.add(p);
  }
  if (typeof args.kind === 'string') for (const p of tokenList(normalise(args.kind))) aimedAt.add(p);
  const verbMissing = !asks(pattern, text, (token) => aimedAt.has(token));
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
