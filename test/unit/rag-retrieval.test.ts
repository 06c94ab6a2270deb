import { describe, expect, it } from 'vitest';
import type { Embedder } from '../../rag/embeddings.js';
import {
  HybridSearcher,
  OVERVIEW_WEIGHT,
  preferSpecific,
  type Reranker,
  reciprocalRankFusion,
} from '../../rag/retrieval.js';
import type { Chunk, RunbookStore, ScoredChunk, SearchFilter } from '../../rag/types.js';

function chunk(id: string): Chunk {
  return {
    id,
    source: `${id}.md`,
    ordinal: 0,
    title: id,
    headingPath: [id, 'Checks'],
    lineStart: 3,
    lineEnd: 9,
    text: `text of ${id}`,
    tags: [],
    alerts: [],
    services: [],
    namespaces: [],
  };
}
const hits = (...ids: string[]): ScoredChunk[] => ids.map((id, i) => ({ chunk: chunk(id), score: 10 - i }));

/** A store whose two retrievers return fixed rankings, recording the filters they were given. */
function fakeStore(keyword: ScoredChunk[], dense: ScoredChunk[]) {
  const calls: { kind: string; limit: number; filter?: SearchFilter }[] = [];
  const store = {
    kind: 'embedded',
    keywordSearch: async (_q: string, limit: number, filter?: SearchFilter) => {
      calls.push({ kind: 'keyword', limit, ...(filter ? { filter } : {}) });
      return keyword.slice(0, limit);
    },
    vectorSearch: async (_v: Float32Array, limit: number, filter?: SearchFilter) => {
      calls.push({ kind: 'dense', limit, ...(filter ? { filter } : {}) });
      return dense.slice(0, limit);
    },
  } as unknown as RunbookStore;
  return { store, calls };
}

const embedder = (fail?: Error): Embedder => ({
  model: 'm',
  url: 'http://e',
  embedDocuments: async () => [],
  embedQuery: async () => {
    if (fail) throw fail;
    return Float32Array.from([1, 0]);
  },
  probe: async () => 2,
});

const ids = (r: { passages: { chunkId: string }[] }) => r.passages.map((p) => p.chunkId);

