import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';

describe('test cluster', () => {
  // A reused dev cluster may hold more nodes (the benchmark adds 100); the three from start-up must be Ready.
  it('has the 3 start-up fake nodes Ready', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(inject('kubeconfig'));
    const nodes = await kc.makeApiClient(CoreV1Api).listNode();
    const ready = nodes.items
      .filter((n) => /^kwok-node-\d+$/.test(n.metadata?.name ?? ''))
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    expect(ready.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']),
    );
  });
});
