import { type HammingScanner, hammingScanner } from './hamming.js';

/**
 * Nearest-neighbour search over normalised vectors held as sign bits (one bit a dimension) in
 * memory, with exact cosine rescoring of the best candidates. At 100,000 chunks of 768 dimensions
 * the codes take 9.6 MB and a query scans them in about a millisecond (WebAssembly SIMD, see
 * hamming.ts; about 9 ms in plain JavaScript), where an exact Float32 scan
 * (or sqlite-vec's vec0) takes well over 100 ms on the same machine; see rag/README.md for the
 * figures. Below `candidates` vectors the search is exact.
 */

export function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/** Sign bits, packed 32 to a word. */
export function signCode(v: Float32Array): Uint32Array {
  const code = new Uint32Array(Math.ceil(v.length / 32));
  for (let i = 0; i < v.length; i++) if (v[i]! > 0) code[i >>> 5]! |= 1 << (i & 31);
  return code;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class BinaryIndex {
  private readonly scanner: HammingScanner;

  constructor(
    readonly dimension: number,
    /** Row keys (chunk rowids), ascending, in the order of `codes`. */
    readonly keys: Int32Array,
    /** Sign codes, `ceil(dimension / 32)` words a row; copied, so the caller may drop them. */
    codes: Uint32Array,
    options: { simd?: boolean } = {},
  ) {
    this.scanner = hammingScanner(codes, Math.ceil(dimension / 32), options);
    if (this.scanner.rows !== keys.length) throw new Error('BinaryIndex: one code a key is needed');
  }

  /** Whether scans run in WebAssembly SIMD (else JavaScript). */
  get simd(): boolean {
    return this.scanner.simd;
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * Keys of the `count` rows nearest to `query` by Hamming distance of their sign codes (rows tied
   * at the cut-off are all kept). `allowed`, when given, holds the keys a filter lets through, in
   * ascending order (as `keys` are).
   */
  candidates(query: Float32Array, count: number, allowed?: ArrayLike<number>): number[] {
    const n = this.keys.length;
    const dist = this.scanner.distances(signCode(query));
    const blocked = this.dimension + 1;
    if (allowed) {
      // Both ascending: one merge walk marks the rows the filter lets through.
      let a = 0;
      for (let r = 0; r < n; r++) {
        const key = this.keys[r]!;
        while (a < allowed.length && allowed[a]! < key) a++;
        if (allowed[a] !== key) dist[r] = blocked;
      }
    }
    const histogram = new Uint32Array(this.dimension + 2);
    for (let r = 0; r < n; r++) histogram[dist[r]!]!++;
    let threshold = 0;
    let seen = 0;
    for (; threshold <= this.dimension; threshold++) {
      seen += histogram[threshold]!;
      if (seen >= count) break;
    }
    const out: number[] = [];
    // Filtered-out rows sit above every real distance and never pass.
    const cut = Math.min(threshold, this.dimension);
    for (let r = 0; r < n; r++) if (dist[r]! <= cut) out.push(this.keys[r]!);
    return out;
  }
}
