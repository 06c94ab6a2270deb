import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { ChatCore } from '../core/core.js';
import { ACTION_NAME, ACTION_VALUE, type InboundEvent } from '../core/types.js';
import { ACTION_PREFIX } from './render.js';

const user = (id: string) => ({ platform: 'slack', id });
/** `<@U123> pods payments` → `pods payments`: the mention only addresses the bot. */
const withoutMentions = (text: string) => text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ').trim();

const messageEvent = z.looseObject({
  user: z.string().min(1),
  text: z.string().default(''),
  channel: z.string().min(1),
  ts: z.string().min(1),
  thread_ts: z.string().optional(),
  channel_type: z.string().optional(),
  subtype: z.string().optional(),
  bot_id: z.string().optional(),
});
const actionBody = z.looseObject({
  user: z.looseObject({ id: z.string().min(1) }),
  channel: z.looseObject({ id: z.string().min(1) }),
  message: z.looseObject({ ts: z.string().min(1), thread_ts: z.string().optional() }),
  actions: z.array(z.looseObject({ action_id: z.string(), value: z.string(), action_ts: z.string() })).min(1),
});

/**
 * Bolt listeners: small filters that normalise Slack payloads into the core's events. Each acks
 * first (Slack's 3 s deadline) and hands over; the core answers through the outbox.
 */
export function registerListeners(
  app: App,
  core: ChatCore,
  eventIdOf: (body: unknown) => string | undefined,
) {
  app.event('app_mention', async ({ event, body }) => {
    const e = messageEvent.safeParse(event);
    if (!e.success) return;
    void core.receive({
      kind: 'mention',
      eventId: eventIdOf(body) ?? `mention:${e.data.channel}:${e.data.ts}`,
      user: user(e.data.user),
      place: { channel: e.data.channel, ...(e.data.thread_ts ? { thread: e.data.thread_ts } : {}) },
      messageId: e.data.ts,
      text: withoutMentions(e.data.text),
    });
  });

  // Direct messages, and replies in channel threads that mention nobody (the core keeps those only
  // in threads Kubemate was addressed in). A message that mentions the bot comes as app_mention
  // too, and one that mentions someone else is for them.
  app.message(async ({ message, body }) => {
    const e = messageEvent.safeParse(message);
    if (!e.success || e.data.subtype || e.data.bot_id) return;
    const direct = e.data.channel_type === 'im';
    if (!direct && (!e.data.thread_ts || /<@[A-Z0-9]+(\|[^>]*)?>/.test(e.data.text))) return;
    void core.receive({
      kind: 'message',
      direct,
      eventId: eventIdOf(body) ?? `message:${e.data.channel}:${e.data.ts}`,
      user: user(e.data.user),
      place: { channel: e.data.channel, ...(e.data.thread_ts ? { thread: e.data.thread_ts } : {}) },
      messageId: e.data.ts,
      text: withoutMentions(e.data.text),
    });
  });

  app.command(/.*/, async ({ command, ack }) => {
    await ack({ response_type: 'ephemeral', text: 'On it.' });
    void core.receive({
      kind: 'command',
      eventId: `command:${command.trigger_id}`,
      user: user(command.user_id),
      place: { channel: command.channel_id },
      text: command.text ?? '',
    });
  });

  app.action(/^kubemate_(approve|reject)$/, async ({ body, ack }) => {
    await ack();
    const b = actionBody.safeParse(body);
    if (!b.success) return;
    const a = b.data.actions[0]!;
    const event: InboundEvent = {
      kind: 'button',
      action: a.action_id === 'kubemate_approve' ? 'approve' : 'reject',
      ticketId: a.value,
      cardMessageId: b.data.message.ts,
      // A replayed delivery repeats action_ts; a second click is a new press the ticket refuses.
      eventId: `action:${b.data.user.id}:${b.data.message.ts}:${a.action_ts}`,
      user: user(b.data.user.id),
      place: { channel: b.data.channel.id, thread: b.data.message.thread_ts ?? b.data.message.ts },
    };
    void core.receive(event);
  });

  // A message's own buttons (an alert thread's Acknowledge…): the action and value come from the
  // press, so they are checked as strictly as the core's names for them.
  app.action(new RegExp(`^${ACTION_PREFIX}`), async ({ body, ack }) => {
    await ack();
    const b = actionBody.safeParse(body);
    if (!b.success) return;
    const a = b.data.actions[0]!;
    const action = a.action_id.slice(ACTION_PREFIX.length);
    if (!ACTION_NAME.test(action) || !ACTION_VALUE.test(a.value)) return;
    void core.receive({
      kind: 'action',
      action,
      value: a.value,
      eventId: `action:${b.data.user.id}:${b.data.message.ts}:${a.action_ts}`,
      user: user(b.data.user.id),
      place: { channel: b.data.channel.id, thread: b.data.message.thread_ts ?? b.data.message.ts },
      messageId: b.data.message.ts,
    });
  });
}
