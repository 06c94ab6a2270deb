import type { Principal } from '../../policies/types.js';
import { cardOf, cardText } from './cards.js';
import { type CoreContext, post, send, update } from './context.js';
import type { Asker, Place } from './types.js';

/** Statuses a ticket leaves by itself (an approved ticket is being executed): the card waits for the end. */
const UNSETTLED = new Set(['pending', 'approved', 'executing']);

/** The card for a ticket, with the call shown as the tool lets it be shown (secrets masked). */
async function card(ctx: CoreContext, ticketId: string, notice?: string) {
  const store = ctx.pipeline.approvals;
  if (!store) return undefined;
  const t = await store.get(ticketId);
  const def = ctx.pipeline.registry.find(t.tool);
  const shownArgs = def?.redactArgs ? def.redactArgs(t.args) : t.args;
  return cardOf({ ...t, args: shownArgs }, notice);
}

/** Posts the approval card for a ticket into the thread and remembers which run waits on it. */
export async function postCard(
  ctx: CoreContext,
  place: Place,
  ticketId: string,
  runId?: string,
): Promise<void> {
  const c = await card(ctx, ticketId);
  if (!c) return;
  const key = await post(ctx, place, { text: cardText(c), card: c });
  await ctx.store.saveCard({
    ticketId,
    channel: place.channel,
    key,
    ...(place.thread ? { thread: place.thread } : {}),
    ...(runId ? { runId } : {}),
  });
}

/**
 * A press (or `approve ID` / `reject ID`): one call of approvals_approve / approvals_reject through
 * the pipeline, as the presser. The pipeline holds every rule (four eyes, groups, single use); the
 * card is then redrawn from the ticket, so a replayed or double press shows what is, and runs nothing.
 */
export async function decide(
  ctx: CoreContext,
  asker: Asker,
  action: 'approve' | 'reject',
  ticketId: string,
  place: Place,
  reason?: string,
): Promise<void> {
  const binding = ctx.binding(place.channel);
  const saved = await ctx.store.card(ticketId);
  const thread = saved
    ? { channel: saved.channel, ...(saved.thread ? { thread: saved.thread } : {}) }
    : place;
  let notice: string | undefined;
  let ran = false;
  if (!binding.allowWrites) {
    notice = `${asker.person}: changes cannot be approved or rejected from this channel.`;
  } else {
    const args =
      action === 'approve'
        ? { ticket: ticketId }
        : { ticket: ticketId, reason: reason ?? `rejected in chat by ${asker.person}` };
    const result = await ctx.pipeline.invoke(`approvals_${action}`, args, asker.principal);
    if (result.isError) notice = `${asker.person}'s ${action} was refused: ${result.text}`;
    else ran = true;
    if (!saved) await post(ctx, thread, { text: result.isError ? notice! : result.text });
  }
  let view: Awaited<ReturnType<typeof card>>;
  try {
    view = await card(ctx, ticketId, notice);
  } catch {
    await post(ctx, thread, { text: notice ?? `There is no ticket ${ticketId} that you may see.` });
    return;
  }
  if (saved && view) {
    await update(ctx, saved.channel, saved.key, { text: cardText(view), card: view });
    await ctx.store.cardDrawn(ticketId, view.status);
  } else if (notice && !saved) return;
  if (ran && saved?.runId && view && !UNSETTLED.has(view.status)) await resumeRun(ctx, saved.runId, thread);
}

/**
 * Redraws, in place, every card whose ticket moved on without a press in chat: expiry (the
 * ticket's store marks it when read), and a decision made on another surface (an approver on MCP
 * or the CLI). The paused run resumes either way, so the thread says what ran, or that nothing did.
 * Called periodically by the core.
 */
export async function sweepCards(ctx: CoreContext): Promise<void> {
  for (const saved of await ctx.store.openCards()) {
    let view: Awaited<ReturnType<typeof card>>;
    try {
      view = await card(ctx, saved.ticketId);
    } catch {
      await ctx.store.cardDrawn(saved.ticketId, 'gone');
      continue;
    }
    if (!view || UNSETTLED.has(view.status)) continue;
    await update(ctx, saved.channel, saved.key, { text: cardText(view), card: view });
    await ctx.store.cardDrawn(saved.ticketId, view.status);
    if (saved.runId) {
      const place = { channel: saved.channel, ...(saved.thread ? { thread: saved.thread } : {}) };
      await ctx.guard.run(ctx.binding(saved.channel), () => resumeRun(ctx, saved.runId!, place));
    }
  }
}

/** The paused run continues once its ticket is decided; its answer goes into the thread, once. */
async function resumeRun(ctx: CoreContext, runId: string, place: Place): Promise<void> {
  if (!(await ctx.store.claimResume(runId))) return;
  try {
    const answer = await ctx.agent().resume(runId);
    await post(ctx, place, { text: answer.text });
  } catch (e) {
    // Say so where the people are: the card shows the outcome, the thread why nothing more came.
    ctx.logger.warn({ run: runId, error: (e as Error).message }, 'chat: could not resume the run');
    await post(ctx, place, {
      text: `The ticket was decided (see the card), but the paused conversation could not continue: ${(e as Error).message}`,
    });
  }
}

/** From a channel that may not change anything, a paused change is withdrawn at once, as its requester. */
export async function withdraw(ctx: CoreContext, requester: Principal, ticketId: string, place: Place) {
  await ctx.pipeline.invoke(
    'approvals_reject',
    { ticket: ticketId, reason: 'requested from a channel where changes are not allowed' },
    requester,
  );
  await send(ctx, {
    op: 'post',
    place,
    message: {
      text: `Changes cannot be requested from this channel, so ticket ${ticketId} was withdrawn; nothing ran.`,
    },
    key: `w_${ticketId}`,
  });
}
