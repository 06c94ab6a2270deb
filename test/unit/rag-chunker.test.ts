import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunkDocument, tokens } from '../../rag/chunker.js';
import { loadDocument } from '../../rag/loaders/index.js';

const load = (file: string, text: string) => loadDocument(file, Buffer.from(text));
const paths = (file: string, text: string) =>
  chunkDocument(load(file, text)).map((c) => c.headingPath.join(' > '));

/** Every chunk of a Markdown or text file is exactly the file's lines in its range. */
function expectExactLines(text: string, chunks: { lineStart: number; lineEnd: number; text: string }[]) {
  const lines = text.split('\n');
  for (const c of chunks) {
    expect(c.lineStart).toBeGreaterThanOrEqual(1);
    expect(c.lineEnd).toBeGreaterThanOrEqual(c.lineStart);
    expect(c.text).toBe(lines.slice(c.lineStart - 1, c.lineEnd).join('\n'));
  }
}

const RUNBOOK = `---
title: DNS failures
tags: [dns]
---
# DNS failures

Pods cannot resolve names. This intro paragraph explains the scope of the runbook and what to
check first, in enough words to be a chunk of its own rather than a tiny fragment of text.

## Checks

### CoreDNS pods

Run \`pods_list\` in kube-system and look at the CoreDNS pods: are they Running and Ready, do they
restart, and what do their logs say about upstream servers and SERVFAIL answers right now?

### ndots

Search domains multiply lookups: with ndots 5 every external name is tried against each search
domain first, which multiplies DNS traffic and latency for clients that call external services.

## Fixes

Restart.

## Escalation

Call the platform team when CoreDNS is healthy but lookups still fail from several namespaces.
`;

