import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answers,
  evaluate,
  evaluateSections,
  inRelevantSection,
  loadChineseQuestions,
  loadQuestions,
  loadSectionQuestions,
} from '../../evals/runbooks/evaluate.js';
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

describe('realistic evaluation set (section level)', () => {
  const questions = loadSectionQuestions();

  it('has at least 100 questions, each citing where its phrasing came from and naming sections that exist', async () => {
    expect(questions.length).toBeGreaterThanOrEqual(100);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    expect(new Set(questions.map((q) => q.question)).size).toBe(questions.length);
    const paths: Array<{ source: string; headingPath: string[] }> = [];
    for (const d of await kb.listDocuments()) {
      for (const c of await kb.store.getChunks(d.source))
        paths.push({ source: d.source, headingPath: c.headingPath });
    }
    for (const q of questions) {
      expect(q.phrasing, q.id).toMatch(/^https:\/\//);
      for (const label of q.relevant) {
        const one = { ...q, relevant: [label] };
        const found = paths.some((p) =>
          inRelevantSection(
            { citation: { ...p, title: '', lineStart: 1, lineEnd: 1 }, text: '', score: 0, chunkId: '' },
            one,
          ),
        );
        expect(found, `${q.id}: no chunk under "${label}"`).toBe(true);
      }
    }
  });

  it('reaches section-level Recall@3 of at least 0.8 with keyword retrieval alone', async () => {
    const report = await evaluateSections(kb, questions, 'keyword');
    expect(report.degraded).toBeUndefined();
    expect(
      report.recallAt3,
      report.misses.map((m) => `${m.id} ${m.question} (rank ${m.rank})`).join('\n'),
    ).toBeGreaterThanOrEqual(0.8);
    expect(report.mrr).toBeGreaterThan(0.6);
  });
});

describe('Chinese evaluation set (section level)', () => {
  const questions = loadChineseQuestions();

  it('has at least 40 questions in Chinese, a held-out part, and labels naming sections of the Chinese runbooks', async () => {
    expect(questions.length).toBeGreaterThanOrEqual(40);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    expect(questions.filter((q) => q.split === 'held-out').length).toBeGreaterThanOrEqual(15);
    for (const q of questions) expect(q.question, q.id).toMatch(/\p{Script=Han}/u);
    const paths: Array<{ source: string; headingPath: string[] }> = [];
    for (const d of await kb.listDocuments()) {
      for (const c of await kb.store.getChunks(d.source))
        paths.push({ source: d.source, headingPath: c.headingPath });
    }
    for (const q of questions) {
      for (const label of q.relevant) {
        expect(label, q.id).toMatch(/^zh\//);
        const found = paths.some((p) =>
          inRelevantSection(
            { citation: { ...p, title: '', lineStart: 1, lineEnd: 1 }, text: '', score: 0, chunkId: '' },
            { ...q, relevant: [label] },
          ),
        );
        expect(found, `${q.id}: no chunk under "${label}"`).toBe(true);
      }
    }
  });

  it('reaches keyword-only Recall@5 of at least 0.8, on the whole set and on the held-out part', async () => {
    const all = await evaluateSections(kb, questions, 'keyword');
    const misses = all.misses.map((m) => `${m.id} ${m.question} (rank ${m.rank})`).join('\n');
    expect(all.degraded).toBeUndefined();
    expect(all.recallAt5, misses).toBeGreaterThanOrEqual(0.8);
    expect(all.recallAt3, misses).toBeGreaterThanOrEqual(0.75);
    const heldOut = await evaluateSections(
      kb,
      questions.filter((q) => q.split === 'held-out'),
      'keyword',
    );
    expect(heldOut.recallAt5, misses).toBeGreaterThanOrEqual(0.8);
  });
});

describe('scoring of the first set', () => {
  it('counts Recall@3, Recall@5 and MRR@10 from the rank of the named section', async () => {
    const passage = (source: string, heading: string) => ({
      citation: {
        source: `kubemate/${source}`,
        title: 'T',
        headingPath: ['T', heading],
        lineStart: 1,
        lineEnd: 1,
      },
      text: '',
      score: 0,
      chunkId: `${source}#${heading}`,
    });
    const filler = (n: number) => Array.from({ length: n }, (_, i) => passage('other.md', `x${i}`));
    // The answer at rank 1, rank 3, rank 4 and nowhere.
    const ranks: Record<string, number | null> = { a: 1, b: 3, c: 4, d: null };
    const searcher = {
      search: async (question: string) => {
        const rank = ranks[question];
        const list = filler(10);
        if (rank) list.splice(rank - 1, 1, passage('oom.md', 'Fix'));
        return { mode: 'keyword' as const, passages: list };
      },
    };
    const qs = Object.keys(ranks).map((id) => ({ id, question: id, source: 'oom.md', heading: 'T > Fix' }));
    const report = await evaluate(searcher, qs, 'keyword');
    expect(report.recallAt3).toBe(2 / 4);
    expect(report.recallAt5).toBe(3 / 4);
    expect(report.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 4) / 4, 10);
  });
});
