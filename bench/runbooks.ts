/**
 * Runbook knowledge base: ingestion of 5,000 generated Markdown runbooks (keyword-only, files per
 * second without embedding time), then query p50/p99 at 100,000 chunks with 768-dimension vectors
 * for keyword, dense and hybrid retrieval on the embedded store, and on Milvus when one is given
 * (KUBEMATE_BENCH_MILVUS=host:port) or milvus-lite can be started (test/env/milvus.ts).
 * `npm run bench -- runbooks`; BENCH_RUNBOOK_FILES and BENCH_RUNBOOK_CHUNKS scale it down, and
 * BENCH_RUNBOOK_PARTS (a comma list of ingest, embedded, milvus) runs only some parts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../rag/embeddings.js';
import { ingestFolder } from '../rag/ingest.js';
import { HybridSearcher } from '../rag/retrieval.js';
import { EmbeddedStore } from '../rag/store/embedded.js';
import type { Chunk, RunbookStore } from '../rag/types.js';
import { percentile } from './stats.js';

const FILES = Number(process.env.BENCH_RUNBOOK_FILES ?? 5_000);
const CHUNKS = Number(process.env.BENCH_RUNBOOK_CHUNKS ?? 100_000);
const DIMENSION = 768;
const TOPICS = 256;
const QUERIES = Number(process.env.BENCH_RUNBOOK_QUERIES ?? 200);
const TARGET_MS = 50;
const PARTS = new Set(
  (process.env.BENCH_RUNBOOK_PARTS ?? 'ingest,embedded,milvus').split(',').map((p) => p.trim()),
);
if (process.env.BENCH_RUNBOOK_MILVUS === '0') PARTS.delete('milvus');

/** A small deterministic PRNG, so every run measures the same corpus. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const SYSTEMS =
  'payments ledger checkout gateway settlement fraud-scoring card-auth reporting kyc notifications'.split(
    ' ',
  );
const OBJECTS =
  'pod deployment statefulset node ingress service certificate volume job cronjob configmap secret'.split(
    ' ',
  );
const ALERTS =
  'KubePodCrashLooping KubePodNotReady KubeNodeNotReady KubeJobFailed CPUThrottlingHigh TargetDown'.split(
    ' ',
  );
const STOP =
  'the a of to and in is it for on with that when then this be are as by or if from its not at'.split(' ');
const DOMAIN =
  `pod pods node nodes container containers deployment replica replicas namespace kubectl memory cpu limit
  limits request requests restart restarts crash crashloopbackoff oomkilled probe readiness liveness startup
  image registry pull secret secrets configmap volume volumes claim mount disk pressure eviction evicted taint
  toleration affinity scheduler pending unschedulable quota service endpoints ingress gateway route dns
  coredns lookup resolver upstream timeout latency error errors rate slo budget burn alert alerts page
  silence inhibit alertmanager prometheus metric metrics query dashboard log logs trace traces span kubelet
  containerd runtime cgroup kernel network cni mtu packet drop conntrack certificate certificates x509 tls
  expired renew issuer cert-manager webhook admission apiserver etcd leader fsync compaction defrag backup
  restore rollout rollback canary weight traffic hpa autoscaler scale scaling cronjob job backoff retry
  deadline storage csi attach provision snapshot statefulset daemonset drain cordon upgrade patch release
  version helm chart values manifest label selector annotation owner finalizer garbage heap jvm gc thread
  connection pool database postgres redis kafka queue consumer lag partition broker throughput saturation
  utilisation headroom capacity overcommit throttling ephemeral inode filesystem journal`
    .split(/\s+/)
    .filter(Boolean);

/** Pseudo-words from syllables: the long tail of rare terms that real prose has. */
function pseudoWords(n: number): string[] {
  const syllables =
    'ka lo mi ren tor va shi pel dun gro bix fen ul tam sor eck ri no zu wal pra mek tis od'.split(' ');
  const rnd = prng(99);
  const out = new Set<string>();
  while (out.size < n) {
    const k = 2 + Math.floor(rnd() * 3);
    out.add(Array.from({ length: k }, () => syllables[Math.floor(rnd() * syllables.length)]).join(''));
  }
  return [...out];
}

