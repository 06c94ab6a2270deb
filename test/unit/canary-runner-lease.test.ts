// The canary runner's timer: it starts a plan's step only while this replica holds the scheduler lease: when the
// lease goes elsewhere in the middle of a pass, the plans it took and did not start are given back at
// once (not held until their hold runs out), and nothing is invoked for them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CanaryProgressRunner } from '../../tools/canary/progress-runner.js';
import { openCanaryPlanStore } from '../../tools/clients/canary-plans.js';
import { canaryPlanDraft } from '../support/canary-plan.js';

const draft = (name: string) => canaryPlanDraft(name, 1000);

const stores: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

describe('canary runner under the scheduler lease', () => {
  it('gives back the plans it took when the lease is lost mid-pass, and invokes nothing for them', async () => {
    const store = openCanaryPlanStore(
      undefined,
      join(mkdtempSync(join(tmpdir(), 'canary-lease-')), 'canary.db'),
    );
    stores.push(store);
    for (const id of ['cp_000000000001', 'cp_000000000002']) await store.create(draft(id), id);
    const invoked: string[] = [];
    const runner = new CanaryProgressRunner({
      store,
      pipeline: {
        async invoke(tool) {
          invoked.push(tool);
          return { isError: true, text: 'not reached', content: [] } as never;
        },
      },
      now: () => 2000,
      holdMs: 60_000,
    });
    // Held when the pass begins, lost before the first plan's step starts.
    const answers = [true, false, false];
    runner.start(() => answers.shift() ?? false);
    runner.stop();
    await runner.tick();
    expect(invoked).toEqual([]);
    // Given back: another replica's runner takes both now, long before the hold would have ended.
    expect((await store.take('other', 2001, 60_000)).map((p) => p.id).sort()).toEqual([
      'cp_000000000001',
      'cp_000000000002',
    ]);
  });

  it('takes nothing when the lease is not held', async () => {
    const store = openCanaryPlanStore(
      undefined,
      join(mkdtempSync(join(tmpdir(), 'canary-lease-')), 'canary.db'),
    );
    stores.push(store);
    await store.create(draft('cp_000000000003'), 'cp_000000000003');
    const runner = new CanaryProgressRunner({
      store,
      pipeline: { invoke: async () => ({ isError: true, text: '', content: [] }) as never },
      now: () => 2000,
    });
    runner.start(() => false);
    runner.stop();
    await runner.tick();
    expect((await store.take('other', 2001, 60_000)).map((p) => p.id)).toEqual(['cp_000000000003']);
  });

  it('reports a pass that fails (the store unreachable) and keeps running, never an unhandled rejection', async () => {
    const store = openCanaryPlanStore(
      undefined,
      join(mkdtempSync(join(tmpdir(), 'canary-lease-')), 'canary.db'),
    );
    stores.push(store);
    let takes = 0;
    const failing = Object.create(store) as typeof store;
    failing.take = async () => {
      takes++;
      throw new Error('connection terminated unexpectedly');
    };
    const errors: string[] = [];
    const runner = new CanaryProgressRunner({
      store: failing,
      pipeline: { invoke: async () => ({ isError: true, text: '', content: [] }) as never },
      pollMs: 10,
      onError: (e) => errors.push(e.message),
    });
    runner.start();
    await new Promise((r) => setTimeout(r, 100));
    await runner.stop();
    expect(takes).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBe(takes);
    expect(errors[0]).toBe('connection terminated unexpectedly');
  });
});
