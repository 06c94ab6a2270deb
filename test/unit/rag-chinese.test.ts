// Chinese runbooks and questions: segmentation, vocabulary, the language preference and the
// embedded store's re-indexing of stores written before Chinese was segmented.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tokens } from '../../rag/chunker.js';
import { asciiTerm, cjkTerms, SEGMENTATION, segmentationId, segmentForIndex } from '../../rag/cjk.js';
import { searchTerms, vocabularyTerms } from '../../rag/keyword.js';
import { preferQueryLanguage } from '../../rag/retrieval.js';
import { EmbeddedStore } from '../../rag/store/embedded.js';
import { documentTerms, queryTermsText } from '../../rag/store/milvus-analyzer.js';
import type { Chunk, ScoredChunk } from '../../rag/types.js';

function chunk(id: string, headingPath: string[], text: string): Chunk {
  return {
    id,
    source: id.split('#')[0]!,
    ordinal: Number(id.split('#')[1] ?? 0),
    title: headingPath[0]!,
    headingPath,
    lineStart: 1,
    lineEnd: 5,
    text,
    tags: [],
    alerts: [],
    services: [],
    namespaces: [],
  };
}

describe('Chinese segmentation', () => {
  it('uses ICU dictionary words on this runtime (full ICU), and says so', () => {
    expect(SEGMENTATION).toBe('dictionary');
    expect(segmentationId()).toBe(`dictionary/icu-${process.versions.icu}`);
    expect(cjkTerms('内存溢出导致容器被杀', 'dictionary')).toEqual(
      expect.arrayContaining(['内存', '溢出', '容器']),
    );
  });

  it('cuts bigrams where asked, and drops question words and particles', () => {
    expect(cjkTerms('镜像拉取失败', 'bigram')).toEqual(['镜像', '像拉', '拉取', '取失', '失败']);
    expect(cjkTerms('怎么办', 'bigram')).toEqual([]);
    expect(cjkTerms('为什么一直重启了', 'bigram')).toEqual(['重启']);
    expect(cjkTerms('杀', 'bigram')).toEqual(['杀']);
  });

  it('keeps English words of a mixed question as they are and adds the status reason', () => {
    const terms = searchTerms('pod 一直 CrashLoopBackOff 怎么办');
    expect(terms).toEqual(expect.arrayContaining(['pod', 'crashloopbackoff', 'crash', 'loop']));
    expect(terms).not.toContain('一直');
    expect(terms).not.toContain('怎么办');
    // Written without spaces between the scripts, too.
    expect(searchTerms('pod一直CrashLoopBackOff怎么办')).toEqual(
      expect.arrayContaining(['pod', 'crashloopbackoff']),
    );
  });

  it('indexes Chinese runs as words separated by spaces and leaves other text alone', () => {
    expect(segmentForIndex('check the pod events')).toBe('check the pod events');
    const indexed = segmentForIndex('查看 Pod 事件：镜像拉取失败');
    expect(indexed.split(/\s+/)).toEqual(expect.arrayContaining(['Pod', '事件', '失败']));
  });

  it('counts a Chinese character as about a token when chunking', () => {
    expect(tokens('abcdefgh')).toBe(2);
    expect(tokens('内存溢出')).toBe(4);
    expect(tokens('pod 内存')).toBe(3);
  });

  it('hands Milvus Chinese terms in ASCII, the same for a chunk and a question', () => {
    expect(asciiTerm('内存')).toBe('c0518505b58');
    expect(asciiTerm('memory')).toBe('memory');
    const query = queryTermsText('内存溢出怎么办');
    expect(query).toMatch(/^[a-z0-9 ]+$/);
    const doc = documentTerms(
      chunk('zh/oom.md#0', ['容器内存溢出', '原因'], '容器的内存超过限制后被内核杀掉。'),
    ).split(' ');
    expect(query.split(' ').filter((t) => doc.includes(t)).length).toBeGreaterThanOrEqual(2);
  });
});

describe('Chinese operations vocabulary', () => {
  it.each([
    ['容器崩溃了', 'crashloopbackoff'],
    ['服务一直重启循环', 'crashloopbackoff'],
    ['java 内存溢出', 'oomkilled'],
    ['镜像拉取失败', 'imagepullbackoff'],
    ['新节点未就绪', 'notready'],
    ['网关证书过期了', 'certificate'],
    ['证书已经过期', 'expired'],
    ['pod 一直 pending', 'failedscheduling'],
  ])('%s → %s', (question, term) => {
    expect(vocabularyTerms(question)).toContain(term);
    expect(searchTerms(question)).toContain(term);
  });

  it('adds nothing to Chinese questions without such words', () => {
    expect(vocabularyTerms('怎么看 deployment 的发布历史')).toEqual([]);
  });
});

describe('answers in the question language', () => {
  const hit = (id: string, heading: string, score: number): ScoredChunk => ({
    chunk: chunk(id, ['T', heading], ''),
    score,
  });
  const en = hit('en.md#0', 'Read the previous logs', 10);
  const zh = hit('zh.md#0', '看崩溃前的日志', 8);

  it('puts a passage in the question language first when both score about as well', () => {
    expect(preferQueryLanguage('pod 一直 CrashLoopBackOff 怎么办', [en, zh]).map((h) => h.chunk.id)).toEqual([
      'zh.md#0',
      'en.md#0',
    ]);
    expect(preferQueryLanguage('pod keeps crashing', [zh, en]).map((h) => h.chunk.id)).toEqual([
      'en.md#0',
      'zh.md#0',
    ]);
  });

  it('keeps a clearly better passage in the other language first', () => {
    const strong = hit('en.md#1', 'Check the kubelet', 30);
    expect(preferQueryLanguage('节点未就绪', [strong, zh])[0]!.chunk.id).toBe('en.md#1');
  });
});