/** Words by rank: function words first, then operations terms, then the long tail. */
const VOCABULARY = [...STOP, ...DOMAIN, ...pseudoWords(8000)];
/** Cumulative Zipf (s = 1.05) probabilities over VOCABULARY: text statistics like natural language. */
const ZIPF = (() => {
  const w = VOCABULARY.map((_, r) => 1 / (r + 1) ** 1.05);
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((x) => {
    acc += x / total;
    return acc;
  });
})();

function word(rnd: () => number): string {
  const x = rnd();
  let lo = 0;
  let hi = ZIPF.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ZIPF[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo]!;
}

function sentence(rnd: () => number): string {
  return `${Array.from({ length: 8 + Math.floor(rnd() * 12) }, () => word(rnd)).join(' ')}.`;
}

function paragraph(rnd: () => number, sentences: number): string {
  return Array.from({ length: sentences }, () => sentence(rnd)).join(' ');
}

/** A search as a person types it: three to six content words. */
function queryText(rnd: () => number): string {
  const words: string[] = [];
  const want = 3 + Math.floor(rnd() * 4);
  while (words.length < want) {
    const w = word(rnd);
    if (!STOP.includes(w) && !words.includes(w)) words.push(w);
  }
  return words.join(' ');
}

/** A runbook-like Markdown file of about 1–3 KB: front matter, title, symptoms, checks, causes, fixes. */
export function generateRunbook(i: number): string {
  const rnd = prng(i + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const system = pick(SYSTEMS);
  const heading = () => Array.from({ length: 3 + Math.floor(rnd() * 3) }, () => word(rnd)).join(' ');
  const title = `${system} ${pick(OBJECTS)}: ${heading()} (${i})`;
  const subsections = (n: number) =>
    Array.from(
      { length: n },
      () => `### ${heading()}\n\n${paragraph(rnd, 2 + Math.floor(rnd() * 2))}\n`,
    ).join('\n');
  const code =
    rnd() < 0.5
      ? `\n\`\`\`sh\nkubectl -n ${system} get ${pick(OBJECTS)}s -o wide\nkubectl -n ${system} describe ${pick(OBJECTS)} ${system}-0\n\`\`\`\n`
      : '';
  return [
    '---',
    `title: "${title}"`,
    `tags: [${system}, ${pick(OBJECTS)}]`,
    `alerts: [${pick(ALERTS)}]`,
    '---',
    `# ${title}`,
    '',
    paragraph(rnd, 3),
    '',
    '## Symptoms',
    '',
    ...Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => `- ${sentence(rnd)}`),
    '',
    '## Checks',
    '',
    subsections(1 + Math.floor(rnd() * 2)),
    code,
    '## Causes',
    '',
    subsections(1 + Math.floor(rnd() * 2)),
    '## Fixes',
    '',
    subsections(1 + Math.floor(rnd() * 2)),
  ].join('\n');
}