describe('reciprocal rank fusion', () => {
  it('adds 1/(60 + rank) per list: agreement beats a single first place', () => {
    const fused = reciprocalRankFusion([hits('a', 'b', 'c'), hits('c', 'a', 'd')]);
    expect(fused.map((h) => h.chunk.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 10);
    expect(fused[1]!.score).toBeCloseTo(1 / 63 + 1 / 61, 10);
    expect(fused[2]!.score).toBeCloseTo(1 / 62, 10);
  });

  it('breaks ties by the best rank in any list, then by the first list', () => {
    expect(reciprocalRankFusion([hits('a', 'b'), hits('b', 'a')]).map((h) => h.chunk.id)).toEqual(['a', 'b']);
    expect(reciprocalRankFusion([hits('x'), hits('y')]).map((h) => h.chunk.id)).toEqual(['x', 'y']);
  });
});

describe('hybrid searcher', () => {
  it('fuses keyword and dense rankings, passes filters to both, and cites each passage', async () => {
    const { store, calls } = fakeStore(hits('k1', 'both', 'k3'), hits('d1', 'both', 'd3'));
    const searcher = new HybridSearcher({ store, embedding: () => ({ embedder: embedder() }) });
    const filter = { tags: ['dns'], alert: 'CoreDNSDown' };
    const result = await searcher.search('q', { limit: 3, filter });
    expect(result.mode).toBe('hybrid');
    expect(result.notice).toBeUndefined();
    expect(ids(result)).toEqual(['both', 'k1', 'd1']);
    expect(result.passages[0]!.citation).toEqual({
      source: 'both.md',
      title: 'both',
      headingPath: ['both', 'Checks'],
      lineStart: 3,
      lineEnd: 9,
    });
    expect(calls.map((c) => [c.kind, c.filter])).toEqual([
      ['keyword', filter],
      ['dense', filter],
    ]);
  });

  it('answers dense-only and keyword-only when asked', async () => {
    const { store } = fakeStore(hits('k1', 'k2'), hits('d1', 'd2'));
    const searcher = new HybridSearcher({ store, embedding: () => ({ embedder: embedder() }) });
    expect(ids(await searcher.search('q', { mode: 'dense' }))).toEqual(['d1', 'd2']);
    const keyword = await searcher.search('q', { mode: 'keyword' });
    expect(keyword).toMatchObject({ mode: 'keyword' });
    expect(ids(keyword)).toEqual(['k1', 'k2']);
  });

  it('falls back to keywords with a notice when no model is available or the query cannot be embedded', async () => {
    const { store } = fakeStore(hits('k1'), hits('d1'));
    const none = new HybridSearcher({
      store,
      embedding: () => ({ embedder: null, notice: 'no model: keyword retrieval only' }),
    });
    expect(await none.search('q', { mode: 'dense' })).toMatchObject({
      mode: 'keyword',
      notice: 'no model: keyword retrieval only',
    });
    const failures: Error[] = [];
    const broken = new HybridSearcher({
      store,
      embedding: () => ({
        embedder: embedder(new Error('embedding server http://e is unreachable (ECONNREFUSED)')),
      }),
      onEmbeddingFailure: (e) => failures.push(e),
    });
    const result = await broken.search('q');
    expect(result).toMatchObject({
      mode: 'keyword',
      notice: 'embedding server http://e is unreachable (ECONNREFUSED): keyword retrieval only',
    });
    expect(ids(result)).toEqual(['k1']);
    expect(failures).toHaveLength(1);
  });

  it('lets a reranker reorder the fused candidates before the limit applies', async () => {
    const { store } = fakeStore(hits('a', 'b', 'c', 'd'), []);
    const reverse: Reranker = { rerank: async (_q, passages) => [...passages].reverse() };
    const searcher = new HybridSearcher({
      store,
      embedding: () => ({ embedder: null, notice: 'n' }),
      reranker: reverse,
    });
    expect(ids(await searcher.search('q', { limit: 2 }))).toEqual(['d', 'c']);
  });

  it('clamps the limit', async () => {
    const { store, calls } = fakeStore(hits(...Array.from({ length: 80 }, (_, i) => `c${i}`)), []);
    const searcher = new HybridSearcher({ store, embedding: () => ({ embedder: null, notice: 'n' }) });
    expect((await searcher.search('q', { limit: 500 })).passages).toHaveLength(50);
    expect((await searcher.search('q', { limit: 0 })).passages).toHaveLength(1);
    expect(calls[0]!.limit).toBe(150);
  });
});

describe('overview passages yield to specific sections', () => {
  const at = (id: string, headingPath: string[], score: number): ScoredChunk => ({
    chunk: { ...chunk(id), headingPath },
    score,
  });

  it('puts a specific section above an overview that scores about as well, never above a clearly better one', () => {
    const ranked = preferSpecific([
      at('intro', ['Pod in CrashLoopBackOff'], 10),
      at('symptoms', ['Pod in CrashLoopBackOff', 'Symptoms'], 9.8),
      at('checks', ['Pod in CrashLoopBackOff', 'Checks', 'Read the previous log'], 9),
      at('far-better-overview', ['OOMKilled', 'Symptoms'], 20),
      at('weak', ['OOMKilled', 'Fixes', 'Raise the limit'], 2),
    ]);
    expect(ranked.map((h) => h.chunk.id)).toEqual([
      'far-better-overview',
      'checks',
      'intro',
      'symptoms',
      'weak',
    ]);
    expect(ranked.find((h) => h.chunk.id === 'intro')!.score).toBeCloseTo(10 * OVERVIEW_WEIGHT);
  });

  it('applies in keyword search and to the keyword half of hybrid search', async () => {
    const keyword = [at('overview', ['T', 'Symptoms'], 10), at('specific', ['T', 'Checks', 'X'], 9)];
    const { store } = fakeStore(keyword, []);
    const searcher = new HybridSearcher({ store, embedding: () => ({ embedder: null, notice: 'off' }) });
    expect(ids(await searcher.search('q', { mode: 'keyword', limit: 2 }))).toEqual(['specific', 'overview']);
  });
});

describe('copies of a section under two source prefixes', () => {
  it('come back once, as the best-ranked copy, and the limit is filled from the rest', async () => {
    const copy = (id: string, source: string): ScoredChunk => ({
      chunk: { ...chunk(id), source, headingPath: ['Ceph', 'Checks', 'Nearfull'], text: 'same text' },
      score: 20,
    });
    const keyword = [copy('a', 'team-a/ceph.md'), copy('b', 'team-b/ceph.md'), ...hits('other')];
    const { store } = fakeStore(keyword, []);
    const searcher = new HybridSearcher({ store, embedding: () => ({ embedder: null, notice: 'off' }) });
    const result = await searcher.search('q', { mode: 'keyword', limit: 2 });
    expect(result.passages.map((p) => p.citation.source)).toEqual(['team-a/ceph.md', 'other.md']);
  });
});
