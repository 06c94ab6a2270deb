/**
 * Hamming distances from one sign code to every stored code: the hot loop of a dense query on the
 * embedded store (100,000 chunks × 768 bits is 9.6 MB to read per query). Where the runtime has
 * WebAssembly SIMD (Node 20 has it) the scan runs in a one-function module using `i8x16.popcnt`;
 * otherwise in JavaScript with a 16-bit popcount table. Both give identical distances (a unit test
 * compares them); `npm run bench -- runbooks` measures the difference.
 */

export interface HammingScanner {
  readonly rows: number;
  readonly simd: boolean;
  /**
   * Distances from `query` (a sign code of the same number of words) to every row, in row order.
   * The array is reused: it is valid until the next call, and the caller may overwrite it.
   */
  distances(query: Uint32Array): Uint16Array;
}

/** Set bits of every 16-bit number (64 KB, stays in cache during a scan). */
const POPCOUNT16 = (() => {
  const t = new Uint8Array(1 << 16);
  for (let i = 1; i < t.length; i++) t[i] = (i & 1) + t[i >>> 1]!;
  return t;
})();

class JsScanner implements HammingScanner {
  readonly simd = false;
  private readonly out: Uint16Array;

  constructor(
    private readonly codes: Uint32Array,
    private readonly words: number,
    readonly rows: number,
  ) {
    this.out = new Uint16Array(rows);
  }

  distances(query: Uint32Array): Uint16Array {
    const { codes, words: w, rows: n, out } = this;
    const bits = POPCOUNT16;
    let o = 0;
    for (let r = 0; r < n; r++) {
      let d = 0;
      for (let j = 0; j < w; j++, o++) {
        const x = codes[o]! ^ query[j]!;
        d += bits[x & 0xffff]! + bits[x >>> 16]!;
      }
      out[r] = d;
    }
    return out;
  }
}

/**
 * The module, assembled here so the repository carries no binary. In text format:
 *
 *   (module
 *     (import "env" "memory" (memory 1))
 *     (func (export "scan") (param $codes i32) (param $rows i32) (param $vecs i32)
 *                           (param $query i32) (param $out i32)
 *       (local $r i32) (local $j i32) (local $q i32) (local $acc v128)
 *       (block (br_if 0 (i32.eqz (local.get $rows)))
 *         (loop $row                                          ;; every row: $vecs × 128 bits
 *           (local.set $acc (v128.const i32x4 0 0 0 0))
 *           (local.set $q (local.get $query))
 *           (local.set $j (i32.const 0))
 *           (loop $vec                                        ;; acc += popcount(code ^ query), 8 × i16
 *             (local.set $acc (i16x8.add (local.get $acc)
 *               (i16x8.extadd_pairwise_i8x16_u (i8x16.popcnt
 *                 (v128.xor (v128.load (local.get $codes)) (v128.load (local.get $q)))))))
 *             (local.set $codes (i32.add (local.get $codes) (i32.const 16)))
 *             (local.set $q (i32.add (local.get $q) (i32.const 16)))
 *             (br_if $vec (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1)))
 *                                   (local.get $vecs))))
 *           (local.set $acc (i32x4.extadd_pairwise_i16x8_u (local.get $acc)))
 *           (i32.store16 (local.get $out)                     ;; the four i32 lanes summed
 *             (i32.add (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
 *                      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
 *           (local.set $out (i32.add (local.get $out) (i32.const 2)))
 *           (br_if $row (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))))
 *
 * An i16 lane gains at most 16 a vector, so codes up to 4,095 × 128 bits cannot overflow it.
 */
