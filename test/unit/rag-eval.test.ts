import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, evaluate, loadQuestions } from '../../evals/runbooks/evaluate.js';
import type { KnowledgeBase } from '../../rag/knowledge-base.js';
import { shippedKnowledgeBase } from '../support/runbooks.js';

let kb: KnowledgeBase;
beforeAll(async () => {
  kb = await shippedKnowledgeBase();
});
afterAll(async () => {
  await kb.close();
});

describe('runbook retrieval evaluation', () => {
  const questions = loadQuestions();

  it('has at least 60 questions, each naming a section that exists in a shipped runbook', async () => {
    expect(questions.length).toBeGreaterThanOrEqual(60);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    const sections = new Map<string, string[][]>();
    for (const d of await kb.listDocuments()) {
      sections.set(
        d.source,
        (await kb.store.getChunks(d.source)).map((c) => c.headingPath),
      );
    }
    for (const q of questions) {
      const paths = sections.get(`kubemate/${q.source}`);
      expect(paths, `${q.id}: ${q.source}`).toBeDefined();
      const found = paths!.some((headingPath) =>
        answers(
          {
            citation: { source: `kubemate/${q.source}`, title: '', headingPath, lineStart: 1, lineEnd: 1 },
            text: '',
            score: 0,
            chunkId: '',
          },
          q,
        ),
      );
      expect(found, `${q.id}: no chunk under "${q.heading}"`).toBe(true);
    }
  });

  it('reaches Recall@5 of at least 0.8 with keyword retrieval alone', async () => {
    const report = await evaluate(kb, questions, 'keyword');
    expect(report.degraded).toBeUndefined();
    expect(
      report.recallAt5,
      report.misses.map((m) => `${m.id} ${m.question}`).join('\n'),
    ).toBeGreaterThanOrEqual(0.8);
    expect(report.mrr).toBeGreaterThan(0.5);
  });
});
