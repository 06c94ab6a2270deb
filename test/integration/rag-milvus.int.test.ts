// MilvusStore against a real Milvus: milvus-lite's gRPC server started on loopback for this file.
// Vectors are hand-made (4 dimensions), so no embedding server is involved.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MilvusStore, MilvusStoreError, type MilvusStoreOptions } from '../../rag/store/milvus.js';
import type { Chunk, DocumentRecord } from '../../rag/types.js';
import { milvusForFile } from '../support/milvus.js';

const milvus = milvusForFile();

const open: MilvusStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

let collections = 0;
/** A store on a collection of its own, so tests do not see each other's rows. */
function newStore(opts: Partial<MilvusStoreOptions> = {}): MilvusStore {
  const store = new MilvusStore({
    address: milvus.address,
    collection: `t${++collections}_runbooks`,
    ...opts,
  });
  open.push(store);
  return store;
}

function chunk(source: string, ordinal: number, text: string, extra: Partial<Chunk> = {}): Chunk {
  return {
    id: `${source}#${ordinal}`,
    source,
    ordinal,
    title: `Runbook ${source}`,
    headingPath: [`Runbook ${source}`, `Section ${ordinal}`],
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

function record(
  source: string,
  chunks: Chunk[],
  hash = `hash-of-${source}`,
  model: string | null = 'test:4d',
): DocumentRecord {
  return {
    source,
    title: `Runbook ${source}`,
    hash,
    embeddingModel: model,
    chunkCount: chunks.length,
    ingestedAt: '2026-01-02T03:04:05.000Z',
  };
}

const vec = (...xs: number[]) => Float32Array.from(xs);
const ids = (hits: { chunk: Chunk }[]) => hits.map((h) => h.chunk.id);

async function put(store: MilvusStore, chunks: Chunk[], vectors: Float32Array[] | null, hash?: string) {
  const source = chunks[0]!.source;
  await store.putDocument(record(source, chunks, hash, vectors ? 'test:4d' : null), chunks, vectors);
}

/** A small corpus on distinct topics, each chunk with its own direction in 4-d space. */
async function seed(store: MilvusStore): Promise<void> {
  await put(
    store,
    [
      chunk(
        'pods/crashloop.md',
        0,
        'Container keeps restarting in CrashLoopBackOff; read the previous logs.',
        {
          tags: ['pods', 'restarts'],
          alerts: ['KubePodCrashLooping'],
          services: ['checkout'],
          namespaces: ['payments'],
        },
      ),
      chunk('pods/crashloop.md', 1, 'Out of memory: the container was OOMKilled, raise the memory limit.', {
        tags: ['pods', 'memory'],
        alerts: ['KubePodCrashLooping'],
      }),
    ],
    [vec(1, 0, 0, 0), vec(0.7, 0.7, 0, 0)],
  );
  await put(
    store,
    [
      chunk('network/dns.md', 0, 'CoreDNS pods failing: name resolution times out for every service.', {
        tags: ['network', 'dns'],
        alerts: ['CoreDNSDown'],
      }),
    ],
    [vec(0, 0, 1, 0)],
  );
  await put(
    store,
    [
      chunk('tls/certs.md', 0, 'Renew the expiring secret with cert-manager before clients reject it.', {
        headingPath: ['TLS', 'Certificates', 'Expiry'],
        tags: ['tls'],
        alerts: ['CertificateExpiringSoon'],
      }),
    ],
    [vec(0, 0, 0, 1)],
  );
}

describe('MilvusStore on milvus-lite', () => {
  it('stores, lists, reads back and removes documents', async () => {
    const store = newStore();
    await store.open(4);
    const a = [
      chunk('a.md', 0, 'first walrus section', {
        tags: ['t1'],
        alerts: ['KubeNodeNotReady'],
        services: ['api'],
        namespaces: ['prod'],
        headingPath: ['A', 'Checks › nodes', 'quote " and \\ slash'],
      }),
      chunk('a.md', 1, 'second walrus section, ünïcödé ✓'),
    ];
    const b = [chunk('b.md', 0, 'only section')];
    await store.putDocument(record('a.md', a), a, [vec(1, 0, 0, 0), vec(0, 1, 0, 0)]);
    await store.putDocument(record('b.md', b), b, [vec(0, 0, 1, 0)]);

    expect(await store.listDocuments()).toEqual([record('a.md', a), record('b.md', b)]);
    expect(await store.getChunks('a.md')).toEqual(a);
    expect(await store.count()).toBe(3);

    await store.removeDocument('a.md');
    expect(await store.listDocuments()).toEqual([record('b.md', b)]);
    expect(await store.getChunks('a.md')).toEqual([]);
    expect(await store.count()).toBe(1);
    expect(await store.keywordSearch('walrus', 5)).toEqual([]);
    expect(ids(await store.keywordSearch('section', 5))).toEqual(['b.md#0']);
  });

  it('replaces all chunks of a document on a second put', async () => {
    const store = newStore();
    await store.open(4);
    const v1 = [0, 1, 2].map((i) => chunk('r.md', i, `version one zebra paragraph ${i}`));
    await put(store, v1, [vec(1, 0, 0, 0), vec(1, 0, 0, 0), vec(1, 0, 0, 0)], 'h1');
    const v2 = [chunk('r.md', 0, 'version two giraffe, shorter')];
    await put(store, v2, [vec(0, 1, 0, 0)], 'h2');

    expect(await store.getChunks('r.md')).toEqual(v2);
    expect(await store.count()).toBe(1);
    expect(await store.listDocuments()).toMatchObject([{ source: 'r.md', hash: 'h2', chunkCount: 1 }]);
    expect(await store.keywordSearch('zebra', 5)).toEqual([]);
    expect(ids(await store.keywordSearch('giraffe', 5))).toEqual(['r.md#0']);
    // The old vectors are gone too: the nearest chunk to the old direction is the new one.
    expect((await store.vectorSearch(vec(1, 0, 0, 0), 5)).map((h) => h.chunk.text)).toEqual([v2[0]!.text]);
  });

  it('flushes written rows into sealed segments that later writes still replace and remove', async () => {
    const store = newStore();
    await store.open(4);
    await seed(store);
    await store.flush();
    expect(await store.count()).toBe(4);
    expect(ids(await store.keywordSearch('CoreDNS resolution', 5))[0]).toBe('network/dns.md#0');
    expect(ids(await store.vectorSearch(vec(0, 0, 0, 1), 1))).toEqual(['tls/certs.md#0']);

    // Rows now in sealed segments: a replacement and a removal must still reach them.
    const v2 = [chunk('pods/crashloop.md', 0, 'rewritten: restarts explained by a failing probe')];
    await put(store, v2, [vec(0, 1, 0, 0)], 'h2');
    await store.removeDocument('network/dns.md');
    await store.flush();
    expect(await store.count()).toBe(2);
    expect(await store.getChunks('pods/crashloop.md')).toEqual(v2);
    expect(await store.keywordSearch('CoreDNS resolution', 5)).toEqual([]);
    expect(ids(await store.vectorSearch(vec(0.7, 0.7, 0, 0), 5))).toEqual([
      'pods/crashloop.md#0',
      'tls/certs.md#0',
    ]);
  });

  it('ranks the chunk that answers a keyword query first, over text, title and heading path', async () => {
    const store = newStore();
    await store.open(4);
    await seed(store);

    const dns = await store.keywordSearch('coredns name resolution', 3);
    expect(dns[0]?.chunk.id).toBe('network/dns.md#0');
    expect(dns[0]?.chunk).toMatchObject({
      source: 'network/dns.md',
      headingPath: ['Runbook network/dns.md', 'Section 0'],
    });
    for (const [i, hit] of dns.entries()) {
      expect(hit.score).toBeGreaterThan(0);
      if (i > 0) expect(hit.score).toBeLessThanOrEqual(dns[i - 1]!.score);
    }
    expect((await store.keywordSearch('OOMKilled memory limit', 3))[0]?.chunk.id).toBe('pods/crashloop.md#1');
    // "certificates" appears only in that chunk's heading path.
    expect(ids(await store.keywordSearch('certificates', 3))).toEqual(['tls/certs.md#0']);
    expect(await store.keywordSearch('   ', 3)).toEqual([]);
    expect(ids(await store.keywordSearch('CrashLoopBackOff', 1))).toEqual(['pods/crashloop.md#0']);
  });

  it('ranks by cosine similarity in vector search', async () => {
    const store = newStore();
    await store.open(4);
    await seed(store);

    const hits = await store.vectorSearch(vec(0.1, 0, 0.9, 0), 4);
    expect(hits[0]?.chunk.id).toBe('network/dns.md#0');
    expect(hits[0]?.score).toBeGreaterThan(0.99);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((x, y) => y - x));
    expect(ids(await store.vectorSearch(vec(0.6, 0.8, 0, 0), 2))).toEqual([
      'pods/crashloop.md#1',
      'pods/crashloop.md#0',
    ]);
    await expect(store.vectorSearch(vec(1, 0, 0), 2)).rejects.toMatchObject({ code: 'dimension_mismatch' });
  });

  it('filters by tags and alert name (any case), team and sources in both searches', async () => {
    const store = newStore();
    await store.open(4);
    await seed(store);
    const anything = vec(0.5, 0.5, 0.5, 0.5);

    expect(ids(await store.keywordSearch('container', 5, { tags: ['pods', 'memory'] }))).toEqual([
      'pods/crashloop.md#1',
    ]);
    expect(ids(await store.vectorSearch(anything, 5, { tags: ['pods', 'memory'] }))).toEqual([
      'pods/crashloop.md#1',
    ]);
    expect(await store.keywordSearch('container', 5, { tags: ['pods', 'nope'] })).toEqual([]);
    expect(ids(await store.vectorSearch(anything, 5, { tags: ['PODS', 'Memory'] }))).toEqual([
      'pods/crashloop.md#1',
    ]);

    const byAlert = await store.vectorSearch(anything, 5, { alert: 'kubepodcrashlooping' });
    expect(ids(byAlert).sort()).toEqual(['pods/crashloop.md#0', 'pods/crashloop.md#1']);
    expect(byAlert[0]?.chunk.alerts).toEqual(['KubePodCrashLooping']);
    expect(ids(await store.keywordSearch('pods', 5, { alert: 'COREDNSDOWN' }))).toEqual(['network/dns.md#0']);

    expect(
      ids(await store.vectorSearch(anything, 5, { sources: ['tls/certs.md', 'network/dns.md'] })).sort(),
    ).toEqual(['network/dns.md#0', 'tls/certs.md#0']);
    expect(await store.vectorSearch(anything, 5, { sources: [] })).toEqual([]);
    // Chunks stored without a team match no team filter.
    expect(await store.vectorSearch(anything, 5, { team: 'sre' })).toEqual([]);
  });

  it('keeps quotes and backslashes in filter values as data, never as expression syntax', async () => {
    const store = newStore();
    await store.open(4);
    await seed(store);
    const odd = `we"ird\\dir/it's "quoted".md`;
    const oddChunks = [
      chunk(odd, 0, 'strange filename content', { tags: [`t"ag\\`], alerts: [`Al"ert\\n`] }),
    ];
    await put(store, oddChunks, [vec(1, 1, 1, 1)]);
    const anything = vec(1, 1, 1, 1);

    // Each would match every row if it were spliced into the expression unescaped.
    for (const evil of [
      'x" or source != "',
      "x' or source != '",
      'x\\" or source != \\"',
      '") or true or ("',
    ]) {
      expect(await store.vectorSearch(anything, 10, { sources: [evil] })).toEqual([]);
      expect(await store.keywordSearch('pods', 10, { tags: [evil] })).toEqual([]);
      expect(await store.vectorSearch(anything, 10, { alert: evil })).toEqual([]);
      expect(await store.getChunks(evil)).toEqual([]);
    }
    expect(ids(await store.vectorSearch(anything, 10, { sources: [odd] }))).toEqual([`${odd}#0`]);
    expect(ids(await store.vectorSearch(anything, 10, { tags: [`t"ag\\`] }))).toEqual([`${odd}#0`]);
    expect(ids(await store.vectorSearch(anything, 10, { alert: `al"ERT\\n` }))).toEqual([`${odd}#0`]);
    expect(await store.getChunks(odd)).toEqual(oddChunks);
    expect(ids(await store.keywordSearch('strange "quoted" \\ query', 3))).toEqual([`${odd}#0`]);

    await store.removeDocument(odd);
    expect(await store.getChunks(odd)).toEqual([]);
    expect(await store.count()).toBe(4);
  });

  it('refuses a different embedding dimension with a message that says to re-ingest', async () => {
    const other = newStore({ collection: 't_dim_runbooks' });
    await other.open(4);
    await seed(other);
    const again = newStore({ collection: 't_dim_runbooks' });
    const err = await again.open(8).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MilvusStoreError);
    expect(err).toMatchObject({ code: 'dimension_mismatch' });
    expect((err as Error).message).toMatch(/4-dimensional.*8 dimensions.*Re-ingest/s);
    expect((err as Error).message).toContain(milvus.address);

    // Without an embedding model the same store still serves keyword search, but takes no
    // vector-less writes that would leave chunks out of vector search.
    const keywordOnly = newStore({ collection: 't_dim_runbooks' });
    await keywordOnly.open(null);
    expect(ids(await keywordOnly.keywordSearch('coredns', 1))).toEqual(['network/dns.md#0']);
    const c = [chunk('n.md', 0, 'no vectors')];
    await expect(keywordOnly.putDocument(record('n.md', c, 'h', null), c, null)).rejects.toMatchObject({
      code: 'dimension_mismatch',
    });
  });

  it('works keyword-only, and refuses vectors later unless the store is still empty', async () => {
    const store = newStore({ collection: 't_kw_runbooks' });
    await store.open(null);
    const c = [chunk('k.md', 0, 'keyword only chunk about kubelet eviction')];
    await put(store, c, null);
    expect(ids(await store.keywordSearch('eviction', 3))).toEqual(['k.md#0']);
    expect(await store.vectorSearch(vec(1, 0, 0, 0), 3)).toEqual([]);
    expect(await store.listDocuments()).toMatchObject([{ source: 'k.md', embeddingModel: null }]);

    await expect(newStore({ collection: 't_kw_runbooks' }).open(4)).rejects.toThrow(
      /keyword-only.*Re-ingest/s,
    );

    await store.removeDocument('k.md');
    const upgraded = newStore({ collection: 't_kw_runbooks' });
    await upgraded.open(4);
    await put(upgraded, c, [vec(0, 1, 0, 0)]);
    expect(ids(await upgraded.vectorSearch(vec(0, 1, 0, 0), 1))).toEqual(['k.md#0']);
  });

  it('keeps each team in its own partition', async () => {
    const a = newStore({ collection: 't_team_runbooks', team: 'Payments SRE' });
    const b = newStore({ collection: 't_team_runbooks', team: 'platform' });
    await a.open(4);
    await b.open(4);
    const ca = [chunk('shared.md', 0, 'payments database failover steps')];
    const cb = [chunk('shared.md', 0, 'platform ingress controller rollout'), chunk('shared.md', 1, 'more')];
    await put(a, ca, [vec(1, 0, 0, 0)]);
    await put(b, cb, [vec(1, 0, 0, 0), vec(0, 1, 0, 0)]);

    expect(await a.getChunks('shared.md')).toEqual(ca.map((c) => ({ ...c, team: 'Payments SRE' })));
    expect((await b.getChunks('shared.md')).map((c) => c.text)).toEqual(cb.map((c) => c.text));
    expect([await a.count(), await b.count()]).toEqual([1, 2]);
    expect(await a.keywordSearch('ingress', 5)).toEqual([]);
    expect(ids(await b.keywordSearch('ingress', 5))).toEqual(['shared.md#0']);
    expect(ids(await a.vectorSearch(vec(1, 0, 0, 0), 5, { team: 'Payments SRE' }))).toEqual(['shared.md#0']);
    expect(await a.vectorSearch(vec(1, 0, 0, 0), 5, { team: 'platform' })).toEqual([]);

    await a.removeDocument('shared.md');
    expect(await a.listDocuments()).toEqual([]);
    expect(await b.listDocuments()).toMatchObject([{ source: 'shared.md', chunkCount: 2 }]);
  });

  it('rejects vectors that do not fit the chunks', async () => {
    const store = newStore();
    await store.open(4);
    const c = [chunk('v.md', 0, 'x'), chunk('v.md', 1, 'y')];
    await expect(store.putDocument(record('v.md', c), c, [vec(1, 0, 0, 0)])).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(store.putDocument(record('v.md', c), c, [vec(1, 0, 0, 0), vec(1, 0)])).rejects.toThrow(
      /2 dimensions/,
    );
    await expect(store.putDocument(record('w.md', c), c, [vec(1, 0, 0, 0), vec(0, 1, 0, 0)])).rejects.toThrow(
      /belongs to v\.md/,
    );
    expect(await store.count()).toBe(0);
  });
});

describe('MilvusStore without a server', () => {
  /** A TCP port that accepts connections and never answers: a hung server, not a refused one. */
  async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return {
      port: (srv.address() as net.AddressInfo).port,
      close: () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          srv.close(() => resolve());
        }),
    };
  }

  async function closedPort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise((resolve) => srv.close(resolve));
    return port;
  }

  async function expectUnavailable(address: string, timeoutMs: number): Promise<void> {
    const store = new MilvusStore({ address, timeoutMs });
    const t0 = Date.now();
    const err = await store.open(4).catch((e: unknown) => e);
    const elapsed = Date.now() - t0;
    await store.close();
    expect(err).toBeInstanceOf(MilvusStoreError);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toContain(`Milvus at ${address}`);
    expect(elapsed).toBeLessThan(timeoutMs + 1_500);
  }

  it('fails fast with the address when nothing listens', async () => {
    await expectUnavailable(`127.0.0.1:${await closedPort()}`, 3_000);
  });

  it('fails within the timeout when the server never answers', async () => {
    const silent = await silentServer();
    try {
      await expectUnavailable(`127.0.0.1:${silent.port}`, 2_000);
    } finally {
      await silent.close();
    }
  });
});
