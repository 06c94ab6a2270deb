import { hasCjk, isCjkPassage } from './cjk.js';
import type { Embedder } from './embeddings.js';
import type {
  Passage,
  RunbookSearcher,
  RunbookStore,
  ScoredChunk,
  SearchOptions,
  SearchResult,
} from './types.js';

/** Reorders fused passages (a cross-encoder, an LLM judge…). The default keeps the fused order. */
export interface Reranker {
  rerank(query: string, passages: Passage[]): Promise<Passage[]>;
}

/**
 * How much of its BM25 score an overview passage keeps: a document's introduction or a section with
 * no subsection of its own (Symptoms, Escalation). Overviews repeat the vocabulary of every section
 * below them, so on term counts alone they outrank the one section that answers; when a specific
 * section matches about as well, it should come first. A clearly better overview still wins.
 */
export const OVERVIEW_WEIGHT = 0.8;

/** BM25 hits with overview passages discounted, re-sorted (scores are higher-is-better). */
export function preferSpecific(hits: ScoredChunk[]): ScoredChunk[] {
  return hits
    .map((h, i) => ({
      h: h.chunk.headingPath.length <= 2 ? { ...h, score: h.score * OVERVIEW_WEIGHT } : h,
      i,
    }))
    .sort((a, b) => b.h.score - a.h.score || a.i - b.i)
    .map((x) => x.h);
}

/**
 * How much of its score a passage written in another language than the question keeps. Chinese
 * runbooks keep English status names and commands (`CrashLoopBackOff`, `kubectl describe`), so on
 * those words alone an English question would reach them and a mixed Chinese question ("pod 一直
 * CrashLoopBackOff 怎么办") would reach the English runbook; the reader wants the one in their
 * language when both answer. A passage in the other language that answers clearly better still
 * comes first (a team with only English runbooks still gets them for Chinese questions).
 */
export const OTHER_LANGUAGE_WEIGHT = 0.5;

const cjkChunk = (hit: ScoredChunk) => isCjkPassage(hit.chunk);

/** Hits re-sorted with passages in the other language than the query's discounted. */
export function preferQueryLanguage(query: string, hits: ScoredChunk[]): ScoredChunk[] {
  const cjk = hasCjk(query);
  if (!hits.some((h) => cjkChunk(h) !== cjk)) return hits;
  const w = OTHER_LANGUAGE_WEIGHT;
  return hits
    .map((h, i) => ({
      h: cjkChunk(h) === cjk ? h : { ...h, score: h.score >= 0 ? h.score * w : h.score / w },
      i,
    }))
    .sort((a, b) => b.h.score - a.h.score || a.i - b.i)
    .map((x) => x.h);
}

export const identityReranker: Reranker = { rerank: async (_query, passages) => passages };

/** Whether dense retrieval is possible right now, and if not (or only partly), why. */
export type EmbeddingState = { embedder: Embedder; notice?: string } | { embedder: null; notice: string };

export interface HybridSearcherOptions {
  store: RunbookStore;
  /** Asked before each search, so a model that comes back (or goes away) is noticed. */
  embedding: () => Promise<EmbeddingState> | EmbeddingState;
  /** Told when embedding a query failed, so the next search can re-check the model. */
  onEmbeddingFailure?: (error: Error) => void;
  reranker?: Reranker;
  /** Reciprocal rank fusion constant (60, as in Cormack et al.). */
  rrfK?: number;
  /** Results taken from each retriever before fusion. */
  candidates?: number;
}

export const MAX_LIMIT = 50;

/**
 * Reciprocal rank fusion: each list adds 1/(k + rank) for every chunk it holds. Ties go to the chunk
 * ranked best in any list, then to the first list's order.
 */
export function reciprocalRankFusion(lists: ScoredChunk[][], k = 60): ScoredChunk[] {
  const fused = new Map<string, { hit: ScoredChunk; score: number; best: number; order: number }>();
  let order = 0;
  for (const list of lists) {
    list.forEach((hit, i) => {
      const rank = i + 1;
      const entry = fused.get(hit.chunk.id);
      if (entry) {
        entry.score += 1 / (k + rank);
        entry.best = Math.min(entry.best, rank);
      } else fused.set(hit.chunk.id, { hit, score: 1 / (k + rank), best: rank, order: order++ });
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.best - b.best || a.order - b.order)
    .map((e) => ({ chunk: e.hit.chunk, score: e.score }));
}

/**
 * Hits without copies: the same section (heading path and text) ingested under two source prefixes
 * (a folder ingested twice, or a team folder that vendors the shipped runbooks) is one passage, the
 * best-ranked copy.
 */
export function withoutCopies(hits: ScoredChunk[]): ScoredChunk[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const key = `${h.chunk.headingPath.join('\u0000')}\u0001${h.chunk.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function passage(hit: ScoredChunk): Passage {
  const c = hit.chunk;
  return {
    citation: {
      source: c.source,
      title: c.title,
      headingPath: c.headingPath,
      lineStart: c.lineStart,
      lineEnd: c.lineEnd,
    },
    text: c.text,
    score: hit.score,
    chunkId: c.id,
  };
}

/**
 * Runbook search over one store: BM25 and dense retrieval fused by reciprocal rank (hybrid) when an
 * embedding model answers, keyword (BM25) only otherwise, and then the result says so in `notice`.
 */
export class HybridSearcher implements RunbookSearcher {
  private readonly reranker: Reranker;
  private readonly k: number;
  private readonly candidates: number;

  constructor(private readonly options: HybridSearcherOptions) {
    this.reranker = options.reranker ?? identityReranker;
    this.k = options.rrfK ?? 60;
    this.candidates = options.candidates ?? 50;
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult> {
    const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(options.limit ?? 5)));
    const filter = options.filter;
    const pool = Math.max(this.candidates, limit * 3);
    const { store } = this.options;
    const keyword = async (notice?: string): Promise<SearchResult> => ({
      mode: 'keyword',
      ...(notice ? { notice } : {}),
      passages: await this.finish(
        query,
        preferQueryLanguage(query, preferSpecific(await store.keywordSearch(query, pool, filter))),
        limit,
      ),
    });
    if (options.mode === 'keyword') return keyword();

    const state = await this.options.embedding();
    if (!state.embedder) return keyword(state.notice);
    let vector: Float32Array;
    try {
      vector = await state.embedder.embedQuery(query);
    } catch (e) {
      this.options.onEmbeddingFailure?.(e as Error);
      return keyword(`${(e as Error).message}: keyword retrieval only`);
    }
    const notice = state.notice ? { notice: state.notice } : {};
    if (options.mode === 'dense') {
      const dense = preferQueryLanguage(query, await store.vectorSearch(vector, pool, filter));
      return { mode: 'dense', ...notice, passages: await this.finish(query, dense, limit) };
    }
    const [lexical, dense] = await Promise.all([
      store
        .keywordSearch(query, pool, filter)
        .then((hits) => preferQueryLanguage(query, preferSpecific(hits))),
      store.vectorSearch(vector, pool, filter).then((hits) => preferQueryLanguage(query, hits)),
    ]);
    const fused = reciprocalRankFusion([lexical, dense], this.k);
    return { mode: 'hybrid', ...notice, passages: await this.finish(query, fused, limit) };
  }

  private async finish(query: string, hits: ScoredChunk[], limit: number): Promise<Passage[]> {
    const unique = withoutCopies(hits).slice(0, Math.max(limit * 3, 20));
    const ranked = await this.reranker.rerank(query, unique.map(passage));
    return ranked.slice(0, limit);
  }
}
