// canary_progress reports reach the chat thread a plan came from through the durable outbox, and
// plans started elsewhere post nothing to chat.
import { describe, expect, it } from 'vitest';
import { chatCanaryNotifier } from '../../bots/core/canary-notifier.js';
import type { CoreContext } from '../../bots/core/context.js';
import { sqliteChatStore } from '../../bots/core/store.js';
import type { CanaryPlan } from '../../tools/clients/canary-plans.js';

const plan = (thread?: CanaryPlan['thread']): CanaryPlan => ({
  id: 'cp_0123456789ab',
  namespace: 'payments',
  name: 'api',
  stable: 'api-stable',
  canary: 'api-canary',
  steps: [10, 50, 100],
  intervalSeconds: 60,
  analysis: {},
  requester: { id: 'slack:UALICE', groups: [], source: 'chat' },
  ...(thread ? { thread } : {}),
  state: 'running',
  step: 0,
  inconclusive: 0,
  nextAt: 0,
  history: [],
  createdAt: '2026-12-07T00:00:00Z',
});

describe('chat canary notifier', () => {
  it('enqueues each report as a reply in the plan thread, and wakes the outbox', async () => {
    const store = sqliteChatStore(':memory:');
    let kicks = 0;
    const notifier = chatCanaryNotifier({ store, outbox: { kick: () => kicks++ } } as unknown as CoreContext);
    await notifier.notify(
      plan({ channel: 'C123', threadId: '1733540000.000100' }),
      'step 1 done: the canary has 10%',
    );
    await notifier.notify(plan(), 'started from the CLI: no thread');
    const heads = await store.heads();
    expect(heads).toHaveLength(1);
    expect(heads[0]!.op).toMatchObject({
      op: 'post',
      place: { channel: 'C123', thread: '1733540000.000100' },
      message: { text: 'step 1 done: the canary has 10%' },
    });
    expect(kicks).toBe(1);
    store.close();
  });
});
