import { cardOpen } from '../core/cards.js';
import type { ApprovalCard } from '../core/types.js';

/**
 * WeCom template cards (模板卡片) of type `button_interaction`. The limits are WeCom's: a main title
 * of 26 characters and a description of 30, a sub-title of 120, up to 6 key-value lines (a key of 5
 * characters, a value of 26; Chinese labels fit), 6 buttons with 10-character labels. The full call
 * and plan do not fit in a card, so the card holds a shortened form and the thread (the text message
 * sent with it) holds them whole; a call cut so far that it is unreadable gets no Approve button.
 */
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const STATUS: Record<string, string> = {
  pending: '待审批 pending',
  executed: '已执行 executed',
  rejected: '已拒绝 rejected',
  expired: '已过期 expired',
  failed: '失败 failed',
  approved: '已批准 approved',
  executing: '执行中 executing',
};

/** Button labels hold 10 characters: the closed card's label is the status in Chinese alone. */
const CLOSED_LABEL: Record<string, string> = {
  executed: '已执行',
  rejected: '已拒绝',
  expired: '已过期',
  failed: '执行失败',
};

export function templateCard(c: ApprovalCard, taskId: string): Record<string, unknown> {
  const open = cardOpen(c);
  const unreadable = c.call.length > 1500 || c.plan.length > 2000;
  return {
    card_type: 'button_interaction',
    source: { desc: 'Kubemate', desc_color: 0 },
    main_title: { title: cut(`审批 ${c.ticketId}`, 26), desc: cut(c.tool, 30) },
    sub_title_text: cut([c.notice, c.outcome, c.plan].filter(Boolean).join('\n'), 120),
    horizontal_content_list: [
      { keyname: '申请人', value: cut(c.requester, 26) },
      { keyname: '状态', value: cut(STATUS[c.status] ?? c.status, 26) },
      {
        keyname: '批准',
        value: cut(
          `${c.approvals.length}/${c.required}${c.approvals.length ? ` ${c.approvals.join(',')}` : ''}`,
          26,
        ),
      },
      { keyname: '过期', value: cut(c.expiresAt.replace('T', ' ').slice(0, 19), 26) },
    ],
    task_id: taskId,
    button_list: open
      ? [
          ...(unreadable ? [] : [{ text: '批准 Approve', style: 1, key: `approve:${c.ticketId}` }]),
          { text: '拒绝 Reject', style: 2, key: `reject:${c.ticketId}` },
        ]
      : [{ text: CLOSED_LABEL[c.status] ?? cut(c.status, 10), style: 4, key: `done:${c.ticketId}` }],
    ...(open ? {} : { replace_text: CLOSED_LABEL[c.status] ?? cut(c.status, 10) }),
  };
}

/** The whole card as text, sent with the card: the call and the plan as they are, and the outcome. */
export function cardDetails(c: ApprovalCard): string {
  return [
    `审批 Approval ${c.ticketId}`,
    `调用 Call: ${c.call}`,
    `计划 Plan: ${c.plan}`,
    `申请人 Requested by: ${c.requester} · 过期 Expires: ${c.expiresAt}`,
    `状态 Status: ${c.status} · 批准 Approvals: ${c.approvals.length} of ${c.required}${c.approvals.length ? ` (${c.approvals.join(', ')})` : ''}`,
    ...(c.outcome ? [`结果 Outcome: ${c.outcome}`] : []),
    ...(c.notice ? [c.notice] : []),
  ].join('\n');
}
