import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVERY_CHUNK_TOKEN, keywordPlan } from '../../rag/keyword.js';
import { BinaryIndex, dot, normalise, signCode } from '../../rag/store/binary-index.js';
import { EmbeddedStore } from '../../rag/store/embedded.js';
import { hammingScanner } from '../../rag/store/hamming.js';
import type { Chunk, RunbookStore } from '../../rag/types.js';
import { runbookStoreContract } from '../integration/rag-store-contract.js';

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v >>>= 1) n += v & 1;
  return n;
}

function rowBits(codes: Uint32Array, row: number, words: number): number {
  let n = 0;
  for (let j = 0; j < words; j++) n += popcount(codes[row * words + j]!);
  return n;
}

const paths = new WeakMap<RunbookStore, string>();
runbookStoreContract('embedded (SQLite)', {
  async fresh() {
    const path = join(mkdtempSync(join(tmpdir(), 'kubemate-rag-')), 'runbooks.db');
    const store = new EmbeddedStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const again = new EmbeddedStore({ path: paths.get(store)! });
    paths.set(again, paths.get(store)!);
    return again;
  },
});

function chunk(source: string, ordinal: number, text: string): Chunk {
  return {
    id: `${source}#${ordinal}`,
    source,
    ordinal,
    title: source,
    headingPath: [source],
    lineStart: 1,
    lineEnd: 1,
    text,
    tags: [],
    alerts: [],
    services: [],
    namespaces: [],
  };
}

