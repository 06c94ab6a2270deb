import type { ToolPipeline } from '../../tools/core/invoke.js';
import { decide, postCard, sweepCards } from './approvals.js';
import { HELP, parseCommand, runReadCommand } from './commands.js';
import { type CoreContext, post, send, update, upload } from './context.js';
import { converse } from './conversation.js';
import { auditUnknown, identify, unknownUserText } from './people.js';
import type { Asker, InboundEvent, OutMessage, Place } from './types.js';

/** A press on a message's button, as its handler gets it: who pressed, where, and what the core can do there. */
export interface ActionRequest {
  asker: Asker;
  action: string;
  value: string;
  /** The thread of the message the button is on. */
  place: Place;
  /** The channel-guarded pipeline: every call the handler makes goes through it, as `asker`. */
  pipeline: ToolPipeline;
  /** Says something in the thread. */
  say(text: string): void;
  /** Posts the approval card of a ticket into the thread (a change the press asked for). */
  card(ticketId: string): void;
  /** Puts a question to the agent as the presser, in the thread, which the conversation then continues. */
  ask(question: string): Promise<void>;
}

export type ActionHandler = (request: ActionRequest) => Promise<void>;

const threadKey = (platform: string, place: Place) => `${platform}:${place.channel}:${place.thread}`;

/**
 * The platform-neutral chat core. An adapter hands it normalised events; `receive` answers at once
 * (the adapter acks within the platform's deadline) and the work continues after. Everything said
 * goes out through the durable outbox; every tool call goes through the pipeline as the person.
 */
export class ChatCore {
  private readonly inFlight = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly actions = new Map<string, ActionHandler>();

  constructor(readonly ctx: CoreContext) {}

