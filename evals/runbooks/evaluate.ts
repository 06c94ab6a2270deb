import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SHIPPED_PREFIX } from '../../rag/shipped.js';
import type { Passage, RunbookSearcher, SearchOptions } from '../../rag/types.js';

/** One question of the evaluation set and the runbook section that answers it. */
export interface EvalQuestion {
  id: string;
  question: string;
  /** Relative to rag/runbooks. */
  source: string;
  /** Heading path from the title, joined by " > "; the section or any subsection of it answers. */
  heading: string;
}

const questionsSchema = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        question: z.string().min(3),
        source: z.string().min(1),
        heading: z.string().min(1),
      }),
    )
    .min(1),
});

export function questionsFile(): string {
  return fileURLToPath(new URL('../../evals/runbooks/questions.yaml', import.meta.url)).replace(
    /[\\/]dist([\\/]evals[\\/]runbooks[\\/])/,
    '$1',
  );
}

/** A question file's questions, validated, or an error naming each problem with its path. */
function loadSet<T>(path: string, schema: z.ZodType<{ questions: T[] }>): T[] {
  const parsed = schema.safeParse(parseYaml(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data.questions;
}

export function loadQuestions(path = questionsFile()): EvalQuestion[] {
  return loadSet(path, questionsSchema);
}

/** Whether a passage is (part of) the section that answers the question. */
export function answers(p: Passage, q: EvalQuestion, prefix = SHIPPED_PREFIX): boolean {
  if (p.citation.source !== `${prefix}/${q.source}`) return false;
  const want = q.heading.split(' > ').map((s) => s.trim());
  return want.every((h, i) => p.citation.headingPath[i] === h);
}

export interface EvalReport {
  mode: NonNullable<SearchOptions['mode']>;
  questions: number;
  /** Share of questions answered in the top 3 (the named section, or a subsection of it). */
  recallAt3: number;
  /** Share of questions answered in the top 5. */
  recallAt5: number;
  /** Mean reciprocal rank of the first answering passage in the top 10 (0 when absent). */
  mrr: number;
  /** Questions not answered in the top 5, with the rank found (or null). */
  misses: { id: string; question: string; rank: number | null; top: string }[];
  /** Modes other than the one asked for that the searcher fell back to, with its notice. */
  degraded?: string;
}

export async function evaluate(
  searcher: RunbookSearcher,
  questions: EvalQuestion[],
  mode: NonNullable<SearchOptions['mode']>,
): Promise<EvalReport> {
  let hits = 0;
  let at3 = 0;
  let rr = 0;
  const misses: EvalReport['misses'] = [];
  let degraded: string | undefined;
  for (const q of questions) {
    const result = await searcher.search(q.question, { limit: 10, mode });
    if (result.mode !== mode) degraded = `${result.mode} instead of ${mode}: ${result.notice ?? ''}`;
    const index = result.passages.findIndex((p) => answers(p, q));
    const rank = index === -1 ? null : index + 1;
    if (rank !== null) rr += 1 / rank;
    if (rank !== null && rank <= 3) at3++;
    if (rank !== null && rank <= 5) hits++;
    else {
      const top = result.passages[0];
      misses.push({
        id: q.id,
        question: q.question,
        rank,
        top: top ? `${top.citation.source} › ${top.citation.headingPath.join(' › ')}` : '(nothing)',
      });
    }
  }
  return {
    mode,
    questions: questions.length,
    recallAt3: at3 / questions.length,
    recallAt5: hits / questions.length,
    mrr: rr / questions.length,
    misses,
    ...(degraded ? { degraded } : {}),
  };
}

/** A question of the realistic set: every section that answers it, and where its phrasing came from. */
export interface SectionQuestion {
  id: string;
  question: string;
  phrasing: string;
  /** `<file>#<heading path below the title, joined by " > ">`, relative to rag/runbooks. */
  relevant: string[];
}

/** Sections that answer a question: `<file>.md#<heading path below the title>`. */
const relevantLabels = z
  .array(z.string().regex(/^[^#]+\.md#.+$/, 'write <file>.md#<Heading > Sub-heading>'))
  .min(1);

const sectionQuestionsSchema = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        question: z.string().min(3),
        phrasing: z.url(),
        relevant: relevantLabels,
      }),
    )
    .min(1),
});

export function sectionQuestionsFile(): string {
  return questionsFile().replace(/questions\.yaml$/, 'questions-real.yaml');
}

export function loadSectionQuestions(path = sectionQuestionsFile()): SectionQuestion[] {
  return loadSet(path, sectionQuestionsSchema);
}

/** A question of the Chinese set: every section that answers it, and whether it is held out from tuning. */
export interface ChineseQuestion {
  id: string;
  question: string;
  split: 'dev' | 'held-out';
  relevant: string[];
}

const chineseQuestionsSchema = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        question: z.string().min(2),
        split: z.enum(['dev', 'held-out']),
        relevant: relevantLabels,
      }),
    )
    .min(1),
});

export function chineseQuestionsFile(): string {
  return questionsFile().replace(/questions\.yaml$/, 'questions-zh.yaml');
}

export function loadChineseQuestions(path = chineseQuestionsFile()): ChineseQuestion[] {
  return loadSet(path, chineseQuestionsSchema);
}

/** What section-level scoring needs of a question. */
export type LabelledQuestion = Pick<SectionQuestion, 'id' | 'question' | 'relevant'>;

/** Whether a passage lies in one of the sections labelled relevant (its heading path below the title starts with one). */
export function inRelevantSection(p: Passage, q: LabelledQuestion, prefix = SHIPPED_PREFIX): boolean {
  return q.relevant.some((label) => {
    const [file, heading] = label.split('#') as [string, string];
    if (p.citation.source !== `${prefix}/${file}`) return false;
    const want = heading.split(' > ').map((s) => s.trim());
    return want.every((h, i) => p.citation.headingPath[i + 1] === h);
  });
}

export interface SectionReport {
  mode: NonNullable<SearchOptions['mode']>;
  questions: number;
  recallAt3: number;
  recallAt5: number;
  /** Mean reciprocal rank of the first relevant passage in the top 10. */
  mrr: number;
  misses: { id: string; question: string; rank: number | null; top: string }[];
  degraded?: string;
}

/** Section-level Recall@3, Recall@5 and MRR@10 over the realistic set. */
export async function evaluateSections(
  searcher: RunbookSearcher,
  questions: LabelledQuestion[],
  mode: NonNullable<SearchOptions['mode']>,
): Promise<SectionReport> {
  let at3 = 0;
  let at5 = 0;
  let rr = 0;
  const misses: SectionReport['misses'] = [];
  let degraded: string | undefined;
  for (const q of questions) {
    const result = await searcher.search(q.question, { limit: 10, mode });
    if (result.mode !== mode) degraded = `${result.mode} instead of ${mode}: ${result.notice ?? ''}`;
    const index = result.passages.findIndex((p) => inRelevantSection(p, q));
    const rank = index === -1 ? null : index + 1;
    if (rank !== null) rr += 1 / rank;
    if (rank !== null && rank <= 5) at5++;
    if (rank !== null && rank <= 3) at3++;
    else {
      const top = result.passages[0];
      misses.push({
        id: q.id,
        question: q.question,
        rank,
        top: top ? `${top.citation.source} › ${top.citation.headingPath.join(' › ')}` : '(nothing)',
      });
    }
  }
  return {
    mode,
    questions: questions.length,
    recallAt3: at3 / questions.length,
    recallAt5: at5 / questions.length,
    mrr: rr / questions.length,
    misses,
    ...(degraded ? { degraded } : {}),
  };
}
