/**
 * The behaviour every RunbookStore must share (embedded SQLite, Milvus), as a reusable suite:
 * call `runbookStoreContract('name', factory)` from a test file. Vectors are hand-made (4
 * dimensions), so no embedding model is involved.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Chunk, DocumentRecord, RunbookStore, ScoredChunk } from '../../rag/types.js';

export interface StoreFactory {
  /** A new, empty store on storage of its own (a fresh file, a fresh collection), not yet opened. */
  fresh(): Promise<RunbookStore>;
  /** A second, not yet opened handle on the same storage as `store`. */
  reopen(store: RunbookStore): Promise<RunbookStore>;
}

/** Queries that are FTS5 (and Milvus expression) syntax, or would be if passed through. */
export const HOSTILE_QUERIES = [
  'x509: certificate "expired"',
  'NOT',
  '*',
  'AND OR NOT NEAR',
  'NEAR(a b, 2)',
  'title:crash',
  '"unbalanced',
  "it's O'Reilly's",
  '(((',
  'a AND',
  '^start',
  '-n payments',
  'c++ && || ! {} [] ~ ? \\',
  "'; DROP TABLE chunks; --",
  '%_%',
  '\u0000\u0001',
  '漢字 カタカナ 한국어',
  '   ',
  '',
];

const vec = (...xs: number[]) => Float32Array.from(xs);
const ids = (hits: ScoredChunk[]) => hits.map((h) => h.chunk.id);

function chunk(source: string, ordinal: number, text: string, extra: Partial<Chunk> = {}): Chunk {
  const title = extra.title ?? `Runbook ${source}`;
  return {
    id: `${source}#${ordinal}`,
    source,
    ordinal,
    title,
    headingPath: [title, `Section ${ordinal}`],
    lineStart: ordinal * 10 + 1,
    lineEnd: ordinal * 10 + 9,
    text,
    tags: [],
    alerts: [],
    services: [],
    namespaces: [],
    ...extra,
  };
}

function record(source: string, chunks: Chunk[], hash = `hash-${source}`, model: string | null = 'test-4d') {
  return {
    source,
    title: chunks[0]?.title ?? source,
    hash,
    embeddingModel: model,
    chunkCount: chunks.length,
    ingestedAt: '2026-01-02T03:04:05.000Z',
  } satisfies DocumentRecord;
}

async function put(store: RunbookStore, chunks: Chunk[], vectors: Float32Array[] | null, hash?: string) {
  await store.putDocument(
    record(chunks[0]!.source, chunks, hash, vectors ? 'test-4d' : null),
    chunks,
    vectors,
  );
}

/** Three documents on distinct topics, each chunk pointing its own way in 4-d space. */
async function seed(store: RunbookStore): Promise<void> {
  const dnsTags = { tags: ['dns', 'networking'], alerts: ['CoreDNSDown'] };
  await put(
    store,
    [
      chunk('net/dns.md', 0, 'CoreDNS pods answer SERVFAIL for cluster names', {
        ...dnsTags,
        title: 'DNS failures',
      }),
      chunk('net/dns.md', 1, 'ndots five makes every lookup try the search domains first', {
        ...dnsTags,
        title: 'DNS failures',
      }),
    ],
    [vec(1, 0, 0, 0), vec(0.9, 0.1, 0, 0)],
  );
  await put(
    store,
    [
      chunk('pods/oom.md', 0, 'container killed with exit code 137 after exceeding its memory limit', {
        tags: ['pods', 'memory'],
        alerts: ['KubePodCrashLooping'],
        title: 'OOMKilled',
      }),
    ],
    [vec(0, 1, 0, 0)],
  );
  await put(
    store,
    [
      chunk('tls/certs.md', 0, 'x509 certificate has expired or is not yet valid on the ingress', {
        tags: ['tls'],
        team: 'payments',
        title: 'Certificate expiry',
      }),
    ],
    [vec(0, 0, 1, 0)],
  );
}

