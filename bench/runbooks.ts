/**
 * Runbook knowledge base: ingestion of 5,000 generated Markdown runbooks (keyword-only, files per
 * second without embedding time), then query p50/p99 at 100,000 chunks with 768-dimension vectors
 * for keyword, dense and hybrid retrieval on the embedded store, and on Milvus when one is given
 * (KUBEMATE_BENCH_MILVUS=host:port) or milvus-lite can be started (test/env/milvus.ts).
 * `npm run bench -- runbooks`; BENCH_RUNBOOK_FILES and BENCH_RUNBOOK_CHUNKS scale it down.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../rag/embeddings.js';
import { ingestFolder } from '../rag/ingest.js';
import { HybridSearcher } from '../rag/retrieval.js';
import { EmbeddedStore } from '../rag/store/embedded.js';
import type { Chunk, RunbookStore } from '../rag/types.js';
import { percentile } from './stats.js';

const FILES = Number(process.env.BENCH_RUNBOOK_FILES ?? 5_000);
const CHUNKS = Number(process.env.BENCH_RUNBOOK_CHUNKS ?? 100_000);
const CHUNKS_PER_DOC = 10;
const DIMENSION = 768;
const TOPICS = 256;
const QUERIES = Number(process.env.BENCH_RUNBOOK_QUERIES ?? 200);
const TARGET_MS = 50;

/** A small deterministic PRNG, so every run measures the same corpus. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const SYSTEMS =
  'payments ledger checkout gateway settlement fraud-scoring card-auth reporting kyc notifications search batch-export'.split(
    ' ',
  );
const OBJECTS =
  'pod deployment statefulset node ingress service certificate volume job cronjob configmap secret hpa pdb'.split(
    ' ',
  );
const SYMPTOMS = [
  'CrashLoopBackOff after the last release',
  'OOMKilled with exit code 137',
  'ImagePullBackOff from the private registry',
  'Pending because of insufficient memory',
  'readiness probe failing with 503',
  'x509 certificate has expired',
  'DNS lookups timing out intermittently',
  'latency p99 above the SLO',
  'disk pressure evictions on the node',
  'connection refused from the upstream',
  'too many open files in the container',
  'NotReady after kernel patching',
];
const ALERTS =
  'KubePodCrashLooping KubePodNotReady KubeNodeNotReady KubeDeploymentReplicasMismatch KubeJobFailed CPUThrottlingHigh NodeFilesystemSpaceFillingUp KubeHpaMaxedOut TargetDown'.split(
    ' ',
  );
const VERBS =
  'check compare restart scale drain cordon roll back raise lower rotate renew inspect page escalate'.split(
    ' ',
  );
const NOUNS =
  'limits requests replicas events logs metrics quota taints tolerations probes endpoints selectors secrets certificates resolvers routes weights budgets'.split(
    ' ',
  );

function sentence(rnd: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  return `${pick(VERBS)[0]!.toUpperCase()}${pick(VERBS).slice(1)} the ${pick(NOUNS)} of the ${pick(SYSTEMS)} ${pick(OBJECTS)} when it shows ${pick(SYMPTOMS)}, then ${pick(VERBS)} its ${pick(NOUNS)} and note the ${pick(NOUNS)} in the ticket.`;
}

function paragraph(rnd: () => number, sentences: number): string {
  return Array.from({ length: sentences }, () => sentence(rnd)).join(' ');
}

/** A runbook-like Markdown file of about 1–3 KB: front matter, title, symptoms, checks, causes, fixes. */
export function generateRunbook(i: number): string {
  const rnd = prng(i + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const system = pick(SYSTEMS);
  const symptom = pick(SYMPTOMS);
  const title = `${system} ${pick(OBJECTS)}: ${symptom} (${i})`;
  const subsections = (heading: string, n: number) =>
    Array.from(
      { length: n },
      (_, k) =>
        `### ${heading} ${k + 1}: ${pick(VERBS)} ${pick(NOUNS)}\n\n${paragraph(rnd, 1 + Math.floor(rnd() * 2))}\n`,
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
    paragraph(rnd, 2),
    '',
    '## Symptoms',
    '',
    ...Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => `- ${pick(SYMPTOMS)} in ${system}`),
    '',
    '## Checks',
    '',
    subsections('Check', 1 + Math.floor(rnd() * 2)),
    code,
    '## Causes',
    '',
    subsections('Cause', 1 + Math.floor(rnd() * 2)),
    '## Fixes',
    '',
    subsections('Fix', 1 + Math.floor(rnd() * 2)),
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

function row(label: string, t: Timing): string {
  return `  ${label.padEnd(8)} p50 ${t.p50.toFixed(1).padStart(7)} ms  p99 ${t.p99.toFixed(1).padStart(7)} ms  (p99 ${(t.p99 / TARGET_MS).toFixed(2)}× the ${TARGET_MS} ms target)`;
}

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
async function fill(store: RunbookStore, label: string): Promise<number> {
  const { near, rnd } = clusteredVectors(42);
  const started = performance.now();
  const docs = Math.ceil(CHUNKS / CHUNKS_PER_DOC);
  for (let d = 0; d < docs; d++) {
    const source = `bench/team-${d % 20}/runbook-${d}.md`;
    const title = `${SYSTEMS[d % SYSTEMS.length]} ${OBJECTS[d % OBJECTS.length]}: ${SYMPTOMS[d % SYMPTOMS.length]}`;
    const chunks: Chunk[] = [];
    const vectors: Float32Array[] = [];
    for (let k = 0; k < CHUNKS_PER_DOC; k++) {
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
    if (d % 1000 === 999) process.stderr.write(`  ${label}: ${(d + 1) * CHUNKS_PER_DOC} chunks\n`);
  }
  return performance.now() - started;
}

async function benchQueries(label: string, store: RunbookStore): Promise<string[]> {
  const fillMs = await fill(store, label);
  const { near, rnd } = clusteredVectors(7);
  const queries = Array.from({ length: QUERIES }, (_, i) => ({
    text: `${SYMPTOMS[i % SYMPTOMS.length]} ${SYSTEMS[i % SYSTEMS.length]} ${NOUNS[i % NOUNS.length]}`,
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
  const samples: Record<'keyword' | 'dense' | 'hybrid', number[]> = { keyword: [], dense: [], hybrid: [] };
  for (const [i, q] of queries.entries()) {
    for (const mode of ['keyword', 'dense', 'hybrid'] as const) {
      const s = performance.now();
      const result = await searcher.search(q.text, { mode, limit: 5 });
      const ms = performance.now() - s;
      if (result.mode !== mode || result.passages.length === 0)
        throw new Error(`${mode} query returned nothing`);
      if (i >= 5) samples[mode].push(ms);
    }
  }
  const count = await store.count();
  return [
    `${label}: ${count} chunks, ${DIMENSION}-dimension vectors, filled in ${(fillMs / 1000).toFixed(0)} s; first dense query (loads the index) ${firstDense.toFixed(0)} ms`,
    row('keyword', timing(samples.keyword)),
    row('dense', timing(samples.dense)),
    row('hybrid', timing(samples.hybrid)),
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
  const store = new MilvusStore({ address, collection: `kubemate_bench_${Date.now()}` });
  try {
    await store.open(DIMENSION);
    return await benchQueries(`Milvus (${started ? 'milvus-lite' : address})`, store);
  } finally {
    await store.drop().catch(() => undefined);
    await store.close().catch(() => undefined);
    await started?.stop();
  }
}

export async function benchRunbooks(): Promise<string[]> {
  const out = await benchIngest();
  const data = mkdtempSync(join(tmpdir(), 'kubemate-bench-store-'));
  try {
    const store = new EmbeddedStore({ path: join(data, 'runbooks.db') });
    await store.open(DIMENSION);
    out.push(
      ...(await benchQueries('embedded store (SQLite FTS5 + sign-code scan with exact rescoring)', store)),
    );
    await store.close();
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  if (process.env.BENCH_RUNBOOK_MILVUS !== '0') out.push(...(await benchMilvus()));
  return out;
}
