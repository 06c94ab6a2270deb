// Degraded mode's resolver: the objects a plain question names, found among what exists.
import { describe, expect, it } from 'vitest';
import { type Inventory, mayNameObjects, mentions, resolveTarget } from '../../agent/degraded/resolve.js';

const inv: Inventory = {
  namespaces: ['default', 'trading', 'ledger', 'payments-eu'],
  workloads: [
    { kind: 'Deployment', namespace: 'trading', name: 'quotes' },
    { kind: 'Deployment', namespace: 'trading', name: 'order-router' },
    { kind: 'StatefulSet', namespace: 'ledger', name: 'ledger-db' },
    { kind: 'Deployment', namespace: 'payments-eu', name: 'card-auth-api' },
    { kind: 'CronJob', namespace: 'payments-eu', name: 'nightly-settle' },
  ],
  pods: [
    { namespace: 'ledger', name: 'ledger-db-0' },
    { namespace: 'trading', name: 'quotes-6d9f7-x2kq' },
  ],
  nodes: ['worker-17', 'gpu-a100-3'],
};

const resolve = (q: string, ns?: string) => resolveTarget(mentions(q), inv, ns);

describe('degraded mode: what a question names', () => {
  it.each([
    [
      'why does the quotes service in namespace trading keep restarting?',
      { kind: 'workload', namespace: 'trading', workloadKind: 'Deployment', name: 'quotes' },
    ],
    [
      'order-router in trading is slow since the deploy',
      { kind: 'workload', namespace: 'trading', workloadKind: 'Deployment', name: 'order-router' },
    ],
    [
      'ledger-db-0 in ledger shows 0/1 ready, why?',
      { kind: 'pod', namespace: 'ledger', name: 'ledger-db-0' },
    ],
    [
      'what is wrong with ledger/ledger-db',
      { kind: 'workload', namespace: 'ledger', workloadKind: 'StatefulSet', name: 'ledger-db' },
    ],
    [
      'is the card-auth app ok in the payments-eu namespace?',
      { kind: 'workload', namespace: 'payments-eu', workloadKind: 'Deployment', name: 'card-auth-api' },
    ],
    [
      'did nightly-settle fail again?',
      { kind: 'workload', namespace: 'payments-eu', workloadKind: 'CronJob', name: 'nightly-settle' },
    ],
    ['node worker-17 looks unhealthy', { kind: 'node', name: 'worker-17' }],
    ['anything broken in ledger?', { kind: 'namespace', namespace: 'ledger' }],
  ])('%s', (question, target) => {
    expect(resolve(question)).toEqual(target);
  });

  it("uses the thread's namespace when the question names none", () => {
    expect(resolve('why is quotes restarting?', 'trading')).toEqual({
      kind: 'workload',
      namespace: 'trading',
      workloadKind: 'Deployment',
      name: 'quotes',
    });
  });

  it('resolves nothing that does not exist, and reads nothing for a plain how-to question', () => {
    expect(resolve('why does the billing service in namespace accounts crash?')).toBeUndefined();
    const howTo = mentions('my pod keeps crashing with CrashLoopBackOff, what do I check first?');
    expect(mayNameObjects(howTo)).toBe(false);
    expect(mayNameObjects(mentions('how do I renew an expired certificate?'))).toBe(false);
    expect(mayNameObjects(mentions('why does the quotes service keep restarting?'))).toBe(true);
  });

  it('a word shared by two workloads is not a match on its own', () => {
    const two: Inventory = {
      ...inv,
      workloads: [
        { kind: 'Deployment', namespace: 'trading', name: 'quotes-api' },
        { kind: 'Deployment', namespace: 'trading', name: 'quotes-worker' },
      ],
    };
    expect(resolveTarget(mentions('quotes in trading keeps restarting'), two)).toEqual({
      kind: 'namespace',
      namespace: 'trading',
    });
  });
});
