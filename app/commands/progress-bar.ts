import type { ProgressUpdate } from '../../tools/core/types.js';
import { formatBytes } from '../../tools/models/facts.js';

export interface ProgressBarOptions {
  /** What the bar is about, at its start: `inspect`, `model_pull`. */
  label: string;
  /** How the counts read: checks done (`12/60`) or bytes downloaded (`46 MB/253 MB`). */
  unit?: 'count' | 'bytes';
  stream?: NodeJS.WriteStream;
  width?: number;
}

/** Tools whose progress counts bytes: their bar shows sizes and a percentage. */
const BYTE_PROGRESS = new Set(['model_pull']);

/** The unit a tool's progress notifications count in, for its bar on the CLI. */
export function progressUnit(tool: string): 'count' | 'bytes' {
  return BYTE_PROGRESS.has(tool) ? 'bytes' : 'count';
}

/**
 * A bar on stderr drawn from a tool's progress notifications: redrawn in place on a terminal,
 * plain lines every tenth of the way otherwise (a log file or CI keeps a readable record).
 */
export function progressBar(options: ProgressBarOptions) {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const width = options.width ?? 28;
  const bytes = options.unit === 'bytes';
  let lastTenth = -1;
  let drawn = false;
  const counts = (done: number, total: number) =>
    bytes
      ? `${total ? `${Math.floor((100 * Math.min(done, total)) / total)}% ` : ''}${formatBytes(done)}/${total ? formatBytes(total) : '?'}`
      : `${done}/${total}`;
  return {
    update(p: ProgressUpdate) {
      const total = p.total ?? 0;
      const filled = total ? Math.round((width * Math.min(p.progress, total)) / total) : 0;
      const line =
        `${options.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts(p.progress, total)} ${p.message ?? ''}`.trimEnd();
      if (tty) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 100) - 1)}`);
        drawn = true;
      } else {
        const tenth = total ? Math.floor((10 * Math.min(p.progress, total)) / total) : 0;
        if (tenth !== lastTenth) stream.write(`${line}\n`);
        lastTenth = tenth;
      }
    },
    /** Clears the bar so that what follows starts on a clean line. */
    done() {
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
