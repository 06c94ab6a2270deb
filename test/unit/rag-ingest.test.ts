import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OllamaEmbedder } from '../../rag/embeddings.js';
import { type IngestProgress, ingestFolder } from '../../rag/ingest.js';
import { KnowledgeBase, type RunbooksSettings } from '../../rag/knowledge-base.js';
import { EmbeddedStore } from '../../rag/store/embedded.js';
import { hashedEmbedding, type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';

const settings = (over: Partial<RunbooksSettings['embedding']> = {}): RunbooksSettings => ({
  dirs: [],
  includeShipped: false,
  store: { kind: 'embedded' },
  embedding: {
    enabled: true,
    url: 'http://127.0.0.1:9',
    model: 'nomic-embed-text',
    batchSize: 4,
    timeoutSeconds: 5,
    ...over,
  },
});

const open: KnowledgeBase[] = [];
const servers: ScriptedOllama[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((kb) => kb.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startScriptedOllama>[0] = {}) {
  const s = await startScriptedOllama(options);
  servers.push(s);
  return s;
}

async function kbFor(dataDir: string, url: string, model = 'nomic-embed-text') {
  const kb = await KnowledgeBase.open({ dataDir, runbooks: settings({ url, model }) });
  open.push(kb);
  return kb;
}

function folder(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kubemate-runbooks-'));
  write(root, files);
  return root;
}

function write(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const runbook = (title: string, body: string) =>
  `---\ntitle: ${title}\ntags: [t-${title.toLowerCase().replace(/\W+/g, '-')}]\n---\n# ${title}\n\n## Checks\n\n${body}\n\n## Fixes\n\nFix ${title} by reading the section above and acting on it with care.\n`;

/** The texts each /api/embed request carried, after `from` requests. */
const embedded = (o: ScriptedOllama, from = 0) =>
  o.requests
    .filter((r) => r.path === '/api/embed')
    .slice(from)
    .flatMap((r) => (r.body as { input: string[] }).input);
const embedCount = (o: ScriptedOllama) => o.requests.filter((r) => r.path === '/api/embed').length;

describe('incremental ingestion', () => {
  it('embeds only new and changed files, removes deleted ones, and reports bad files without stopping', async () => {
    const ollama = await server();
    const root = folder({
      'dns.md': runbook('DNS failures', 'CoreDNS pods answer SERVFAIL; check the upstream resolvers.'),
      'disk.md': runbook('Disk pressure', 'The kubelet evicts pods when imagefs crosses its threshold.'),
      'network/mtu.txt':
        'Packets larger than the overlay MTU are dropped silently.\n\nLower the MTU on the CNI.\n',
      'certs.html': '<h1>Certificates</h1><p>x509 certificate has expired on the ingress controller.</p>',
      'bad.md': '---\ntags: {not: a list}\n---\n# Bad\n',
      'ignored.pdf': '%PDF-1.7',
      '.git/config.md': '# not a runbook',
    });
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), ollama.url);
    expect(kb.status.mode).toBe('hybrid');

    const events: IngestProgress[] = [];
    const before = embedCount(ollama);
    const first = await kb.ingest({ dir: root, prefix: 'ops', onProgress: (e) => events.push(e) });
    expect(first.files).toEqual({ seen: 5, added: 4, updated: 0, unchanged: 0, removed: 0, failed: 1 });
    expect(first.mode).toBe('dense');
    expect(first.failures).toEqual([
      {
        file: 'ops/bad.md',
        error: 'invalid front matter: tags: expected a list of strings, e.g. [pods, memory]',
      },
    ]);
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.total === 5)).toBe(true);
    // Chunks from several files share a request (batch size 4).
    const texts = embedded(ollama, before);
    expect(texts).toHaveLength(first.chunks);
    expect(embedCount(ollama) - before).toBe(Math.ceil(first.chunks / 4));
    expect((await kb.listDocuments()).map((d) => [d.source, d.embeddingModel])).toEqual([
      ['ops/certs.html', 'nomic-embed-text'],
      ['ops/disk.md', 'nomic-embed-text'],
      ['ops/dns.md', 'nomic-embed-text'],
      ['ops/network/mtu.txt', 'nomic-embed-text'],
    ]);

    const again = embedCount(ollama);
    const second = await kb.ingest({ dir: root, prefix: 'ops' });
    expect(second.files).toMatchObject({ added: 0, updated: 0, unchanged: 4, removed: 0, failed: 1 });
    expect(embedCount(ollama)).toBe(again);

    write(root, {
      'dns.md': runbook('DNS failures', 'CoreDNS pods answer SERVFAIL; ndots five multiplies lookups.'),
      'bad.md': runbook('Bad no more', 'Now valid.'),
    });
    rmSync(join(root, 'disk.md'));
    const mark = embedCount(ollama);
    const third = await kb.ingest({ dir: root, prefix: 'ops' });
    expect(third.files).toEqual({ seen: 4, added: 1, updated: 1, unchanged: 2, removed: 1, failed: 0 });
    const reembedded = embedded(ollama, mark);
    expect(reembedded.length).toBe(third.chunks);
    expect(reembedded.every((t) => t.includes('DNS failures') || t.includes('Bad no more'))).toBe(true);
    expect((await kb.listDocuments()).map((d) => d.source)).not.toContain('ops/disk.md');
    expect((await kb.search('imagefs threshold evicts', { mode: 'keyword' })).passages).toEqual([]);
    expect((await kb.search('ndots multiplies lookups')).passages[0]!.citation.source).toBe('ops/dns.md');
  });

  it('keeps the previous version of a file that turns bad, and never removes another prefix', async () => {
    const ollama = await server();
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), ollama.url);
    const a = folder({ 'dns.md': runbook('DNS failures', 'CoreDNS pods answer SERVFAIL for every name.') });
    const b = folder({ 'other.md': runbook('Other', 'Unrelated text about conntrack tables.') });
    await kb.ingest({ dir: a, prefix: 'team-a' });
    await kb.ingest({ dir: b, prefix: 'team-b' });
    write(a, { 'dns.md': '---\ntitle: [broken\n---\n# DNS\n' });
    const summary = await kb.ingest({ dir: a, prefix: 'team-a' });
    expect(summary.files).toMatchObject({ failed: 1, removed: 0 });
    expect(summary.failures[0]!.error).toMatch(/^front matter is not valid YAML \(line 2\)/);
    expect((await kb.search('servfail every name')).passages[0]!.citation.source).toBe('team-a/dns.md');
    expect((await kb.listDocuments()).map((d) => d.source)).toEqual(['team-a/dns.md', 'team-b/other.md']);
    await expect(kb.ingest({ dir: a, prefix: 'kubemate' })).rejects.toThrow(/reserved/);
    await expect(kb.ingest({ dir: join(a, 'missing'), prefix: 'x' })).rejects.toThrow(/does not exist/);
  });

  it('re-embeds documents first ingested without a model once one answers, and says so until then', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-data-'));
    const root = folder({ 'dns.md': runbook('DNS failures', 'CoreDNS pods answer SERVFAIL.') });
    const keywordOnly = await KnowledgeBase.open({ dataDir, runbooks: settings(), embedder: null });
    expect((await keywordOnly.ingest({ dir: root, prefix: 'ops' })).mode).toBe('keyword');
    await keywordOnly.close();

    const ollama = await server();
    const kb = await kbFor(dataDir, ollama.url);
    expect(kb.status.notice).toBe(
      '1 of 1 runbooks have no nomic-embed-text embeddings yet and match by keyword only; run `kubemate runbooks ingest`',
    );
    expect((await kb.search('servfail')).notice).toBe(kb.status.notice);
    expect((await kb.ingest({ dir: root, prefix: 'ops' })).files).toMatchObject({ updated: 1 });
    const result = await kb.search('servfail');
    expect(result).toMatchObject({ mode: 'hybrid' });
    expect(result.notice).toBeUndefined();
  });
});

