import { mkdirSync, mkdtempSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../../rag/knowledge-base.js';
import { readRunbookFile, walkRunbooks } from '../../rag/walk.js';
import { runbookTools } from '../../tools/runbooks/index.js';
import { testPipeline } from '../support/pipeline.js';
import { engineFrom, who } from '../support/policy.js';
import { keywordOnlySettings, runbookBackends } from '../support/runbooks.js';

const runbook = (title: string, body: string) => `# ${title}\n\n## Checks\n\n${body}\n`;
const SECRET = 'kubeconfig token zq7outsidesecret';

/** A runbook folder with links of every kind next to a folder it must never read. */
function layout() {
  const base = mkdtempSync(join(tmpdir(), 'kubemate-links-'));
  const outside = join(base, 'outside');
  const root = join(base, 'runbooks');
  mkdirSync(join(outside, 'more'), { recursive: true });
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'secret.md'), runbook('Private', SECRET));
  writeFileSync(join(outside, 'more', 'also.md'), runbook('Also private', SECRET));
  writeFileSync(join(root, 'dns.md'), runbook('DNS failures', 'CoreDNS answers SERVFAIL; check upstreams.'));
  symlinkSync(join(outside, 'secret.md'), join(root, 'notes.md')); // absolute, outside
  symlinkSync('../../outside/secret.md', join(root, 'sub', 'relative.md')); // relative, outside
  symlinkSync(join(outside, 'more'), join(root, 'linked')); // a folder outside
  symlinkSync('..', join(root, 'sub', 'parent')); // a folder inside: a loop if followed
  symlinkSync('dns.md', join(root, 'alias.md')); // a file inside: read
  symlinkSync('loop-b.md', join(root, 'loop-a.md'));
  symlinkSync('loop-a.md', join(root, 'loop-b.md'));
  symlinkSync('gone.md', join(root, 'broken.md'));
  symlinkSync(join(root, 'notes.md'), join(root, 'chain.md')); // inside link to an outside link
  return { base, root, outside };
}

const open: KnowledgeBase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((kb) => kb.close()));
});

describe('runbook ingestion and symbolic links', () => {
  it('reads only files that resolve inside the folder and says why the rest were skipped', async () => {
    const { root } = layout();
    const walk = await walkRunbooks(root);
    expect(walk.files).toEqual(['alias.md', 'dns.md']);
    expect(walk.skipped).toEqual([
      { file: 'broken.md', reason: 'a broken symbolic link; not read' },
      { file: 'chain.md', reason: 'a symbolic link that resolves outside the runbook folder; not read' },
      { file: 'linked', reason: 'a symbolic link that resolves outside the runbook folder; not read' },
      { file: 'loop-a.md', reason: 'a symbolic link loop; not read' },
      { file: 'loop-b.md', reason: 'a symbolic link loop; not read' },
      { file: 'notes.md', reason: 'a symbolic link that resolves outside the runbook folder; not read' },
      {
        file: 'sub/parent',
        reason:
          'a symbolic link to a folder; not followed (files inside the runbook folder are read where they are)',
      },
      {
        file: 'sub/relative.md',
        reason: 'a symbolic link that resolves outside the runbook folder; not read',
      },
    ]);
  });

  it('runbooks_search never returns text from outside the folder, and a leaked document is removed', async () => {
    const { root, outside } = layout();
    const kb = await KnowledgeBase.open({
      dataDir: mkdtempSync(join(tmpdir(), 'kubemate-kb-')),
      runbooks: { ...keywordOnlySettings, includeShipped: false },
      embedder: null,
    });
    open.push(kb);
    const summary = await kb.ingest({ dir: root, prefix: 'ops' });
    expect(summary.files).toMatchObject({ seen: 2, added: 2, failed: 0 });
    expect(summary.skipped.map((s) => s.file)).toContain('ops/notes.md');
    expect((await kb.listDocuments()).map((d) => d.source).sort()).toEqual(['ops/alias.md', 'ops/dns.md']);

    const { pipeline } = testPipeline({
      tools: runbookTools,
      policy: engineFrom('version: 1\nbindings:\n  - subjects: [alice]\n    roles: [viewer]\n'),
      backends: runbookBackends(kb),
    });
    const r = await pipeline.invoke('runbooks_search', { query: 'private kubeconfig token' }, who('alice'));
    expect(r.text).not.toContain('zq7outsidesecret');
    expect(JSON.stringify(r.structured ?? {})).not.toContain('zq7outsidesecret');

    // A file that was a plain runbook and is now a link out: its old document goes too.
    writeFileSync(join(root, 'later.md'), runbook('Later', 'plain at first'));
    expect((await kb.ingest({ dir: root, prefix: 'ops' })).files.added).toBe(1);
    unlinkSync(join(root, 'later.md'));
    symlinkSync(join(outside, 'secret.md'), join(root, 'later.md'));
    const again = await kb.ingest({ dir: root, prefix: 'ops' });
    expect(again.files.removed).toBe(1);
    expect((await kb.listDocuments()).map((d) => d.source)).not.toContain('ops/later.md');
  });

  it('checks again at read time, so a link swapped in after the walk is refused', async () => {
    const { root, outside } = layout();
    await expect(readRunbookFile(root, 'dns.md')).resolves.toBeInstanceOf(Buffer);
    unlinkSync(join(root, 'dns.md'));
    symlinkSync(join(outside, 'secret.md'), join(root, 'dns.md'));
    await expect(readRunbookFile(root, 'dns.md')).rejects.toThrow(/outside the runbook folder/);
  });

  it('a runbook folder reached through a link is read as the folder it points to', async () => {
    const { base, root } = layout();
    symlinkSync(root, join(base, 'via-link'));
    expect((await walkRunbooks(join(base, 'via-link'))).files).toEqual(['alias.md', 'dns.md']);
  });
});
