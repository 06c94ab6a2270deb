// canary_progress reports reach the chat thread a plan came from through the durable outbox of the
// platform it was started on, and plans started elsewhere post nothing to chat.
import { describe, expect, it } from 'vitest';
import { chatCanaryNotifier } from '../../bots/core/canary-notifier.js';
import type { CoreContext } from '../../bots/core/context.js';
import { type ChatStore, sqliteChatStore } from '../../bots/core/store.js';
import type { CanaryPlan } from '../../tools/clients/canary-plans.js';

const plan = (thread?: CanaryPlan['thread'], requester = 'slack:UALICE'): CanaryPlan => ({
  id: 'cp_0123456789ab',
  namespace: 'payments',
  name: 'api',
  stable: 'api-stable',
  canary: 'api-canary',
  steps: [10, 50, 100],
  intervalSeconds: 60,
  analysis: {},
  requester: { id: requester, groups: [], source: 'chat' },
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
    const notifier = chatCanaryNotifier({
      slack: { store, outbox: { kick: () => kicks++ } } as unknown as CoreContext,
    });
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

  it('reports on the platform the plan was started from; without threads, in the group, naming the plan', async () => {
    const stores = { slack: sqliteChatStore(':memory:'), dingtalk: sqliteChatStore(':memory:') };
    const ctx = (store: ChatStore) => ({ store, outbox: { kick: () => {} } }) as unknown as CoreContext;
    const notifier = chatCanaryNotifier({ slack: ctx(stores.slack), dingtalk: ctx(stores.dingtalk) });
    await notifier.notify(
      plan({ channel: 'cidGroup0==', threadId: 'msg01' }, 'dingtalk:alice01'),
      '第 1 步完成：金丝雀 10%',
    );
    // Started in Feishu, whose bot is not running here: nothing goes to another platform instead.
    await notifier.notify(plan({ channel: 'oc_1', threadId: 'om_1' }, 'feishu:ou_alice'), 'step 1 done');
    expect(await stores.slack.heads()).toHaveLength(0);
    const heads = await stores.dingtalk.heads();
    expect(heads).toHaveLength(1);
    expect(heads[0]!.op).toMatchObject({
      op: 'post',
      place: { channel: 'cidGroup0==' },
      message: { text: '[canary cp_0123456789ab payments/api]\n第 1 步完成：金丝雀 10%' },
    });
    expect((heads[0]!.op as { place: { thread?: string } }).place.thread).toBeUndefined();
    for (const s of Object.values(stores)) s.close();
  });
});
