import type { AgentEvent } from '../../agent/index.js';
import { postCard, withdraw } from './approvals.js';
import { type CoreContext, post, update, upload } from './context.js';
import type { Asker, ChannelBinding, Place } from './types.js';

/** A channel bound to a cluster or namespace points its questions there, unless a question names others. */
export function channelContext(binding: ChannelBinding): string | undefined {
  const parts = [
    ...(binding.cluster ? [`cluster "${binding.cluster}"`] : []),
    ...(binding.namespace ? [`namespace "${binding.namespace}"`] : []),
  ];
  if (parts.length === 0) return undefined;
  return `(Asked in a chat channel whose default is ${parts.join(' and ')}: use ${parts.length > 1 ? 'them' : 'it'} unless the question names another.)`;
}

const placeKey = (platform: string, place: Place) => `${platform}:${place.channel}:${place.thread ?? '-'}`;

/**
 * A question: a visible "working" reply at once, updated as tools run, then replaced by the answer
 * (with the tools and runbooks it rests on). The chat thread is the agent's memory: each person's
 * questions in one thread continue one agent thread. A change that needs approval becomes a card.
 */
export async function converse(
  ctx: CoreContext,
  asker: Asker,
  question: string,
  place: Place,
): Promise<void> {
  const working = post(ctx, place, { text: '_Working on it…_' });
  const context = channelContext(ctx.binding(place.channel));
  const key = placeKey(ctx.platform, place);
  const threadId = ctx.store.agentThread(key, asker.principal.id);
  const steps: string[] = [];
  const charts: Array<{
    images: NonNullable<Extract<AgentEvent, { type: 'tool_result' }>['images']>;
    title: string;
  }> = [];
  const onEvent = (e: AgentEvent) => {
    if (e.type === 'tool_result' && e.images?.length) charts.push({ images: e.images, title: e.name });
    if (e.type !== 'tool_call') return;
    steps.push(e.name);
    update(ctx, place.channel, working, { text: `_Working on it… (${steps.join(', ')})_` });
  };
  let answer: Awaited<ReturnType<ReturnType<CoreContext['agent']>['ask']>>;
  try {
    answer = await ctx.agent().ask({
      question: context ? `${question}\n\n${context}` : question,
      principal: asker.principal,
      ...(threadId ? { threadId } : {}),
      onEvent,
    });
  } catch (e) {
    ctx.logger.warn({ error: (e as Error).message }, 'chat: question failed');
    update(ctx, place.channel, working, { text: `Sorry, that did not work: ${(e as Error).message}` });
    return;
  }
  ctx.store.setAgentThread(key, asker.principal.id, answer.threadId);
  update(ctx, place.channel, working, { text: answer.text });
  for (const c of charts) upload(ctx, place, c.images, `Chart from ${c.title}`);
  const ticket = answer.pendingTicket;
  if (!ticket) return;
  if (!ctx.binding(place.channel).allowWrites) {
    await withdraw(ctx, asker.principal, ticket.id, place);
    return;
  }
  await postCard(ctx, place, ticket.id, answer.runId);
}
