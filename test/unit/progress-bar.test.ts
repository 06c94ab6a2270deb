import { describe, expect, it } from 'vitest';
import { progressBar, progressUnit } from '../../app/commands/progress-bar.js';

function stream(tty: boolean, columns = 200) {
  const out: string[] = [];
  const s = { isTTY: tty, columns, write: (t: string) => out.push(t) > 0 } as unknown as NodeJS.WriteStream;
  return { s, out };
}

describe('the CLI progress bar', () => {
  it('model_pull counts bytes; other tools count steps', () => {
    expect(progressUnit('model_pull')).toBe('bytes');
    expect(progressUnit('inspection_run')).toBe('count');
  });

  it('draws a pull in place on a terminal, with percentage and sizes, and clears it when done', () => {
    const { s, out } = stream(true);
    const bar = progressBar({ label: 'model_pull', unit: 'bytes', stream: s, width: 10 });
    bar.update({ progress: 0, message: 'pulling manifest' });
    bar.update({ progress: 23_000_000, total: 46_000_000, message: 'pulling 797b70c4edf8' });
    bar.update({ progress: 46_000_000, total: 46_000_000, message: 'success' });
    bar.done();
    expect(out).toEqual([
      '\r\x1b[2Kmodel_pull [----------] 0 B/? pulling manifest',
      '\r\x1b[2Kmodel_pull [#####-----] 50% 23 MB/46 MB pulling 797b70c4edf8',
      '\r\x1b[2Kmodel_pull [##########] 100% 46 MB/46 MB success',
      '\r\x1b[2K',
    ]);
  });

  it('cuts the line to the terminal width', () => {
    const { s, out } = stream(true, 20);
    progressBar({ label: 'model_pull', unit: 'bytes', stream: s }).update({ progress: 1, total: 2 });
    expect(out[0]).toBe(`\r\x1b[2K${'model_pull [##############'.slice(0, 19)}`);
  });

  it('writes a plain line per tenth of the way when stderr is not a terminal, and clears nothing', () => {
    const { s, out } = stream(false);
    const bar = progressBar({ label: 'inspect', stream: s, width: 4 });
    for (let i = 1; i <= 20; i++) bar.update({ progress: i, total: 20, message: `checked c${i}` });
    bar.done();
    expect(out).toHaveLength(11); // tenths 0 to 10
    expect(out[0]).toBe('inspect [----] 1/20 checked c1\n');
    expect(out.at(-1)).toBe('inspect [####] 20/20 checked c20\n');
    expect(out.every((l) => !l.includes('\x1b'))).toBe(true);
  });

  it('draws nothing, and clears nothing, for a call that reports no progress', () => {
    const { s, out } = stream(true);
    progressBar({ label: 'pods_list', stream: s }).done();
    expect(out).toEqual([]);
  });
});
