import { describe, expect, it } from 'vitest';
import { formatSummary, progressReporter } from '../../app/commands/runbooks.js';

function stream(tty: boolean) {
  const out: string[] = [];
  return {
    out,
    stream: { isTTY: tty, columns: 60, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream,
  };
}

describe('runbooks CLI output', () => {
  it('draws a progress bar in place on a terminal, keeping failures on their own lines', () => {
    const { out, stream: s } = stream(true);
    const p = progressReporter(s);
    p.update('ingest', { done: 1, total: 4, file: 'team/a.md', outcome: 'added' });
    p.update('ingest', {
      done: 2,
      total: 4,
      file: 'team/b.md',
      outcome: 'failed',
      error: 'invalid front matter',
    });
    p.done();
    expect(out[0]).toBe('ingest [#######---------------------] 1/4 team/a.md');
    expect(out[1]).toBe('\r\x1b[2K');
    expect(out[2]).toBe('failed    team/b.md: invalid front matter\n');
    expect(out[3]).toBe('ingest [##############--------------] 2/4 team/b.md');
    expect(out.at(-1)).toBe('\r\x1b[2K');
  });

  it('prints one plain line per changed file when not on a terminal', () => {
    const { out, stream: s } = stream(false);
    const p = progressReporter(s);
    p.update('ingest', { done: 1, total: 2, file: 'team/a.md', outcome: 'unchanged' });
    p.update('ingest', { done: 2, total: 2, file: 'team/b.md', outcome: 'updated' });
    p.done();
    expect(out).toEqual(['updated   team/b.md\n']);
  });

  it('sums up an ingest run', () => {
    expect(
      formatSummary({
        root: '/srv/runbooks',
        prefix: 'runbooks',
        mode: 'dense',
        model: 'nomic-embed-text',
        files: { seen: 10, added: 2, updated: 1, unchanged: 6, removed: 1, failed: 1 },
        chunks: 30,
        failures: [],
        skipped: [],
        ms: { total: 2500, embedding: 2000, other: 500 },
      }),
    ).toBe(
      'runbooks/ from /srv/runbooks: 10 files: 2 added, 1 updated, 6 unchanged, 1 removed, 1 failed; 30 chunks written in 2.5 s (embedding 2.0 s, the rest 0.5 s); embedded with nomic-embed-text',
    );
    const withSkips = formatSummary({
      root: '/srv/runbooks',
      prefix: 'runbooks',
      mode: 'keyword',
      model: null,
      files: { seen: 1, added: 1, updated: 0, unchanged: 0, removed: 0, failed: 0 },
      chunks: 2,
      failures: [],
      skipped: [
        {
          file: 'runbooks/notes.md',
          reason: 'a symbolic link that resolves outside the runbook folder; not read',
        },
      ],
      ms: { total: 100, embedding: 0, other: 100 },
    });
    expect(withSkips.split('\n')[1]).toBe(
      '  skipped runbooks/notes.md: a symbolic link that resolves outside the runbook folder; not read',
    );
  });
});
