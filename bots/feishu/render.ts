import { cardOpen } from '../core/cards.js';
import { toPlainText } from '../core/plain.js';
import type { ApprovalCard, OutMessage } from '../core/types.js';

/**
 * Feishu message cards (the JSON 1.0 card schema). Every message Kubemate posts is a card with
 * `update_multi`, so that the "Working on it…" reply and approval cards can be updated in place
 * (PATCH /im/v1/messages/:id works on cards only). Text from the cluster or the model goes in
 * `plain_text` elements: nothing in it is read as markup, so a log line cannot `<at>` everyone or
 * pose as a link. Feishu refuses cards over 30 KB; text is kept well under that.
 */
type Element = Record<string, unknown>;

/** Characters per text element, and in all: Chinese text is 3 bytes a character in the card's JSON. */
const CHUNK = 2000;
const MAX_TEXT = 8000;
const CALL_CHARS = 1500;
const PLAN_CHARS = 2000;

const plain = (content: string): Element => ({ tag: 'div', text: { tag: 'plain_text', content } });
const note = (content: string): Element => ({ tag: 'note', elements: [{ tag: 'plain_text', content }] });

function textElements(text: string): Element[] {
  const shown = text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text;
  const out: Element[] = [];
  for (let i = 0; i < shown.length; i += CHUNK) out.push(plain(shown.slice(i, i + CHUNK)));
  if (text.length > MAX_TEXT)
    out.push(note(`… ${text.length - MAX_TEXT} more characters not shown (已截断)`));
  return out.length > 0 ? out : [plain(' ')];
}

const TEMPLATE: Record<string, string> = {
  pending: 'orange',
  executed: 'green',
  rejected: 'red',
  failed: 'red',
  expired: 'grey',
};

function cardElements(c: ApprovalCard): Element[] {
  const cut = c.call.length > CALL_CHARS || c.plan.length > PLAN_CHARS;
  const elements: Element[] = [
    plain(
      `调用 Call: ${c.call.slice(0, CALL_CHARS)}${c.call.length > CALL_CHARS ? ` … (${c.call.length - CALL_CHARS} more characters cut)` : ''}`,
    ),
    plain(
      `计划 Plan: ${c.plan.slice(0, PLAN_CHARS)}${c.plan.length > PLAN_CHARS ? ` … (${c.plan.length - PLAN_CHARS} more characters cut)` : ''}`,
    ),
    {
      tag: 'div',
      fields: [
        { is_short: true, text: { tag: 'plain_text', content: `申请人 Requested by: ${c.requester}` } },
        { is_short: true, text: { tag: 'plain_text', content: `过期 Expires: ${c.expiresAt}` } },
        { is_short: true, text: { tag: 'plain_text', content: `状态 Status: ${c.status}` } },
        {
          is_short: true,
          text: {
            tag: 'plain_text',
            content: `批准 Approvals: ${c.approvals.length} of ${c.required}${c.approvals.length ? ` (${c.approvals.join(', ')})` : ''}`,
          },
        },
      ],
    },
  ];
  if (c.outcome) elements.push(plain(`结果 Outcome: ${c.outcome.slice(0, 2000)}`));
  if (c.notice) elements.push(note(c.notice.slice(0, 2000)));
  if (cardOpen(c) && cut)
    elements.push(
      note(
        `This call is too long to show whole here, so it cannot be approved from this card: review it with \`kubemate approvals get ${c.ticketId}\`.`,
      ),
    );
  if (cardOpen(c)) {
    const button = (action: 'approve' | 'reject', label: string, type: string): Element => ({
      tag: 'button',
      text: { tag: 'plain_text', content: label },
      type,
      value: { kubemate: action, ticket: c.ticketId },
    });
    elements.push({
      tag: 'action',
      actions: [
        ...(cut ? [] : [button('approve', '批准 Approve', 'primary')]),
        button('reject', '拒绝 Reject', 'danger'),
      ],
    });
  }
  return elements;
}

/** The card JSON of a message (`msg_type: interactive`). */
export function renderCard(message: OutMessage): Record<string, unknown> {
  const c = message.card;
  return {
    config: { wide_screen_mode: true, update_multi: true },
    ...(c
      ? {
          header: {
            title: { tag: 'plain_text', content: `审批 Approval ${c.ticketId}` },
            template: TEMPLATE[c.status] ?? 'blue',
          },
        }
      : {}),
    elements: c
      ? cardElements(c)
      : [
          ...textElements(toPlainText(message.text)),
          ...(message.actions?.length
            ? [
                {
                  tag: 'action',
                  actions: message.actions.slice(0, 10).map((a) => ({
                    tag: 'button',
                    text: { tag: 'plain_text', content: a.label },
                    type: a.style ?? 'default',
                    value: { kubemate: 'act', action: a.action, arg: a.value },
                  })),
                },
              ]
            : []),
        ],
  };
}