function moduleBytes(): Uint8Array {
  const [codes, rows, vecs, query, out, r, j, q, acc] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32const = (n: number) => [0x41, n];
  const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
  const [I32_ADD, I32_LT_U, I32_EQZ, BLOCK, LOOP, BR_IF, END, VOID] = [
    0x6a, 0x49, 0x45, 0x02, 0x03, 0x0d, 0x0b, 0x40,
  ];
  const v128load = [...simd(0x00), 0, 0];
  const v128zero = [...simd(0x0c), ...new Array<number>(16).fill(0)];
  const lane = (n: number) => [...get(acc), ...simd(0x1b), n];
  const body = [
    ...[2, 3, 0x7f, 1, 0x7b], // locals: 3 × i32, then 1 × v128
    ...[BLOCK, VOID, ...get(rows), I32_EQZ, BR_IF, 0],
    ...[LOOP, VOID],
    ...[...v128zero, ...set(acc), ...get(query), ...set(q), ...i32const(0), ...set(j)],
    ...[LOOP, VOID],
    ...[...get(acc), ...get(codes), ...v128load, ...get(q), ...v128load],
    ...[...simd(0x51), ...simd(0x62), ...simd(0x7d), ...simd(0x8e), ...set(acc)], // xor popcnt extadd add
    ...[...get(codes), ...i32const(16), I32_ADD, ...set(codes)],
    ...[...get(q), ...i32const(16), I32_ADD, ...set(q)],
    ...[...get(j), ...i32const(1), I32_ADD, ...tee(j), ...get(vecs), I32_LT_U, BR_IF, 0, END],
    ...[...get(acc), ...simd(0x7f), ...set(acc)], // i32x4.extadd_pairwise_i16x8_u
    ...[...get(out), ...lane(0), ...lane(1), I32_ADD, ...lane(2), ...lane(3), I32_ADD, I32_ADD],
    ...[0x3b, 1, 0], // i32.store16 align=2 offset=0
    ...[...get(out), ...i32const(2), I32_ADD, ...set(out)],
    ...[...get(r), ...i32const(1), I32_ADD, ...tee(r), ...get(rows), I32_LT_U, BR_IF, 0, END],
    ...[END, END],
  ];
  const vec = (items: number[][]) => [items.length, ...items.flat()];
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]])), // (i32 × 5) -> ()
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 1]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('scan'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** The part of the WebAssembly API used here (the Node type definitions in use do not declare it). */
interface Wasm {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
type WasmModule = { readonly wasmModule: unique symbol };
/** Absent when Node runs with --jitless; then scans run in JavaScript. */
const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;

let compiled: WasmModule | null | undefined;
function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

class SimdScanner implements HammingScanner {
  readonly simd = true;
  private readonly scan: (codes: number, rows: number, vecs: number, query: number, out: number) => void;
  private readonly query: Uint32Array;
  private readonly out: Uint16Array;
  private readonly vecs: number;
  private readonly codesAt: number;

  constructor(
    module: WasmModule,
    codes: Uint32Array,
    words: number,
    readonly rows: number,
  ) {
    // Memory: the query, the distances, then the codes, each row padded to whole 128-bit vectors.
    this.vecs = Math.max(1, Math.ceil(words / 4));
    const stride = this.vecs * 4;
    const queryBytes = stride * 4;
    const outBytes = Math.ceil((rows * 2) / 16) * 16;
    this.codesAt = queryBytes + outBytes;
    const bytes = this.codesAt + rows * stride * 4;
    const api = wasm!;
    const memory = new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65_536)) });
    const instance = new api.Instance(module, { env: { memory } });
    this.scan = instance.exports.scan as SimdScanner['scan'];
    this.query = new Uint32Array(memory.buffer, 0, stride);
    this.out = new Uint16Array(memory.buffer, queryBytes, rows);
    const table = new Uint32Array(memory.buffer, this.codesAt, rows * stride);
    if (stride === words) table.set(codes.subarray(0, rows * words));
    else for (let i = 0; i < rows; i++) table.set(codes.subarray(i * words, (i + 1) * words), i * stride);
  }

  distances(query: Uint32Array): Uint16Array {
    this.query.set(query);
    if (this.rows > 0) this.scan(this.codesAt, this.rows, this.vecs, 0, this.query.byteLength);
    return this.out;
  }
}

/**
 * A scanner over `rows` codes of `words` 32-bit words each, stored one after another in `codes`.
 * The SIMD scanner copies the codes into its own memory, so `codes` may be dropped afterwards.
 */
export function hammingScanner(
  codes: Uint32Array,
  words: number,
  options: { simd?: boolean } = {},
): HammingScanner {
  const rows = Math.floor(codes.length / words);
  const module = options.simd === false ? null : simdModule();
  if (module) {
    try {
      return new SimdScanner(module, codes, words, rows);
    } catch {
      // WebAssembly memory could not be had (a huge index, or a capped address space): scan in JS.
    }
  }
  return new JsScanner(codes, words, rows);
}