function seeded(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('embedded store', () => {
  it('sees writes made through another connection (another process) at the next search', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'kubemate-rag-')), 'runbooks.db');
    const reader = new EmbeddedStore({ path });
    const writer = new EmbeddedStore({ path });
    await reader.open(2);
    await writer.open(2);
    const doc = (source: string) => ({
      source,
      title: source,
      hash: 'h',
      embeddingModel: 'm',
      chunkCount: 1,
      ingestedAt: 'now',
    });
    await writer.putDocument(doc('a.md'), [chunk('a.md', 0, 'alpha')], [Float32Array.from([1, 0])]);
    expect((await reader.vectorSearch(Float32Array.from([1, 0]), 5)).map((h) => h.chunk.id)).toEqual([
      'a.md#0',
    ]);
    await writer.putDocument(doc('b.md'), [chunk('b.md', 0, 'beta')], [Float32Array.from([0, 1])]);
    expect((await reader.vectorSearch(Float32Array.from([0, 1]), 1)).map((h) => h.chunk.id)).toEqual([
      'b.md#0',
    ]);
    await writer.close();
    await reader.close();
  });

  it('finds the exact nearest neighbours on clustered 768-dimension vectors (sign codes, then exact rescoring)', () => {
    const rnd = seeded(7);
    const dim = 768;
    const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, rnd));
    const vectors = Array.from({ length: 3000 }, (_, i) =>
      normalise(Float32Array.from(centres[i % centres.length]!, (x) => x + 0.6 * rnd())),
    );
    const codes = new Uint32Array(vectors.length * (dim / 32));
    for (const [i, v] of vectors.entries()) codes.set(signCode(v), i * (dim / 32));
    const index = new BinaryIndex(dim, Int32Array.from(vectors.keys()), codes);
    let found = 0;
    for (let q = 0; q < 20; q++) {
      const query = normalise(Float32Array.from(centres[q]!, (x) => x + 0.6 * rnd()));
      const exact = vectors
        .map((v, i) => [i, dot(v, query)] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([i]) => i);
      const candidates = new Set(index.candidates(query, 500));
      found += exact.filter((i) => candidates.has(i)).length;
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.95);
  });

  it('scans in WebAssembly SIMD here, with exactly the distances of the JavaScript scan', () => {
    const rnd = seeded(11);
    const word = () => Math.floor(rnd() * 2 ** 32) >>> 0;
    // 24 words is 768 dimensions; 7 and 1 are not whole 128-bit vectors, so rows are padded.
    for (const [words, rows] of [
      [24, 500],
      [12, 33],
      [7, 50],
      [1, 9],
      [40, 3],
      [24, 0],
    ] as const) {
      const codes = Uint32Array.from({ length: rows * words }, word);
      const query = Uint32Array.from({ length: words }, word);
      const simd = hammingScanner(codes, words);
      const js = hammingScanner(codes, words, { simd: false });
      expect([simd.simd, js.simd]).toEqual([true, false]);
      const expected = Array.from({ length: rows }, (_, r) => {
        let d = 0;
        for (let j = 0; j < words; j++) d += popcount(codes[r * words + j]! ^ query[j]!);
        return d;
      });
      expect(Array.from(js.distances(query))).toEqual(expected);
      expect(Array.from(simd.distances(query))).toEqual(expected);
      // The all-ones query: every distance is the number of zero bits in the row.
      const ones = new Uint32Array(words).fill(0xffffffff);
      expect(Array.from(simd.distances(ones))).toEqual(
        expected.map((_, r) => 32 * words - rowBits(codes, r, words)),
      );
    }
  });

  it('gives the same candidates with and without SIMD', () => {
    const rnd = seeded(5);
    const dim = 384;
    const keys = Int32Array.from({ length: 2000 }, (_, i) => i + 1);
    const codes = new Uint32Array(keys.length * (dim / 32));
    for (let i = 0; i < keys.length; i++)
      codes.set(signCode(Float32Array.from({ length: dim }, rnd)), i * (dim / 32));
    const fast = new BinaryIndex(dim, keys, codes);
    const slow = new BinaryIndex(dim, keys, codes, { simd: false });
    expect([fast.simd, slow.simd]).toEqual([true, false]);
    for (let q = 0; q < 5; q++) {
      const query = Float32Array.from({ length: dim }, rnd);
      expect(fast.candidates(query, 40)).toEqual(slow.candidates(query, 40));
      const allowed = Array.from(keys).filter((k) => k % 7 === q);
      expect(fast.candidates(query, 10, allowed)).toEqual(slow.candidates(query, 10, allowed));
    }
  });

  it('keeps the filter while scanning: only allowed rows become candidates', () => {
    const rnd = seeded(3);
    const dim = 64;
    const keys = Int32Array.from({ length: 1000 }, (_, i) => i * 2 + 1);
    const codes = new Uint32Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) codes.set(signCode(Float32Array.from({ length: dim }, rnd)), i * 2);
    const index = new BinaryIndex(dim, keys, codes);
    const allowed = Array.from(keys).filter((_, i) => i % 3 === 0);
    const found = index.candidates(Float32Array.from({ length: dim }, rnd), 20, allowed);
    expect(found.length).toBeGreaterThanOrEqual(20);
    expect(found.every((k) => allowed.includes(k))).toBe(true);
    expect(index.candidates(Float32Array.from({ length: dim }, rnd), 50, [keys[5]!, keys[9]!])).toEqual([
      keys[5],
      keys[9],
    ]);
  });
});

describe('keyword plans at scale', () => {
  const stats = (total: number, df: Record<string, number>) => ({
    total,
    frequency: (t: string) => df[t] ?? 0,
  });

  it('ORs every term on small indexes, or when the terms are rare enough', () => {
    expect(keywordPlan('pod memory limit', stats(300, {}))).toEqual({
      primary: '"pod" OR "memory" OR "limit"',
    });
    expect(keywordPlan('ledger fsync', stats(100_000, { ledger: 900, fsync: 1200 }))).toEqual({
      primary: '"ledger" OR "fsync"',
    });
  });

  it('lets rare terms select the chunks and common terms only score them', () => {
    expect(
      keywordPlan('pod pending ledger', stats(100_000, { pod: 30_000, pending: 4_000, ledger: 900 })),
    ).toEqual({
      primary: `("ledger" OR "pending") AND ("pod" OR "${EVERY_CHUNK_TOKEN}")`,
    });
  });

  it('tries chunks holding every term first when even the rarest term is common', () => {
    expect(keywordPlan('pods node', stats(100_000, { pods: 30_000, node: 20_000 }))).toEqual({
      primary: '"node" AND "pods"',
      fallback: `("node") AND ("pods" OR "${EVERY_CHUNK_TOKEN}")`,
    });
    expect(keywordPlan('NOT *', stats(100_000, {}))).toBeNull();
  });
});
