import { z } from 'zod';
import type { InboundEvent } from '../core/types.js';

/**
 * The bodies of the intelligent robot's callbacks (智能机器人), as WeCom documents them for both the
 * long connection and the webhook: `msgid` (unique per callback, the dedupe key), `aibotid`, `chatid`
 * (groups only), `chattype` single/group, `from.userid`, `msgtype` and its part.
 */
const from = z.looseObject({ userid: z.string().min(1).max(128) });
const base = {
  msgid: z.string().min(1).max(256),
  aibotid: z.string().min(1).max(128),
  chatid: z.string().min(1).max(128).optional(),
  from,
};
const text = z.looseObject({ content: z.string().max(20_000) });

export const aibotMessageSchema = z.looseObject({
  ...base,
  chattype: z.enum(['single', 'group']),
  msgtype: z.string().min(1).max(32),
  text: text.optional(),
  voice: text.optional(),
  mixed: z
    .looseObject({
      msg_item: z.array(z.looseObject({ msgtype: z.string().max(32), text: text.optional() })).max(100),
    })
    .optional(),
});
export type AibotMessage = z.infer<typeof aibotMessageSchema>;

const cardPress = z.looseObject({
  event_key: z.string().max(1024).optional(),
  task_id: z.string().min(1).max(128),
});

export const aibotEventSchema = z.looseObject({
  ...base,
  chattype: z.enum(['single', 'group']).optional(),
  msgtype: z.literal('event'),
  event: z.looseObject({
    eventtype: z.string().min(1).max(64),
    // Documented nested (`event.template_card_event.task_id`); the SDK's types also show it flat.
    template_card_event: cardPress.optional(),
    event_key: z.string().max(1024).optional(),
    task_id: z.string().max(128).optional(),
  }),
});
export type AibotEvent = z.infer<typeof aibotEventSchema>;

/** Where replies go: a group's chatid, or for a single chat the person's userid (as aibot_send_msg wants). */
function channelOf(b: {
  chattype?: 'single' | 'group' | undefined;
  chatid?: string | undefined;
  from: { userid: string };
}) {
  if (b.chattype === 'group') return b.chatid;
  return b.from.userid;
}

/** The words of a message: text, a voice message's transcript, the text parts of a mixed one. */
function wordsOf(m: AibotMessage): string | undefined {
  if (m.msgtype === 'text') return m.text?.content;
  if (m.msgtype === 'voice') return m.voice?.content;
  if (m.msgtype === 'mixed')
    return m.mixed?.msg_item
      .map((i) => (i.msgtype === 'text' ? (i.text?.content ?? '') : ''))
      .filter(Boolean)
      .join('\n');
  return undefined;
}

export type Normalised = { event: InboundEvent } | { refused: string } | { ignored: string };

/**
 * A message callback as a chat event: in a group the robot only hears what mentions it (the leading
 * @mentions are dropped), in a single chat everything is a direct message.
 */
export function normaliseAibotMessage(body: unknown, botId: string): Normalised {
  const m = aibotMessageSchema.safeParse(body);
  if (!m.success) return { refused: 'not a robot message' };
  if (m.data.aibotid !== botId) return { refused: 'wrong bot id' };
  const channel = channelOf(m.data);
  if (!channel) return { refused: 'group message without chatid' };
  const words = wordsOf(m.data);
  if (words === undefined) return { ignored: `msgtype ${m.data.msgtype}` };
  const user = { platform: 'wecom', id: m.data.from.userid };
  const base = { eventId: `msg:${m.data.msgid}`, user, place: { channel }, messageId: m.data.msgid };
  if (m.data.chattype === 'group')
    return { event: { ...base, kind: 'mention', text: words.replace(/^(?:\s*@\S+)+\s*/, '').trim() } };
  return { event: { ...base, kind: 'message', direct: true, text: words.trim() } };
}

/** A press on a card's button (`template_card_event`), or nothing for the events Kubemate does not act on. */
export function normaliseAibotEvent(
  body: unknown,
  botId: string,
): Normalised | { press: { taskId: string; event?: InboundEvent } } {
  const e = aibotEventSchema.safeParse(body);
  if (!e.success) return { refused: 'not a robot event' };
  if (e.data.aibotid !== botId) return { refused: 'wrong bot id' };
  if (e.data.event.eventtype !== 'template_card_event') return { ignored: e.data.event.eventtype };
  const press = e.data.event.template_card_event ?? {
    task_id: e.data.event.task_id ?? '',
    event_key: e.data.event.event_key,
  };
  if (!press.task_id) return { refused: 'card event without task_id' };
  const channel = channelOf(e.data);
  if (!channel) return { refused: 'group event without chatid' };
  const key = /^(approve|reject):(.+)$/.exec(press.event_key ?? '');
  if (!key) return { press: { taskId: press.task_id } };
  return {
    press: {
      taskId: press.task_id,
      event: {
        kind: 'button',
        action: key[1] as 'approve' | 'reject',
        ticketId: key[2]!,
        cardMessageId: press.task_id,
        eventId: `card:${e.data.msgid}`,
        user: { platform: 'wecom', id: e.data.from.userid },
        place: { channel },
      },
    },
  };
}
