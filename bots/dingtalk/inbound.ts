import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ACTION_NAME, ACTION_VALUE, type InboundEvent } from '../core/types.js';

/** The Stream topics Kubemate subscribes to: robot messages and interactive card callbacks. */
export const TOPIC_ROBOT = '/v1.0/im/bot/messages/get';
export const TOPIC_CARD = '/v1.0/card/instances/callback';

/**
 * A message to the robot, as DingTalk sends it both over Stream (the frame's `data`) and to the
 * HTTP callback URL (the body). `conversationType` '1' is a one-to-one chat, '2' a group, where the
 * robot receives only messages that @ it.
 */
export const robotMessageSchema = z.looseObject({
  msgId: z.string().min(1).max(128),
  msgtype: z.string(),
  conversationId: z.string().min(1).max(256),
  conversationType: z.enum(['1', '2']),
  senderStaffId: z.string().min(1).max(128).optional(),
  senderNick: z.string().optional(),
  robotCode: z.string().min(1),
  chatbotUserId: z.string().optional(),
  isInAtList: z.boolean().optional(),
  sessionWebhook: z.string().optional(),
  sessionWebhookExpiredTime: z.number().optional(),
  createAt: z.number().optional(),
  text: z.looseObject({ content: z.string().max(20_000) }).optional(),
});
export type RobotMessage = z.infer<typeof robotMessageSchema>;

/** A press on a card's button (`actionCallback`): who pressed, on which card, and the button's params. */
export const cardCallbackSchema = z.looseObject({
  type: z.string(),
  outTrackId: z.string().min(1).max(256),
  userId: z.string().min(1).max(128),
  corpId: z.string().optional(),
  content: z.string().max(64 * 1024),
});
const cardContentSchema = z.looseObject({
  cardPrivateData: z.looseObject({
    params: z.union([
      z.looseObject({ kubemate: z.enum(['approve', 'reject']), ticket: z.string().min(1).max(128) }),
      // A button of an action card (an alert summary's Acknowledge): routed to its action's handler.
      z.looseObject({
        kubemate: z.literal('act'),
        action: z.string().regex(ACTION_NAME),
        arg: z.string().regex(ACTION_VALUE),
      }),
    ]),
  }),
});

/** The channel of a one-to-one chat: the person's staff id (the OpenAPI writes to people there). */
export const dmChannel = (staffId: string) => `dm:${staffId}`;

/** The session webhook a message came with: where a reply in that conversation can go, until it expires. */
export interface SessionWebhook {
  channel: string;
  url: string;
  expiresAt: number;
}

/**
 * A robot message as the core's event (undefined when not for Kubemate: not text, or from someone
 * outside the organisation, who has no staff id), with the session webhook to answer through.
 */
export function normaliseMessage(
  m: RobotMessage,
): { event: InboundEvent; webhook?: SessionWebhook } | undefined {
  if (m.msgtype !== 'text' || !m.text || !m.senderStaffId) return undefined;
  const direct = m.conversationType === '1';
  const channel = direct ? dmChannel(m.senderStaffId) : m.conversationId;
  const base = {
    eventId: m.msgId,
    user: { platform: 'dingtalk', id: m.senderStaffId },
    place: { channel },
    messageId: m.msgId,
    text: m.text.content.replace(/\s+/g, ' ').trim(),
  };
  const event: InboundEvent = direct
    ? { ...base, kind: 'message', direct: true }
    : { ...base, kind: 'mention' };
  return {
    event,
    ...(m.sessionWebhook && m.sessionWebhookExpiredTime
      ? { webhook: { channel, url: m.sessionWebhook, expiresAt: m.sessionWebhookExpiredTime } }
      : {}),
  };
}

/** A card press as the core's button event, or undefined for a press on another card. */
export async function normaliseCardPress(
  c: z.infer<typeof cardCallbackSchema>,
  deliveryId: string,
  channelOf: (outTrackId: string, ticketId: string) => Promise<string | undefined> | string | undefined,
  postChannelOf: (outTrackId: string) => Promise<string | undefined> | string | undefined = () => undefined,
  /** Told why a press was refused, so the refusal is audited (other callback types are not presses). */
  refuse: (reason: string) => void = () => undefined,
): Promise<InboundEvent | undefined> {
  if (c.type !== 'actionCallback') return undefined;
  let content: unknown;
  try {
    content = JSON.parse(c.content);
  } catch {
    refuse('card press content is not JSON');
    return undefined;
  }
  const p = cardContentSchema.safeParse(content);
  if (!p.success) {
    refuse('card press is not from a Kubemate card');
    return undefined;
  }
  const params = p.data.cardPrivateData.params;
  const eventId = `card:${createHash('sha256').update(deliveryId).digest('hex').slice(0, 32)}`;
  const user = { platform: 'dingtalk', id: c.userId };
  if (params.kubemate === 'act') {
    // The card must be one Kubemate posted: its channel decides what is allowed.
    const channel = await postChannelOf(c.outTrackId);
    if (!channel) {
      refuse('card press on a card Kubemate did not post');
      return undefined;
    }
    const { action, arg } = params as { action: string; arg: string };
    // No messageId: DingTalk has no threads, and the core would take the card for a thread root.
    return { kind: 'action', action, value: arg, eventId, user, place: { channel } };
  }
  const { kubemate, ticket } = params as { kubemate: 'approve' | 'reject'; ticket: string };
  // The card must be the one Kubemate posted for this ticket: its channel decides what is allowed.
  const channel = await channelOf(c.outTrackId, ticket);
  if (!channel) {
    refuse('approval press on a card that is not the one posted for its ticket');
    return undefined;
  }
  return {
    kind: 'button',
    action: kubemate,
    ticketId: ticket,
    cardMessageId: c.outTrackId,
    eventId,
    user,
    place: { channel },
  };
}
