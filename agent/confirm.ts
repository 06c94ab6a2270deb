import type { AgentStore, ThreadTurn } from './store.js';
import { callLabel } from './tool-call.js';
import type { BlockedWrite } from './types.js';

/**
 * Confirming a proposal: when the agent's last answer in a thread showed a change it did not run
 * (the write guard refused it because the user had not asked for it), a reply that is only a yes
 * ("yes", "go ahead", "do it", "好的", "确认执行") runs exactly that call: the same tool and
 * arguments, as the user, through the pipeline, so the policy and approvals decide as for any
 * call. Nothing is asked of the model, so nothing in the data it read can change what runs. A reply
 * with anything more than a yes is an ordinary question, and the guard reads it as before.
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

/** Whether the whole message is a yes (and says nothing else). */
export function isConfirmation(text: string): boolean {
  const t = text.normalize('NFKC').trim();
  return t.length > 0 && t.length <= 60 && PHRASE.test(t) && !ONLY_FILLER.test(t);
}

export type Confirmed =
  | { kind: 'none' }
  | { kind: 'one'; proposal: BlockedWrite }
  | { kind: 'several'; proposals: BlockedWrite[] };

/** The change(s) the previous answer in this thread proposed and did not run. */
export function proposalsToConfirm(question: string, turns: ThreadTurn[], store: AgentStore): Confirmed {
  const last = turns.at(-1);
  if (!last || !isConfirmation(question)) return { kind: 'none' };
  let blocked: BlockedWrite[];
  try {
    blocked = store.getRun(last.runId).state.blocked;
  } catch {
    return { kind: 'none' };
  }
  const proposals = distinctProposals(blocked);
  if (proposals.length === 0) return { kind: 'none' };
  if (proposals.length === 1) return { kind: 'one', proposal: proposals[0]! };
  return { kind: 'several', proposals };
}

/** Refused writes without repeats (a model may propose the same call twice). */
export function distinctProposals(blocked: BlockedWrite[]): BlockedWrite[] {
  const unique = new Map<string, BlockedWrite>();
  for (const b of blocked) unique.set(`${b.name} ${JSON.stringify(b.args)}`, b);
  return [...unique.values()];
}

/** The answer when a yes could mean more than one change: nothing runs; say which, in words. */
export function whichOne(proposals: BlockedWrite[]): string {
  const list = proposals.map((p, i) => `  ${i + 1}. ${callLabel(p.name, p.args)}`).join('\n');
  return `My last answer proposed ${proposals.length} changes, so a yes does not say which one; nothing has run.\n${list}\nAsk for the one you want in your own words.`;
}