describe('flush after ingest', () => {
  it('asks the store to flush once after an ingest that changed something, and not otherwise', async () => {
    const data = mkdtempSync(join(tmpdir(), 'kubemate-data-'));
    let flushes = 0;
    const store = new (class extends EmbeddedStore {
      async flush() {
        flushes++;
      }
    })({ path: join(data, 'runbooks.db') });
    await store.open(null);
    try {
      const root = folder({ 'a.md': runbook('Alpha', 'first'), 'b.md': runbook('Beta', 'second') });
      await ingestFolder({ store, embedder: null, root, prefix: 'x' });
      expect(flushes).toBe(1);
      await ingestFolder({ store, embedder: null, root, prefix: 'x' });
      expect(flushes).toBe(1);
      rmSync(join(root, 'b.md'));
      const removed = await ingestFolder({ store, embedder: null, root, prefix: 'x' });
      expect(removed.files.removed).toBe(1);
      expect(flushes).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describe('keyword-only fallback', () => {
  const root = () =>
    folder({ 'dns.md': runbook('DNS failures', 'CoreDNS pods answer SERVFAIL for cluster names.') });

  it('says so in every result when the embedding server is down', async () => {
    const gone = await startScriptedOllama();
    await gone.close();
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), gone.url);
    expect((await kb.ingest({ dir: root(), prefix: 'ops' })).mode).toBe('keyword');
    const result = await kb.search('servfail cluster names');
    expect(result.mode).toBe('keyword');
    expect(result.notice).toBe(
      `embedding server ${gone.url} is unreachable (ECONNREFUSED): keyword retrieval only`,
    );
    expect(result.passages[0]!.citation.source).toBe('ops/dns.md');
  });

  it('says which model is missing and how to pull it', async () => {
    const ollama = await server({ models: ['llama3.1:8b'] });
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), ollama.url);
    await kb.ingest({ dir: root(), prefix: 'ops' });
    const result = await kb.search('servfail');
    expect(result.mode).toBe('keyword');
    expect(result.notice).toBe(
      `embedding model nomic-embed-text not found on ${ollama.url}; pull it with \`ollama pull nomic-embed-text\`: keyword retrieval only`,
    );
  });

  it('falls back for one search when the server dies after start', async () => {
    const ollama = await server();
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), ollama.url);
    await kb.ingest({ dir: root(), prefix: 'ops' });
    expect((await kb.search('servfail')).mode).toBe('hybrid');
    await ollama.close();
    const result = await kb.search('servfail');
    expect(result.mode).toBe('keyword');
    expect(result.notice).toMatch(
      /is unreachable \((ECONNREFUSED|other side closed)\): keyword retrieval only$/,
    );
    expect(result.passages.map((p) => p.chunkId)).toEqual(['ops/dns.md#0']);
  });

  it('after a failed query embedding, stays keyword-only without asking the model again for a while', async () => {
    let broken = false;
    const ollama = await server({
      embed: (texts) => {
        if (broken) throw new Error('model crashed');
        return texts.map((t) => hashedEmbedding(t));
      },
    });
    const kb = await kbFor(mkdtempSync(join(tmpdir(), 'kubemate-data-')), ollama.url);
    await kb.ingest({ dir: root(), prefix: 'ops' });
    broken = true;
    const first = await kb.search('servfail');
    expect(first).toMatchObject({ mode: 'keyword' });
    expect(first.notice).toMatch(/refused the request: Error: model crashed: keyword retrieval only$/);
    const asked = embedCount(ollama);
    const second = await kb.search('servfail');
    expect(second).toMatchObject({ mode: 'keyword', notice: first.notice });
    expect(embedCount(ollama)).toBe(asked);
  });

  it('refuses vectors of another dimension: keyword search with a notice, and ingestion fails clearly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kubemate-data-'));
    const first = await server({ embedDimension: 256 });
    const kb = await kbFor(dataDir, first.url);
    const dir = root();
    await kb.ingest({ dir, prefix: 'ops' });
    await kb.close();
    open.pop();

    const other = await server({ embedDimension: 384, models: ['other-embed:latest'] });
    const next = await kbFor(dataDir, other.url, 'other-embed');
    expect(next.status.mode).toBe('keyword');
    const result = await next.search('servfail');
    expect(result.mode).toBe('keyword');
    expect(result.notice).toMatch(/holds 256-dimension vectors but the embedding model gives 384: re-ingest/);
    expect(result.passages[0]!.citation.source).toBe('ops/dns.md');
    // Without a usable model, ingestion keeps the stored vectors and changes nothing.
    expect((await next.ingest({ dir, prefix: 'ops' })).files).toMatchObject({ unchanged: 1 });
  });

  it('uses no server at all when embeddings are disabled', async () => {
    const ollama = await server();
    const kb = await KnowledgeBase.open({
      dataDir: mkdtempSync(join(tmpdir(), 'kubemate-data-')),
      runbooks: settings({ url: ollama.url, enabled: false }),
    });
    open.push(kb);
    await kb.ingest({ dir: root(), prefix: 'ops' });
    expect((await kb.search('servfail')).notice).toBe(
      'embeddings are disabled (runbooks.embedding.enabled: false): keyword retrieval only',
    );
    expect(ollama.requests).toEqual([]);
  });
});

describe('embedder options', () => {
  it('sends the configured model and batch size', async () => {
    const ollama = await server();
    const embedder = new OllamaEmbedder({ url: ollama.url, model: 'nomic-embed-text:latest', batchSize: 3 });
    await embedder.embedDocuments(['a', 'b', 'c', 'd']);
    expect(
      ollama.requests.map((r) => [
        (r.body as { model: string }).model,
        (r.body as { input: string[] }).input.length,
      ]),
    ).toEqual([
      ['nomic-embed-text:latest', 3],
      ['nomic-embed-text:latest', 1],
    ]);
  });
});