function normalised(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** Random vectors around TOPICS random centres, as real embeddings cluster by subject. */
function clusteredVectors(seed: number) {
  const rnd = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centres = Array.from({ length: TOPICS }, () =>
    normalised(Float32Array.from({ length: DIMENSION }, gauss)),
  );
  const near = (topic: number, spread: number) => {
    const c = centres[topic % TOPICS]!;
    const v = new Float32Array(DIMENSION);
    for (let i = 0; i < DIMENSION; i++) v[i] = c[i]! + (spread * gauss()) / Math.sqrt(DIMENSION);
    return normalised(v);
  };
  return { near, rnd };
}

interface Timing {
  p50: number;
  p99: number;
}

function timing(samples: number[]): Timing {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Wall-clock figures, and the process's own CPU time per query (what an idle machine would see). */
function row(label: string, wall: Timing, cpu: Timing): string {
  const ms = (x: number) => `${x.toFixed(1).padStart(6)} ms`;
  return `  ${label.padEnd(8)} wall p50 ${ms(wall.p50)} p99 ${ms(wall.p99)} (p99 ${(wall.p99 / TARGET_MS).toFixed(2)}× the ${TARGET_MS} ms target)   CPU p50 ${ms(cpu.p50)} p99 ${ms(cpu.p99)}`;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function benchIngest(): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'kubemate-bench-runbooks-'));
  const data = mkdtempSync(join(tmpdir(), 'kubemate-bench-store-'));
  try {
    let bytes = 0;
    for (let i = 0; i < FILES; i++) {
      const dir = join(root, `team-${i % 20}`);
      if (i < 20) mkdirSync(dir, { recursive: true });
      const text = generateRunbook(i);
      bytes += text.length;
      writeFileSync(join(dir, `runbook-${i}.md`), text);
    }
    const store = new EmbeddedStore({ path: join(data, 'runbooks.db') });
    await store.open(null);
    const first = await ingestFolder({ store, embedder: null, root, prefix: 'bench' });
    const again = await ingestFolder({ store, embedder: null, root, prefix: 'bench' });
    await store.close();
    const perSecond = first.files.seen / (first.ms.other / 1000);
    return [
      `runbook ingestion: ${FILES} generated Markdown files (${(bytes / FILES / 1024).toFixed(1)} KB average), keyword-only, embedded store`,
      `  first ingest   ${first.files.added} files, ${first.chunks} chunks in ${(first.ms.other / 1000).toFixed(1)} s excluding embedding: ${perSecond.toFixed(0)} files/s`,
      `  re-ingest      ${again.files.unchanged} unchanged files skipped by hash in ${(again.ms.total / 1000).toFixed(2)} s`,
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

/** Fills a store with CHUNKS chunks (vectors inserted directly), and returns query workloads. */
async function fill(store: RunbookStore, label: string, perDoc: number): Promise<number> {
  const { near, rnd } = clusteredVectors(42);
  const started = performance.now();
  const docs = Math.ceil(CHUNKS / perDoc);
  for (let d = 0; d < docs; d++) {
    const source = `bench/team-${d % 20}/runbook-${d}.md`;
    const title = `${SYSTEMS[d % SYSTEMS.length]} ${OBJECTS[d % OBJECTS.length]}: ${sentence(rnd).slice(0, 40)}`;
    const chunks: Chunk[] = [];
    const vectors: Float32Array[] = [];
    for (let k = 0; k < perDoc; k++) {
      const topic = Math.floor(rnd() * TOPICS);
      chunks.push({
        id: `${source}#${k}`,
        source,
        ordinal: k,
        title,
        headingPath: [title, ['Symptoms', 'Checks', 'Causes', 'Fixes'][k % 4]!, `Step ${k}`],
        lineStart: k * 8 + 1,
        lineEnd: k * 8 + 7,
        text: paragraph(rnd, 3),
        tags: [SYSTEMS[d % SYSTEMS.length]!],
        alerts: [ALERTS[d % ALERTS.length]!],
        services: [],
        namespaces: [],
      });
      vectors.push(near(topic, 1.2));
    }
    await store.putDocument(
      {
        source,
        title,
        hash: `h${d}`,
        embeddingModel: 'bench-768',
        chunkCount: chunks.length,
        ingestedAt: new Date().toISOString(),
      },
      chunks,
      vectors,
    );
    if (((d + 1) * perDoc) % 10_000 === 0) {
      // Seal what is written every 10,000 chunks, as a bulk load does: milvus-lite evaluates every
      // delete (each document replacement has one) against all unsealed rows in Python, so an
      // unsealed collection makes the load quadratic. The embedded store has nothing to flush.
      await store.flush?.();
      process.stderr.write(`  ${label}: ${(d + 1) * perDoc} chunks\n`);
    }
  }
  await store.flush?.();
  return performance.now() - started;
}

/**
 * `perDoc` chunks a document: 10 on the embedded store; 100 on Milvus, where every document
 * replacement is several round trips (upsert, stale-chunk delete, record) and milvus-lite writes one
 * at a time, so 10,000 small documents would take most of an hour to load.
 */
async function benchQueries(label: string, store: RunbookStore, perDoc: number): Promise<string[]> {
  const fillMs = await fill(store, label, perDoc);
  const { near, rnd } = clusteredVectors(7);
  const queries = Array.from({ length: QUERIES }, () => ({
    text: queryText(rnd),
    vector: near(Math.floor(rnd() * TOPICS), 1.2),
  }));
  const byText = new Map(queries.map((q) => [q.text, q.vector]));
  const embedder: Embedder = {
    model: 'bench-768',
    url: 'memory',
    embedDocuments: async () => [],
    embedQuery: async (text) => byText.get(text)!,
    probe: async () => DIMENSION,
  };
  const searcher = new HybridSearcher({ store, embedding: () => ({ embedder }) });
  const t0 = performance.now();
  await store.vectorSearch(queries[0]!.vector, 10);
  const firstDense = performance.now() - t0;
  type Mode = 'keyword' | 'dense' | 'hybrid';
  const wall: Record<Mode, number[]> = { keyword: [], dense: [], hybrid: [] };
  const cpu: Record<Mode, number[]> = { keyword: [], dense: [], hybrid: [] };
  const loadBefore = load();
  for (const [i, q] of queries.entries()) {
    if (i > 0 && i % 50 === 0) process.stderr.write(`  ${label}: ${i} of ${queries.length} queries\n`);
    for (const mode of ['keyword', 'dense', 'hybrid'] as const) {
      const c = process.cpuUsage();
      const s = performance.now();
      const result = await searcher.search(q.text, { mode, limit: 5 });
      const ms = performance.now() - s;
      const used = process.cpuUsage(c);
      if (result.mode !== mode || result.passages.length === 0)
        throw new Error(`${mode} query returned nothing`);
      if (i >= 5) {
        wall[mode].push(ms);
        cpu[mode].push((used.user + used.system) / 1000);
      }
    }
  }
  // count(*) is a full scan in milvus-lite: a failure must not lose the figures measured above.
  const count = await store.count().catch((e: Error) => `? (count failed: ${e.message})`);
  return [
    `${label}: ${count} chunks (${perDoc} a document), ${DIMENSION}-dimension vectors, filled in ${(fillMs / 1000).toFixed(0)} s; first dense query (loads the index) ${firstDense.toFixed(0)} ms`,
    `  ${QUERIES - 5} queries of 3–6 words, top 5 (load average ${loadBefore} before, ${load()} after; 2-core machine shared with other work)`,
    row('keyword', timing(wall.keyword), timing(cpu.keyword)),
    row('dense', timing(wall.dense), timing(cpu.dense)),
    row('hybrid', timing(wall.hybrid), timing(cpu.hybrid)),
  ];
}

interface TestMilvus {
  address: string;
  stop(): Promise<void>;
}

async function benchMilvus(): Promise<string[]> {
  let started: TestMilvus | undefined;
  let address = process.env.KUBEMATE_BENCH_MILVUS;
  try {
    if (!address) {
      const { startMilvus } = (await import('../test/env/milvus.js')) as {
        startMilvus(): Promise<TestMilvus>;
      };
      started = await startMilvus();
      address = started.address;
    }
  } catch (e) {
    return [
      `Milvus: not measured (${(e as Error).message.split('\n')[0]}; set KUBEMATE_BENCH_MILVUS=host:port)`,
    ];
  }
  const { MilvusStore } = await import('../rag/store/milvus.js');
  // Generous deadline: milvus-lite seals and counts 100,000 rows in Python.
  const store = new MilvusStore({ address, collection: `kubemate_bench_${Date.now()}`, timeoutMs: 300_000 });
  try {
    await store.open(DIMENSION);
    return await benchQueries(`Milvus (${started ? 'milvus-lite' : address})`, store, 100);
  } finally {
    await store.drop().catch(() => undefined);
    await store.close().catch(() => undefined);
    await started?.stop();
  }
}

/** Each part's figures go to stdout as it finishes (the Milvus part takes about half an hour). */
export async function benchRunbooks(): Promise<void> {
  const report = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
  if (PARTS.has('ingest')) report(await benchIngest());
  if (PARTS.has('embedded')) {
    const data = mkdtempSync(join(tmpdir(), 'kubemate-bench-store-'));
    try {
      const store = new EmbeddedStore({ path: join(data, 'runbooks.db') });
      await store.open(DIMENSION);
      report(
        await benchQueries('embedded store (SQLite FTS5 + sign-code scan with exact rescoring)', store, 10),
      );
      await store.close();
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }
  if (PARTS.has('milvus')) report(await benchMilvus());
}