export function runbookStoreContract(name: string, factory: StoreFactory): void {
  describe(`RunbookStore contract: ${name}`, () => {
    const opened: RunbookStore[] = [];
    const fresh = async (dimension: number | null = 4) => {
      const store = await factory.fresh();
      opened.push(store);
      await store.open(dimension);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
    });

    it('starts empty', async () => {
      const store = await fresh();
      expect(await store.count()).toBe(0);
      expect(await store.listDocuments()).toEqual([]);
      expect(await store.keywordSearch('dns', 5)).toEqual([]);
      expect(await store.vectorSearch(vec(1, 0, 0, 0), 5)).toEqual([]);
    });

    it('stores documents and returns their chunks in order, with every field', async () => {
      const store = await fresh();
      await seed(store);
      expect(await store.count()).toBe(4);
      const docs = await store.listDocuments();
      expect(docs.map((d) => d.source).sort()).toEqual(['net/dns.md', 'pods/oom.md', 'tls/certs.md']);
      expect(docs.find((d) => d.source === 'net/dns.md')).toEqual({
        source: 'net/dns.md',
        title: 'DNS failures',
        hash: 'hash-net/dns.md',
        embeddingModel: 'test-4d',
        chunkCount: 2,
        ingestedAt: '2026-01-02T03:04:05.000Z',
      });
      const chunks = await store.getChunks('net/dns.md');
      expect(chunks.map((c) => c.id)).toEqual(['net/dns.md#0', 'net/dns.md#1']);
      expect(chunks[1]).toMatchObject({
        source: 'net/dns.md',
        ordinal: 1,
        title: 'DNS failures',
        headingPath: ['DNS failures', 'Section 1'],
        lineStart: 11,
        lineEnd: 19,
        tags: ['dns', 'networking'],
        alerts: ['CoreDNSDown'],
      });
      expect((await store.getChunks('tls/certs.md'))[0]!.team).toBe('payments');
      expect(await store.getChunks('missing.md')).toEqual([]);
    });

    it('finds chunks by keyword, stemmed, best match first', async () => {
      const store = await fresh();
      await seed(store);
      expect(ids(await store.keywordSearch('exit code 137 memory', 5))[0]).toBe('pods/oom.md#0');
      expect(ids(await store.keywordSearch('certificates expiring', 5))[0]).toBe('tls/certs.md#0');
      const hits = await store.keywordSearch('ndots lookup search domains', 5);
      expect(ids(hits)[0]).toBe('net/dns.md#1');
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    });

    it('never fails on query syntax in user text', async () => {
      const store = await fresh();
      await seed(store);
      for (const q of HOSTILE_QUERIES) {
        await expect(store.keywordSearch(q, 5), q).resolves.toBeInstanceOf(Array);
      }
      expect(ids(await store.keywordSearch('x509: certificate "expired"', 5))[0]).toBe('tls/certs.md#0');
    });

    it('finds Chinese text by Chinese words and by mixed Chinese and English questions', async () => {
      const store = await fresh(null);
      const zh = (ordinal: number, heading: string, text: string) =>
        chunk('zh/pod.md', ordinal, text, { title: 'Pod 反复重启', headingPath: ['Pod 反复重启', heading] });
      await put(
        store,
        [
          zh(
            0,
            '查看上一次退出的原因',
            '用 kubectl describe pod 查看容器上一次退出的原因和退出码，OOMKilled 表示内存溢出。',
          ),
          zh(1, '镜像拉取失败', '节点拉取镜像失败时，事件里会出现 ImagePullBackOff 和仓库返回的报错。'),
          zh(2, '证书过期', '集群证书过期以后，kubectl 会报 x509: certificate has expired。'),
        ],
        null,
      );
      await put(
        store,
        [chunk('en/pod.md', 0, 'Read the events of the pod to find why the image pull failed.')],
        null,
      );
      // Written without spaces, as Chinese is: a word in the middle of a clause is found.
      expect(ids(await store.keywordSearch('内存溢出', 5))[0]).toBe('zh/pod.md#0');
      expect(ids(await store.keywordSearch('镜像拉取失败怎么办', 5))[0]).toBe('zh/pod.md#1');
      expect(ids(await store.keywordSearch('证书过期了', 5))[0]).toBe('zh/pod.md#2');
      expect(ids(await store.keywordSearch('pod 一直 OOMKilled 怎么看退出码', 5))[0]).toBe('zh/pod.md#0');
      // Question words alone match nothing; English still finds English.
      expect(await store.keywordSearch('怎么办', 5)).toEqual([]);
      expect(ids(await store.keywordSearch('image pull failed events', 5))[0]).toBe('en/pod.md#0');
    });

    it('finds nearest chunks by vector, scores descending', async () => {
      const store = await fresh();
      await seed(store);
      const hits = await store.vectorSearch(vec(0.95, 0.05, 0, 0), 3);
      expect(ids(hits).slice(0, 2).sort()).toEqual(['net/dns.md#0', 'net/dns.md#1']);
      expect(ids(await store.vectorSearch(vec(0, 0.1, 1, 0), 1))).toEqual(['tls/certs.md#0']);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    });

    it('filters by tags (all of them), alert (any case), team and source, in both searches', async () => {
      const store = await fresh();
      await seed(store);
      const everything = 'coredns servfail ndots exit code memory x509 certificate';
      const both = async (filter: object) => [
        ids(await store.keywordSearch(everything, 10, filter)).sort(),
        ids(await store.vectorSearch(vec(0.5, 0.5, 0.5, 0), 10, filter)).sort(),
      ];
      expect(await both({ tags: ['dns'] })).toEqual([
        ['net/dns.md#0', 'net/dns.md#1'],
        ['net/dns.md#0', 'net/dns.md#1'],
      ]);
      expect(await both({ tags: ['dns', 'memory'] })).toEqual([[], []]);
      expect(await both({ alert: 'kubepodcrashlooping' })).toEqual([['pods/oom.md#0'], ['pods/oom.md#0']]);
      expect(await both({ team: 'payments' })).toEqual([['tls/certs.md#0'], ['tls/certs.md#0']]);
      expect(await both({ sources: ['pods/oom.md', 'tls/certs.md'] })).toEqual([
        ['pods/oom.md#0', 'tls/certs.md#0'],
        ['pods/oom.md#0', 'tls/certs.md#0'],
      ]);
    });

    it('replaces a document as a whole', async () => {
      const store = await fresh();
      await seed(store);
      await put(
        store,
        [
          chunk('net/dns.md', 0, 'kube-proxy conntrack table full drops UDP packets', {
            title: 'DNS failures',
          }),
        ],
        [vec(0, 0, 0, 1)],
        'hash-2',
      );
      expect(await store.count()).toBe(3);
      expect((await store.getChunks('net/dns.md')).map((c) => c.text)).toEqual([
        'kube-proxy conntrack table full drops UDP packets',
      ]);
      expect(ids(await store.keywordSearch('ndots servfail', 5))).toEqual([]);
      expect(ids(await store.keywordSearch('conntrack', 5))).toEqual(['net/dns.md#0']);
      expect(ids(await store.vectorSearch(vec(0, 0, 0, 1), 1))).toEqual(['net/dns.md#0']);
      expect((await store.listDocuments()).find((d) => d.source === 'net/dns.md')?.hash).toBe('hash-2');
    });

    it('keeps the old version when a replacement is refused', async () => {
      const store = await fresh();
      await seed(store);
      const bad = [chunk('pods/oom.md', 0, 'replacement text about eviction')];
      await expect(
        store.putDocument(record('pods/oom.md', bad, 'hash-bad'), bad, [vec(1, 2, 3)]),
      ).rejects.toThrow();
      expect((await store.getChunks('pods/oom.md')).map((c) => c.text)).toEqual([
        'container killed with exit code 137 after exceeding its memory limit',
      ]);
      expect((await store.listDocuments()).find((d) => d.source === 'pods/oom.md')?.hash).toBe(
        'hash-pods/oom.md',
      );
    });

    it('removes a document and everything of it', async () => {
      const store = await fresh();
      await seed(store);
      await store.removeDocument('net/dns.md');
      expect(await store.count()).toBe(2);
      expect((await store.listDocuments()).map((d) => d.source).sort()).toEqual([
        'pods/oom.md',
        'tls/certs.md',
      ]);
      expect(await store.getChunks('net/dns.md')).toEqual([]);
      expect(ids(await store.keywordSearch('coredns ndots', 5))).toEqual([]);
      expect(ids(await store.vectorSearch(vec(1, 0, 0, 0), 5))).not.toContain('net/dns.md#0');
      await store.removeDocument('never-there.md');
    });

    it('keeps keyword-only documents searchable by keyword, with no vectors', async () => {
      const store = await fresh(null);
      await put(store, [chunk('a.md', 0, 'etcd leader elections and fsync latency')], null);
      expect(ids(await store.keywordSearch('etcd fsync', 5))).toEqual(['a.md#0']);
      expect((await store.listDocuments())[0]!.embeddingModel).toBeNull();
    });

    it('survives reopening, and refuses another embedding dimension with a clear error', async () => {
      const store = await fresh(4);
      await seed(store);
      await store.close();
      const again = await factory.reopen(store);
      opened.push(again);
      await again.open(4);
      expect(await again.count()).toBe(4);
      expect(ids(await again.vectorSearch(vec(0, 1, 0, 0), 1))).toEqual(['pods/oom.md#0']);
      await again.close();
      const other = await factory.reopen(store);
      opened.push(other);
      await expect(other.open(8)).rejects.toThrow(/re-?ingest/i);
    });
  });
}
