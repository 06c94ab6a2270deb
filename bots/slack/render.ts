import type { types } from '@slack/bolt';

type KnownBlock = types.KnownBlock;

import { cardOpen } from '../core/cards.js';
import type { ApprovalCard, MessageAction, OutMessage } from '../core/types.js';

/** Slack's limits: 3000 characters in a section's text, 50 blocks in a message. */
const SECTION_CHARS = 2900;
const MAX_SECTIONS = 40;

/**
 * Slack's control characters in mrkdwn: text quoted from a cluster (a log line the agent repeats, a
 * ticket's note) must not become `<!channel>` pings or `<https://…|label>` links posing as something else.
 */
const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** Cuts escaped text into sections of at most SECTION_CHARS, never inside an entity (`&lt;`). */
function textBlocks(text: string): KnownBlock[] {
  const escaped = esc(text);
  const out: KnownBlock[] = [];
  let i = 0;
  while (i < escaped.length && out.length < MAX_SECTIONS) {
    let end = Math.min(escaped.length, i + SECTION_CHARS);
    const amp = escaped.lastIndexOf('&', end - 1);
    if (end < escaped.length && amp > i && amp > end - 5 && !escaped.slice(amp, end).includes(';')) end = amp;
    out.push(section(escaped.slice(i, end)));
    i = end;
  }
  return out.length > 0 ? out : [section(' ')];
}

const CALL_CHARS = 1500;
const PLAN_CHARS = 2000;

/** Code spans cannot hold backticks: Slack has no escape for them, so they are replaced. */
const code = (s: string) => `\`${esc(s.replaceAll('`', "'").slice(0, CALL_CHARS))}\``;

/** A card too long to show whole says so, and offers no Approve button: nobody approves what they did not see. */
const cutNote = (s: string, max: number) =>
  s.length > max ? ` _… cut: ${s.length - max} more characters not shown_` : '';

function cardBlocks(c: ApprovalCard): KnownBlock[] {
  const cut = c.call.length > CALL_CHARS || c.plan.length > PLAN_CHARS;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `Approval ${c.ticketId}` } },
    section(
      `*Call:* ${code(c.call)}${cutNote(c.call, CALL_CHARS)}\n*Plan:* ${esc(c.plan.slice(0, PLAN_CHARS))}${cutNote(c.plan, PLAN_CHARS)}`,
    ),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requested by:* ${esc(c.requester)}` },
        { type: 'mrkdwn', text: `*Expires:* ${c.expiresAt}` },
        { type: 'mrkdwn', text: `*Status:* ${c.status}` },
        {
          type: 'mrkdwn',
          text: `*Approvals:* ${c.approvals.length} of ${c.required}${c.approvals.length ? ` (${esc(c.approvals.join(', '))})` : ''}`,
        },
      ],
    },
  ];
  if (c.outcome) blocks.push(section(`*Outcome:* ${esc(c.outcome.slice(0, 2800))}`));
  if (c.notice)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: esc(c.notice.slice(0, 2900)) }] });
  if (cardOpen(c) && cut)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `This call is too long to show whole here, so it cannot be approved from this card: review it with \`kubemate approvals get ${c.ticketId}\`.`,
        },
      ],
    });
  if (cardOpen(c)) {
    blocks.push({
      type: 'actions',
      block_id: `kubemate_ticket_${c.ticketId}`,
      elements: [
        ...(cut
          ? []
          : [
              {
                type: 'button' as const,
                action_id: 'kubemate_approve',
                style: 'primary' as const,
                value: c.ticketId,
                text: { type: 'plain_text' as const, text: 'Approve' },
              },
            ]),
        {
          type: 'button',
          action_id: 'kubemate_reject',
          style: 'danger',
          value: c.ticketId,
          text: { type: 'plain_text', text: 'Reject' },
        },
      ],
    });
  }
  return blocks;
}

/** A message's own buttons: `kubemate_act_<action>`, the value as given (both checked where they come back). */
export const ACTION_PREFIX = 'kubemate_act_';

function actionBlock(actions: MessageAction[]): KnownBlock {
  return {
    type: 'actions',
    block_id: 'kubemate_actions',
    elements: actions.slice(0, 25).map((a) => ({
      type: 'button' as const,
      action_id: `${ACTION_PREFIX}${a.action}`,
      value: a.value,
      text: { type: 'plain_text' as const, text: a.label.slice(0, 75) },
      ...(a.style ? { style: a.style } : {}),
    })),
  };
}

/** Block Kit for a message; `text` stays the notification and accessibility fallback. */
export function render(message: OutMessage): { text: string; blocks: KnownBlock[] } {
  const blocks = message.card ? cardBlocks(message.card) : textBlocks(message.text);
  if (!message.card && message.actions?.length) blocks.push(actionBlock(message.actions));
  return {
    text: esc(message.text)
      .slice(0, 3000)
      .replace(/&[a-z]{0,3}$/, ''),
    blocks,
  };
}
