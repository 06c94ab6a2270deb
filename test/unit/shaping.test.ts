import { describe, expect, it } from 'vitest';
import { estimateTokens, shapeOutput } from '../../tools/core/shaping.js';
import type { ListOutput } from '../../tools/core/types.js';

interface Item {
  name: string;
  status: string;
}

function list(n: number, unhealthy = 0): ListOutput<Item> {
  const items = Array.from({ length: n }, (_, i) => ({
    name: `pod-${String(i).padStart(5, '0')}-with-a-reasonably-long-generated-name`,
    status: i < unhealthy ? 'CrashLoopBackOff' : 'Running',
  }));
  return {
    kind: 'list',
    header: `${n} pods: ${n - unhealthy} Running, ${unhealthy} CrashLoopBackOff.`,
    columns: ['NAME', 'STATUS'],
    items,
    row: (i) => [i.name, i.status],
    toStructured: (i) => ({ ...i }),
    narrow: 'give a labelSelector',
    totals: { total: n, byStatus: { Running: n - unhealthy, CrashLoopBackOff: unhealthy } },
  };
}

describe('output shaping', () => {
  it('keeps small answers whole', () => {
    const shaped = shapeOutput(list(3), 6000);
    expect(shaped.structured).toMatchObject({ total: 3, shown: 3, omitted: 0 });
    expect(shaped.text.split('\n')).toHaveLength(2 + 1 + 3);
    expect(shaped.text).not.toContain('more not shown');
  });

  it('cuts long lists to the budget, keeps exact totals and says how to narrow', () => {
    const shaped = shapeOutput(list(5000, 7), 2000);
    const s = shaped.structured as {
      total: number;
      shown: number;
      omitted: number;
      byStatus: Record<string, number>;
    };
    expect(s.total).toBe(5000);
    expect(s.byStatus).toEqual({ Running: 4993, CrashLoopBackOff: 7 });
    expect(s.shown).toBeGreaterThan(7);
    expect(s.shown + s.omitted).toBe(5000);
    expect(shaped.text).toContain(`… ${s.omitted} more not shown (showing ${s.shown} of 5000`);
    expect(shaped.text).toContain('To narrow: give a labelSelector');
    const tokens = estimateTokens(shaped.text) + estimateTokens(JSON.stringify(shaped.structured));
    expect(tokens).toBeLessThanOrEqual(2000);
    // the most important items (first in order) are the ones kept
    expect(shaped.text).toContain('CrashLoopBackOff');
  });

  it('reports no_data for an empty list', () => {
    expect(shapeOutput(list(0), 1000).status).toBe('no_data');
  });

  it('truncates long documents and says so', () => {
    const shaped = shapeOutput({ kind: 'doc', text: 'x'.repeat(50_000) }, 1000);
    expect(shaped.text.length).toBeLessThanOrEqual(4000);
    expect(shaped.text).toMatch(/output truncated at 1000 tokens \(\d+ characters left out\)/);
  });
});

describe('output shaping keeps to the budget whatever the column widths', () => {
  it('counts the padding of wide columns', () => {
    const items = Array.from({ length: 400 }, (_, i) => ({
      name: i === 0 ? 'x'.repeat(300) : `p${i}`,
      status: 'Running',
    }));
    const shaped = shapeOutput(
      {
        kind: 'list',
        header: '400 pods.',
        columns: ['NAME', 'STATUS'],
        items,
        row: (i: Item) => [i.name, i.status],
        toStructured: (i: Item) => ({ ...i }),
        narrow: 'give a selector',
        totals: { total: 400 },
      },
      2000,
    );
    expect(shaped.text.length + JSON.stringify(shaped.structured).length).toBeLessThanOrEqual(8000);
    expect((shaped.structured as { total: number }).total).toBe(400);
  });
});