describe('Markdown chunking', () => {
  it('keeps the heading path from the title down and exact line ranges', () => {
    const chunks = chunkDocument(load('dns.md', RUNBOOK));
    expect(chunks.map((c) => [c.headingPath.join(' > '), c.lineStart, c.lineEnd])).toEqual([
      ['DNS failures', 5, 8],
      ['DNS failures > Checks > CoreDNS pods', 10, 15],
      ['DNS failures > Checks > ndots', 17, 20],
      // "Restart." is tiny, but its H2 is its own: never merged into Checks or Escalation.
      ['DNS failures > Fixes', 22, 24],
      ['DNS failures > Escalation', 26, 28],
    ]);
    expectExactLines(RUNBOOK, chunks);
  });

  it('merges tiny sections within one H2 section, under their common heading path', () => {
    const text = '# T\n\n## Causes\n\n### A\n\nshort.\n\n### B\n\nalso short.\n\n## Fixes\n\nfix it.\n';
    const chunks = chunkDocument(load('t.md', text));
    expect(chunks.map((c) => [c.headingPath.join(' > '), c.lineStart, c.lineEnd])).toEqual([
      ['T > Causes', 1, 11],
      ['T > Fixes', 13, 15],
    ]);
    expectExactLines(text, chunks);
  });

  it('never treats # lines inside code fences as headings, and never splits a fence', () => {
    const fence = [
      '```bash',
      ...Array.from({ length: 120 }, (_, i) => `# step ${i}: kubectl get pods -n ns${i}`),
      '```',
    ];
    const text = ['# Title', '', '## Run', '', 'Intro line.', '', ...fence, '', 'After the fence.', ''].join(
      '\n',
    );
    const chunks = chunkDocument(load('f.md', text), { maxTokens: 300 });
    expect(new Set(chunks.map((c) => c.headingPath.join(' > ')))).toEqual(new Set(['Title > Run']));
    const withFence = chunks.filter((c) => c.text.includes('```bash'));
    expect(withFence).toHaveLength(1);
    expect(withFence[0]!.text.match(/```/g)).toHaveLength(2);
    expect(chunks.some((c) => c.text.includes('After the fence.'))).toBe(true);
    expectExactLines(text, chunks);
  });

  it('splits long sections between paragraphs under the cap, with a small overlap', () => {
    const paragraphs = Array.from(
      { length: 30 },
      (_, i) => `Paragraph ${i} explains one more check for the long section, with enough words to count.`,
    );
    const text = `# Long\n\n## Checks\n\n${paragraphs.join('\n\n')}\n`;
    const chunks = chunkDocument(load('long.md', text), { maxTokens: 120, overlapTokens: 40 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) {
      expect(c.headingPath).toEqual(['Long', 'Checks']);
      expect(tokens(c.text)).toBeLessThanOrEqual(130);
    }
    for (let i = 1; i < chunks.length; i++) {
      // The next part starts with the previous part's last paragraph.
      expect(chunks[i]!.lineStart).toBeLessThanOrEqual(chunks[i - 1]!.lineEnd);
      expect(chunks[i]!.lineStart).toBeGreaterThan(chunks[i - 1]!.lineStart);
    }
    expect(chunks.at(-1)!.text).toContain('Paragraph 29');
    expectExactLines(text, chunks);
  });

  it('reads setext headings and takes the title from front matter, else the H1, else the file name', () => {
    expect(
      paths('a.md', 'Title here\n==========\n\nSection\n-------\n\nbody text of the section.\n'),
    ).toEqual(['Title here > Section']);
    expect(load('b.md', '---\ntitle: From front matter\n---\n# Heading\n\ntext\n').title).toBe(
      'From front matter',
    );
    expect(load('c.md', 'no headings at all\n').title).toBe('c');
    expect(paths('d.md', '- item\n---\n\ntext after a rule\n')).toEqual(['d']);
  });

  it('cuts the shipped runbooks into exact line ranges with title-first heading paths', () => {
    const dir = new URL('../../rag/runbooks/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) {
      const text = readFileSync(new URL(f, dir), 'utf8');
      const doc = load(f, text);
      const chunks = chunkDocument(doc);
      expect(chunks.length, f).toBeGreaterThan(5);
      for (const c of chunks) expect(c.headingPath[0], f).toBe(doc.title);
      expectExactLines(text, chunks);
    }
  });
});

describe('plain text and HTML', () => {
  it('splits plain text at blank lines under the file name', () => {
    const text = 'First paragraph line one\nline two\n\n\nSecond paragraph.\n';
    const chunks = chunkDocument(load('notes.txt', text));
    expect(chunks.map((c) => [c.headingPath, c.lineStart, c.lineEnd])).toEqual([[['notes'], 1, 5]]);
    expectExactLines(text, chunks);
  });

  it('follows h1–h6 as the heading path, drops scripts and styles, keeps <pre> whole and cites HTML lines', () => {
    const html = [
      '<html><head><title>Ignored title</title><style>h2 { color: red }</style>',
      '<script>alert("runbook text must not include this")</script></head>',
      '<body>',
      '<h1>Node NotReady</h1>',
      '<p>The kubelet stopped posting status; this paragraph is long enough to stand on its own as a chunk of text.</p>',
      '<h2>Checks</h2>',
      '<h3>Kubelet</h3>',
      '<p>Look at the kubelet &amp; container runtime on the node with <code>journalctl -u kubelet</code>, and the node conditions.</p>',
      '<pre>systemctl status kubelet',
      '',
      'journalctl -u kubelet</pre>',
      '<noscript>enable js</noscript>',
      '<h2>Fixes</h2><ul><li>Restart the kubelet on the node after fixing the certificate or the disk that stopped it.</li></ul>',
      '</body></html>',
    ].join('\n');
    const doc = load('node.html', html);
    expect(doc.title).toBe('Node NotReady');
    const chunks = chunkDocument(doc);
    expect(chunks.map((c) => [c.headingPath.join(' > '), c.lineStart, c.lineEnd])).toEqual([
      ['Node NotReady', 4, 5],
      ['Node NotReady > Checks > Kubelet', 6, 11],
      ['Node NotReady > Fixes', 13, 13],
    ]);
    const all = chunks.map((c) => c.text).join('\n');
    expect(all).not.toContain('alert(');
    expect(all).not.toContain('color: red');
    expect(all).not.toContain('enable js');
    expect(chunks[1]!.text).toContain('kubelet & container runtime');
    expect(chunks[1]!.text).toContain('systemctl status kubelet\n\njournalctl -u kubelet');
  });

  it('refuses binary and non-UTF-8 files with a message naming the file', () => {
    expect(() => loadDocument('x.md', Buffer.from([0xff, 0xfe, 0x00]))).toThrow(/x\.md: not valid UTF-8/);
    expect(() => loadDocument('y.txt', Buffer.from('a\u0000b'))).toThrow(/y\.txt: looks binary/);
  });
});
