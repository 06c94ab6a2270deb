/**
 * `npm run eval:runbooks`: ingests the shipped runbooks into a temporary store and reports Recall@5
 * and MRR@10 over evals/runbooks/questions.yaml for keyword-only, dense-only and hybrid retrieval, on the
 * embedded store and, when asked, on Milvus.
 *
 *   --ollama URL      a real Ollama for embeddings (default: $OLLAMA_HOST). Without one, dense and
 *                     hybrid are "not measured": no stand-in embedding is ever reported as a figure.
 *   --model NAME      embedding model (default nomic-embed-text)
 *   --milvus ADDR     also evaluate on this Milvus (default: $KUBEMATE_EVAL_MILVUS)
 *   --start-milvus    start milvus-lite for the run (test/env/milvus.ts)
 *   --misses          list the questions missed in the top 5
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_EMBEDDING_MODEL } from '../../rag/config.js';
import { type Embedder, OllamaEmbedder } from '../../rag/embeddings.js';
import { KnowledgeBase } from '../../rag/knowledge-base.js';
import { EmbeddedStore } from '../../rag/store/embedded.js';
import type { RunbookStore } from '../../rag/types.js';
import {
  type ChineseQuestion,
  type EvalQuestion,
  type EvalReport,
  evaluate,
  evaluateSections,
  loadChineseQuestions,
  loadQuestions,
  loadSectionQuestions,
  type SectionQuestion,
  type SectionReport,
} from './evaluate.js';

const { values: args } = parseArgs({
  options: {
    ollama: { type: 'string' },
    model: { type: 'string', default: DEFAULT_EMBEDDING_MODEL },
    milvus: { type: 'string' },
    'start-milvus': { type: 'boolean', default: false },
    misses: { type: 'boolean', default: false },
  },
});

/** OLLAMA_HOST may be `host:port` or a URL, as Ollama itself accepts. */
function ollamaUrl(value: string): string {
  return /^https?:\/\//.test(value) ? value : `http://${value}`;
}

const settings = {
  dirs: [],
  includeShipped: true,
  store: { kind: 'embedded' as const },
  embedding: { enabled: true, url: '', model: '', batchSize: 32, timeoutSeconds: 120 },
};

async function evaluateStore(
  label: string,
  store: RunbookStore,
  embedder: Embedder | null,
  questions: EvalQuestion[],
  realistic: SectionQuestion[],
  chinese: ChineseQuestion[],
  /** Runs before the store is closed (to drop a temporary Milvus collection). */
  cleanup?: () => Promise<void>,
): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-eval-'));
  const kb = await KnowledgeBase.open({
    dataDir,
    runbooks: settings,
    store,
    embedder,
    probeTimeoutMs: 60_000,
  });
  try {
    if (embedder && kb.status.mode !== 'hybrid')
      throw new Error(`embedding model unusable: ${kb.status.notice}`);
    const [summary] = await kb.sync();
    const lines = [
      `${label}: ${summary!.files.seen} runbooks, ${summary!.chunks} chunks, ingested in ${(summary!.ms.total / 1000).toFixed(1)} s`,
    ];
    const row = (r: EvalReport) =>
      `  ${r.mode.padEnd(8)} Recall@3 ${r.recallAt3.toFixed(3)}  Recall@5 ${r.recallAt5.toFixed(3)}  MRR@10 ${r.mrr.toFixed(3)}  (${r.questions} questions)${r.degraded ? `  DEGRADED: ${r.degraded}` : ''}`;
    const reports: EvalReport[] = [await evaluate(kb, questions, 'keyword')];
    if (embedder) {
      reports.push(await evaluate(kb, questions, 'dense'), await evaluate(kb, questions, 'hybrid'));
      lines.push(...reports.map(row), `  embedding model: ${embedder.model} on ${embedder.url}`);
    } else {
      lines.push(
        row(reports[0]!),
        '  dense    not measured: no real embedding model (give --ollama URL or OLLAMA_HOST)',
        '  hybrid   not measured: no real embedding model',
      );
    }
    const sectionRow = (r: SectionReport) =>
      `  ${r.mode.padEnd(8)} Recall@3 ${r.recallAt3.toFixed(3)}  Recall@5 ${r.recallAt5.toFixed(3)}  MRR@10 ${r.mrr.toFixed(3)}  (${r.questions} questions)${r.degraded ? `  DEGRADED: ${r.degraded}` : ''}`;
    const sections: SectionReport[] = [await evaluateSections(kb, realistic, 'keyword')];
    if (embedder) {
      sections.push(
        await evaluateSections(kb, realistic, 'dense'),
        await evaluateSections(kb, realistic, 'hybrid'),
      );
    }
    lines.push('  realistic set (questions-real.yaml), section level:', ...sections.map(sectionRow));
    if (!embedder) lines.push('  dense, hybrid not measured: no real embedding model');
    const modes: Array<SectionReport['mode']> = embedder ? ['keyword', 'dense', 'hybrid'] : ['keyword'];
    for (const [part, qs] of [
      ['all', chinese],
      ['dev', chinese.filter((q) => q.split === 'dev')],
      ['held-out', chinese.filter((q) => q.split === 'held-out')],
    ] as const) {
      lines.push(`  Chinese set (questions-zh.yaml), ${part}, section level:`);
      for (const mode of modes) {
        const r = await evaluateSections(kb, qs, mode);
        lines.push(sectionRow(r));
        if (part === 'all') sections.push(r);
      }
    }
    if (args.misses) {
      for (const r of reports) {
        for (const m of r.misses)
          lines.push(`  miss ${r.mode} ${m.id} rank ${m.rank ?? '-'}: ${m.question}  → ${m.top}`);
      }
      for (const r of sections) {
        for (const m of r.misses)
          lines.push(`  miss@3 ${r.mode} ${m.id} rank ${m.rank ?? '-'}: ${m.question}  → ${m.top}`);
      }
    }
    return lines;
  } finally {
    await cleanup?.().catch(() => undefined);
    await kb.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface TestMilvus {
  address: string;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const questions = loadQuestions();
  const realistic = loadSectionQuestions();
  const chinese = loadChineseQuestions();
  const host = args.ollama ?? process.env.OLLAMA_HOST;
  const embedder = host
    ? new OllamaEmbedder({ url: ollamaUrl(host), model: args.model!, timeoutMs: 120_000 })
    : null;
  const out: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'kubemate-eval-store-'));
  try {
    out.push(
      ...(await evaluateStore(
        'embedded (SQLite)',
        new EmbeddedStore({ path: join(dir, 'runbooks.db') }),
        embedder,
        questions,
        realistic,
        chinese,
      )),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  let milvus: TestMilvus | undefined;
  let address = args.milvus ?? process.env.KUBEMATE_EVAL_MILVUS;
  if (!address && args['start-milvus']) {
    // Test code, loaded only when asked; a variable specifier keeps it out of the product build.
    const envModule = '../../test/env/milvus.js';
    const { startMilvus } = (await import(envModule)) as { startMilvus(): Promise<TestMilvus> };
    milvus = await startMilvus();
    address = milvus.address;
  }
  try {
    if (address) {
      const { MilvusStore } = await import('../../rag/store/milvus.js');
      const store = new MilvusStore({ address, collection: `kubemate_eval_${Date.now()}` });
      out.push(
        ...(await evaluateStore(`Milvus (${address})`, store, embedder, questions, realistic, chinese, () =>
          store.drop(),
        )),
      );
    } else {
      out.push('Milvus: not measured (give --milvus ADDRESS, KUBEMATE_EVAL_MILVUS or --start-milvus)');
    }
  } finally {
    await milvus?.stop();
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