  /**
   * Accepts an event: false when it was seen before (a platform retry, on this replica or another) or
   * is none of Kubemate's business, true once it was handled. Never rejects: a failure is logged.
   */
  receive(event: InboundEvent): Promise<boolean> {
    const work = this.accept(event).catch((e) => {
      this.ctx.logger.error(
        { error: String((e as Error)?.stack ?? e), kind: event.kind },
        'chat event failed',
      );
      return true;
    });
    const tracked = work.then(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return work;
  }

  private async accept(event: InboundEvent): Promise<boolean> {
    // A channel message not addressed to Kubemate is none of its business: not even a refusal.
    if (event.kind === 'message' && !event.direct && !(await this.following(event.place))) return false;
    if (!(await this.ctx.store.firstSight(`${this.ctx.platform}:${event.eventId}`))) return false;
    await this.ctx.guard.run(this.ctx.binding(event.place.channel), () => this.handle(event));
    return true;
  }

  /** Routes presses of buttons whose action starts with `prefix` (`alert_`) to `handler`. */
  onAction(prefix: string, handler: ActionHandler): void {
    this.actions.set(prefix, handler);
  }

  /** Redraws cards whose tickets expired (or were decided elsewhere) every `intervalMs`. */
  startSweep(intervalMs: number): void {
    this.stopSweep();
    this.sweeper = setInterval(() => void this.sweep(), intervalMs);
    this.sweeper.unref();
  }

  stopSweep(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** One pass over the open cards; a pass still running is not doubled. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const work = sweepCards(this.ctx)
      .catch((e) =>
        this.ctx.logger.error({ error: String((e as Error)?.message ?? e) }, 'chat card sweep failed'),
      )
      .finally(() => {
        this.sweeping = false;
      });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    await work;
  }

  /**
   * Posts a message Kubemate says on its own (an alert thread, a report) once under `key`: a key
   * already in the outbox is not posted again, so a repeated or replayed cause posts nothing twice.
   * `threadOf`: in the thread of the message posted under that key.
   */
  async postOnce(key: string, channel: string, message: OutMessage, threadOf?: string): Promise<boolean> {
    if (await this.ctx.store.hasKey(key)) return false;
    await send(this.ctx, { op: 'post', place: { channel, ...(threadOf ? { threadOf } : {}) }, message, key });
    return true;
  }

  /** Replaces, in place, a message posted under `key`. */
  edit(channel: string, key: string, message: OutMessage): Promise<void> {
    return update(this.ctx, channel, key, message);
  }

  /** Work started outside an event (posts made on the core's behalf) that `settled()` waits for. */
  track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Resolves when every accepted event has been handled (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Whether Kubemate was addressed in this thread before, so a reply without a mention is for it. */
  private async following(place: Place): Promise<boolean> {
    return place.thread !== undefined && (await this.ctx.store.joined(threadKey(this.ctx.platform, place)));
  }

  private async act(asker: Asker, action: string, value: string, place: Place): Promise<void> {
    const handler = [...this.actions].find(([prefix]) => action.startsWith(prefix))?.[1];
    if (!handler) {
      await post(this.ctx, place, { text: `${asker.person}: that button does nothing here any more.` });
      return;
    }
    // What the handler says and posts is enqueued in the order it said it, before the press is done.
    let said: Promise<unknown> = Promise.resolve();
    const then = (work: () => Promise<unknown>) => {
      said = said.then(work);
    };
    await handler({
      asker,
      action,
      value,
      place,
      pipeline: this.ctx.pipeline,
      say: (text) => then(() => post(this.ctx, place, { text })),
      card: (ticketId) => then(() => postCard(this.ctx, place, ticketId)),
      ask: async (question) => {
        await said;
        if (place.thread) await this.ctx.store.join(threadKey(this.ctx.platform, place));
        await converse(this.ctx, asker, question, place);
      },
    });
    await said;
  }

  private async handle(event: InboundEvent): Promise<void> {
    // Replies go to the thread of the message; a reply in a thread stays in it.
    const place: Place = {
      channel: event.place.channel,
      ...((event.place.thread ?? event.messageId) ? { thread: event.place.thread ?? event.messageId } : {}),
    };
    // A reply in a followed thread that did not address Kubemate: people there talk to each other too.
    const overheard = event.kind === 'message' && !event.direct;
    const asker = identify(this.ctx.pipeline.policy, event.user);
    if (!asker) {
      if (overheard) return; // a stranger in the thread is not refused (nor audited) for every message
      await auditUnknown(this.ctx.audit, event.user, event);
      await post(this.ctx, place, { text: unknownUserText(event.user) });
      return;
    }
    // A press does not make Kubemate follow the thread; a question asked by a press does (below).
    if (place.thread && event.kind !== 'button' && event.kind !== 'action')
      await this.ctx.store.join(threadKey(this.ctx.platform, place));
    if (event.kind === 'action') {
      await this.act(asker, event.action, event.value, place);
      return;
    }
    if (event.kind === 'button') {
      await decide(this.ctx, asker, event.action, event.ticketId, place);
      return;
    }
    const command = parseCommand(event.text);
    if (overheard && (command?.name === 'approve' || command?.name === 'reject')) {
      // "reject tkt_x looks wrong" said in passing must not decide a ticket: ask to be addressed.
      await post(this.ctx, place, {
        text: `To ${command.name} ${command.ticket}, press the button on its card, or mention me: @kubemate ${command.name} ${command.ticket}`,
      });
      return;
    }
    if (!command) {
      await converse(this.ctx, asker, event.text, place);
      return;
    }
    switch (command.name) {
      case 'help':
        await post(this.ctx, place, { text: HELP });
        return;
      case 'approve':
        await decide(this.ctx, asker, 'approve', command.ticket, place);
        return;
      case 'reject':
        await decide(this.ctx, asker, 'reject', command.ticket, place, command.reason);
        return;
      default: {
        const reply = await runReadCommand(
          this.ctx.pipeline,
          asker,
          command,
          this.ctx.binding(place.channel),
        );
        await post(this.ctx, place, { text: reply.text });
        if (reply.images)
          await upload(
            this.ctx,
            place,
            reply.images,
            command.name === 'chart' ? command.query : command.name,
          );
      }
    }
  }
}
