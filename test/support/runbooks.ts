import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnowledgeBase, type RunbooksSettings } from '../../rag/knowledge-base.js';
import type { Backends } from '../../tools/clients/backends.js';

export const keywordOnlySettings: RunbooksSettings = {
  dirs: [],
  includeShipped: true,
  store: { kind: 'embedded' },
  embedding: {
    enabled: false,
    url: 'http://127.0.0.1:9',
    model: 'nomic-embed-text',
    batchSize: 32,
    timeoutSeconds: 5,
  },
};

/** A knowledge base over the shipped runbooks, keyword-only, in a fresh data dir. */
export async function shippedKnowledgeBase(): Promise<KnowledgeBase> {
  const kb = await KnowledgeBase.open({
    dataDir: mkdtempSync(join(tmpdir(), 'kubemate-kb-')),
    runbooks: keywordOnlySettings,
    embedder: null,
  });
  await kb.sync();
  return kb;
}

/** Backends for pipeline tests of the runbooks tools: no cluster, the given knowledge base. */
export function runbookBackends(kb?: KnowledgeBase): Backends {
  return {
    kube: {
      as: () => ({
        names: () => [],
        get: () => {
          throw new Error('this test has no cluster');
        },
      }),
    },
    ...(kb ? { runbooks: kb, runbookDocuments: kb } : {}),
  } as unknown as Backends;
}
