import { confirmable } from './proposal.js';
import type { AgentState, ThreadTurn } from './store.js';
import { callLabel } from './tool-call.js';
import type { BlockedWrite } from './types.js';

/**
 * Confirming a proposal: when the agent's last answer in a thread showed a change it did not run
 * (the write guard refused it because the user had not asked for it), a reply that is only a yes
 * ("yes", "go ahead", "do it", "好的", "确认执行"), with the digest the answer showed next to the
 * change ("yes 3f9a2c", needed when it proposed several), runs exactly that call: the same tool
 * and arguments, as the user, through the pipeline, so the policy and approvals decide as for any
 * call. Only a call the answer showed whole can be confirmed, and it runs only if its arguments
 * still hash to the digest shown (proposal.ts). Nothing is asked of the model, so nothing in the
 * data it read can change what runs. A reply with anything more than a yes is an ordinary
 * question, and the guard reads it as before.
 */

/** Words that say yes to a proposed change. */
const YES = [
  'yes',
  'yeah',
  'yep',
  'y',
  'sure',
  'confirm',
  'confirmed',
  'go ahead',
  'do it',
  'proceed',
  'please do',
  'run it',
  'apply it',
  'lgtm',
  '是',
  '是的',
  '好的',
  '可以',
  '确认',
  '执行',
  '同意',
];
/** Words that may go with a yes but are not one on their own ("ok, thanks" acknowledges, it does not ask). */
const FILLER = ['ok', 'okay', 'please', 'thanks', 'thank you', '好', '吧', '谢谢'];

const alternation = (words: string[]) =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/ /g, '\\s+'))
    .join('|');
const SEPARATOR = '[\\s,，.!！。]*';
const PHRASE = new RegExp(`^(?:(?:${alternation([...YES, ...FILLER])})${SEPARATOR})+$`, 'i');
const ONLY_FILLER = new RegExp(`^(?:(?:${alternation(FILLER)})${SEPARATOR})+$`, 'i');

/** A digest as the answer shows it, "3f9a2c", said with the yes. */
const DIGEST = /(?<![0-9a-z])[0-9a-f]{6}(?![0-9a-z])/gi;

/**
 * A message that is only a yes, optionally with the digest of the change it confirms
 * ("yes 3f9a2c"); null for anything else.
 */
export function parseConfirmation(text: string): { digest?: string } | null {
  const t = text.normalize('NFKC').trim();
  if (t.length === 0 || t.length > 60) return null;
  const digests = [...t.matchAll(DIGEST)].map((m) => m[0].toLowerCase());
  if (digests.length > 1) return null;
  const rest = t.replace(DIGEST, ' ').trim();
  if (!rest || !PHRASE.test(rest) || ONLY_FILLER.test(rest)) return null;
  return digests[0] ? { digest: digests[0] } : {};
}

/** Whether the whole message is a yes (and says nothing else but, perhaps, a digest). */
export function isConfirmation(text: string): boolean {
  return parseConfirmation(text) !== null;
}

export type Confirmed =
  | { kind: 'none' }
  | { kind: 'one'; proposal: BlockedWrite & { digest: string } }
  | { kind: 'several'; proposals: BlockedWrite[] }
  /** A yes that cannot run anything: say why; nothing runs and the model is not asked. */
  | { kind: 'refused'; message: string };

/**
 * The change a yes confirms: of those the previous answer in this thread proposed and did not
 * run, the one whose digest the yes gives, or the only one. It must have been shown whole and its
 * arguments must still hash to the digest shown (proposal.ts); otherwise nothing runs.
 */
export async function proposalsToConfirm(
  question: string,
  turns: ThreadTurn[],
  store: AgentState,
): Promise<Confirmed> {
  const last = turns.at(-1);
  const yes = parseConfirmation(question);
  if (!last || !yes) return { kind: 'none' };
  let blocked: BlockedWrite[];
  try {
    blocked = (await store.getRun(last.runId)).state.blocked;
  } catch {
    return { kind: 'none' };
  }
  const proposals = distinctProposals(blocked);
  if (proposals.length === 0) return { kind: 'none' };
  if (yes.digest) {
    const matches = proposals.filter((p) => confirmable(p) && p.digest === yes.digest);
    if (matches.length === 1)
      return { kind: 'one', proposal: matches[0] as BlockedWrite & { digest: string } };
    if (matches.length > 1) return { kind: 'several', proposals: matches };
    return {
      kind: 'refused',
      message: `No change my last answer showed has the digest ${yes.digest}, so nothing has run. Reply with the digest shown next to the change, or ask for it in your own words.`,
    };
  }
  if (proposals.length > 1) return { kind: 'several', proposals };
  const only = proposals[0]!;
  if (confirmable(only)) return { kind: 'one', proposal: only };
  return {
    kind: 'refused',
    message: `A yes cannot confirm the change my last answer proposed, because ${only.notConfirmable ?? 'it was not shown whole'}; nothing has run. If you want it, ask for it in your own words.`,
  };
}

/** Refused writes without repeats (a model may propose the same call twice). */
export function distinctProposals(blocked: BlockedWrite[]): BlockedWrite[] {
  const unique = new Map<string, BlockedWrite>();
  for (const b of blocked) unique.set(`${b.name} ${JSON.stringify(b.args)}`, b);
  return [...unique.values()];
}

/** The answer when a yes could mean more than one change: nothing runs; say which, in words. */
export function whichOne(proposals: BlockedWrite[]): string {
  const list = proposals
    .map((p, i) => {
      const how = confirmable(p) ? ` (reply "yes ${p.digest}")` : ' (cannot be confirmed with a yes)';
      return `  ${i + 1}. ${callLabel(p.name, p.args)}${how}`;
    })
    .join('\n');
  return `My last answer proposed ${proposals.length} changes, so a yes does not say which one; nothing has run.\n${list}\nAsk for the one you want in your own words, or reply yes with the digest of the one shown whole in that answer.`;
}
