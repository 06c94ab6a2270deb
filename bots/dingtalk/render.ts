import { cardOpen } from '../core/cards.js';
import { toPlainText } from '../core/plain.js';
import type { ApprovalCard, OutMessage } from '../core/types.js';

/**
 * An approval card as the `cardParamMap` of DingTalk's interactive card (互动卡片) template: every
 * value a string, as the card API requires. The template (built once in DingTalk's card builder, see
 * docs/chat-dingtalk.md) shows these variables as text, so nothing from the cluster or the model is read
 * as markup; its two buttons send `{kubemate: "approve"|"reject", ticket: "${ticket}"}` back and are
 * shown only while `approvable` / `rejectable` are "true".
 */
const CALL_CHARS = 1500;
const PLAN_CHARS = 2000;

const STATUS: Record<string, string> = {
  pending: '待审批 pending',
  approved: '已批准 approved',
  executing: '执行中 executing',
  executed: '已执行 executed',
  rejected: '已拒绝 rejected',
  expired: '已过期 expired',
  failed: '失败 failed',
};

const shown = (s: string, n: number) =>
  s.length > n ? `${s.slice(0, n)} … (${s.length - n} more characters cut)` : s;

export function cardParams(c: ApprovalCard, buttons: boolean): Record<string, string> {
  const open = cardOpen(c);
  const cut = c.call.length > CALL_CHARS || c.plan.length > PLAN_CHARS;
  const notes = [
    c.notice,
    open && cut
      ? `This call is too long to show whole here, so it cannot be approved from this card: review it with \`kubemate approvals get ${c.ticketId}\`.`
      : undefined,
    open && !buttons
      ? `批准 Approve: @kubemate approve ${c.ticketId} · 拒绝 Reject: @kubemate reject ${c.ticketId}`
      : undefined,
  ].filter(Boolean);
  return {
    title: `审批 Approval ${c.ticketId}`,
    ticket: c.ticketId,
    tool: c.tool,
    call: shown(c.call, CALL_CHARS),
    plan: shown(c.plan, PLAN_CHARS),
    requester: c.requester,
    expires: c.expiresAt,
    status: STATUS[c.status] ?? c.status,
    approvals: `${c.approvals.length} of ${c.required}${c.approvals.length ? ` (${c.approvals.join(', ')})` : ''}`,
    outcome: c.outcome?.slice(0, 2000) ?? '',
    notice: notes.join('\n').slice(0, 2000),
    approvable: String(open && buttons && !cut),
    rejectable: String(open && buttons),
  };
}

/** Buttons an action card template has room for (an alert summary has five). */
export const ACTION_BUTTONS = 5;
const ACTION_TEXT = 4000;

/**
 * A message with buttons as the `cardParamMap` of the action card template (docs/chat-dingtalk.md):
 * the text as a plain variable, and for each button slot `i` (1…5) its label, the `action` and
 * `arg` its callback sends back as `{kubemate: "act", action: "${action_i}", arg: "${arg_i}"}`,
 * and `show_i` ("true" or "false"), which the template uses to show or hide it.
 */
export function actionCardParams(message: OutMessage): Record<string, string> {
  const text = toPlainText(message.text);
  const params: Record<string, string> = {
    text:
      text.length > ACTION_TEXT
        ? `${text.slice(0, ACTION_TEXT)} … (${text.length - ACTION_TEXT} more characters cut)`
        : text,
  };
  const actions = message.actions ?? [];
  for (let i = 1; i <= ACTION_BUTTONS; i++) {
    const a = actions[i - 1];
    params[`label_${i}`] = a?.label ?? '';
    params[`action_${i}`] = a?.action ?? '';
    params[`arg_${i}`] = a?.value ?? '';
    params[`show_${i}`] = String(!!a);
  }
  return params;
}