describe('embedded store written before Chinese was segmented', () => {
  it('re-indexes on open, so its Chinese chunks are found', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kubemate-rag-zh-')), 'runbooks.db');
    const store = new EmbeddedStore({ path });
    await store.open(null);
    const c = chunk('zh/oom.md#0', ['容器内存溢出', '处理方法'], '调大内存限制，或者修正 JVM 参数。');
    await store.putDocument(
      {
        source: 'zh/oom.md',
        title: c.title,
        hash: 'h',
        embeddingModel: null,
        chunkCount: 1,
        ingestedAt: '2026-01-01T00:00:00Z',
      },
      [c],
      null,
    );
    await store.close();

    // What schema 1 held: the same rows, Chinese indexed as one token per clause.
    const db = new Database(path);
    db.prepare("INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')").run();
    db.prepare("INSERT INTO chunks_fts_cjk(chunks_fts_cjk) VALUES ('delete-all')").run();
    db.prepare(
      'INSERT INTO chunks_fts(rowid, title, headings, labels, body) SELECT rowid, title, ?, ?, text FROM chunks',
    ).run('处理方法', 'kubematechunk');
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema'").run();
    db.prepare("DELETE FROM meta WHERE key = 'segmentation'").run();
    db.close();

    const old = new EmbeddedStore({ path });
    await old.open(null);
    try {
      expect((await old.keywordSearch('内存限制', 5)).map((h) => h.chunk.id)).toEqual(['zh/oom.md#0']);
      expect((await old.keywordSearch('JVM', 5)).map((h) => h.chunk.id)).toEqual(['zh/oom.md#0']);
    } finally {
      await old.close();
    }
    const check = new Database(path);
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe('3');
    // Re-indexed into the Chinese partition, not the English one.
    const count = (table: string, term: string) =>
      check.prepare(`SELECT count(*) FROM ${table} WHERE ${table} MATCH ?`).pluck().get(`"${term}"`);
    expect(count('chunks_fts_cjk', 'jvm')).toBe(1);
    expect(count('chunks_fts', 'jvm')).toBe(0);
    expect(check.prepare("SELECT value FROM meta WHERE key = 'segmentation'").pluck().get()).toBe(
      segmentationId(),
    );
    check.close();
  });
});

describe('keyword statistics per language', () => {
  const doc = (c: Chunk) => ({
    source: c.source,
    title: c.title,
    hash: 'h',
    embeddingModel: null,
    chunkCount: 1,
    ingestedAt: '2026-01-01T00:00:00Z',
  });
  const putAll = async (store: EmbeddedStore, chunks: Chunk[]) => {
    for (const source of new Set(chunks.map((c) => c.source))) {
      const own = chunks.filter((c) => c.source === source);
      await store.putDocument(doc(own[0]!), own, null);
    }
  };
  const english = [
    chunk('en/oom.md#0', ['OOMKilled', 'Java heap'], 'OutOfMemoryError in the logs: raise Xmx or the limit.'),
    chunk('en/oom.md#1', ['OOMKilled', 'Native memory'], 'The limit is below the working set; java threads.'),
    chunk('en/crash.md#0', ['CrashLoopBackOff', 'Previous logs'], 'Read the logs of the last container.'),
    chunk('en/dns.md#0', ['DNS', 'CoreDNS'], 'Lookups time out; check the CoreDNS pods.'),
  ];
  const chinese = [
    chunk('zh/oom.md#0', ['容器内存溢出', 'Java 堆'], '日志里有 OutOfMemoryError：调大 Xmx 或者 limit。'),
    chunk('zh/oom.md#1', ['容器内存溢出', '原因'], 'java 进程的 OutOfMemoryError，Xmx 设得太小。'),
  ];
  const scores = async (chunks: Chunk[], query: string) => {
    const store = new EmbeddedStore({ path: ':memory:' });
    await store.open(null);
    await putAll(store, chunks);
    const hits = await store.keywordSearch(query, 10);
    await store.close();
    return new Map(hits.map((h) => [h.chunk.id, h.score]));
  };

  it('scores English passages the same whether or not Chinese runbooks quote the same words', async () => {
    const query = 'java OutOfMemoryError Xmx';
    const alone = await scores(english, query);
    const mixed = await scores([...english, ...chinese], query);
    expect(alone.size).toBeGreaterThan(0);
    for (const [id, score] of alone) expect(mixed.get(id)).toBeCloseTo(score, 10);
    // The Chinese passages are still found, from their own partition.
    expect(mixed.has('zh/oom.md#0')).toBe(true);
    expect(mixed.has('zh/oom.md#1')).toBe(true);
  });

  it('scores Chinese passages the same whether or not English runbooks are there', async () => {
    const query = '容器内存溢出 Xmx';
    const alone = await scores(chinese, query);
    const mixed = await scores([...english, ...chinese], query);
    for (const [id, score] of alone) expect(mixed.get(id)).toBeCloseTo(score, 10);
  });

  it('merges both partitions by score and keeps the limit', async () => {
    const store = new EmbeddedStore({ path: ':memory:' });
    await store.open(null);
    await putAll(store, [...english, ...chinese]);
    const hits = await store.keywordSearch('OutOfMemoryError', 3);
    expect(hits).toHaveLength(3);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
    await store.removeDocument('zh/oom.md');
    const left = await store.keywordSearch('OutOfMemoryError', 10);
    expect(new Set(left.map((h) => h.chunk.source))).toEqual(new Set(['en/oom.md']));
    await store.close();
  });
});
