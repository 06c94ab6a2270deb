// Runs one test/env set-up script with its output in a log file, so that a failed build stops the
// test run with one message (backend, step, log file and the log's last lines), not a wall of output.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/** The cache of built backends (same rule as testenv_cache_root in test/env/lib.sh). */
export function testenvCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUBEMATE_TESTENV_CACHE) return env.KUBEMATE_TESTENV_CACHE;
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'kubemate-testenv');
}

export class BackendSetupError extends Error {
  constructor(backend: string, step: string, logFile: string | undefined, detail: string) {
    super(
      `test backend '${backend}' failed at step '${step}'` +
        (logFile ? `; full log: ${logFile}` : '') +
        (detail ? `\n${detail}` : ''),
    );
    this.name = 'BackendSetupError';
  }
}

export interface BackendStep {
  backend: string;
  /** What the script does ('build', 'install'). */
  step: string;
  script: string;
  args: string[];
  /** The folder holding the script. */
  dir: string;
}

const TAIL_LINES = 15;

/**
 * Runs `bash dir/script args`, writing its stdout and stderr to <cache>/logs/<script>.log and showing
 * only its progress lines (`[testenv-…] …`) as they come. Rejects with a BackendSetupError naming the
 * backend, the step that failed (the script's last progress line) and the log file.
 */
export async function prepareBackend(b: BackendStep): Promise<void> {
  const logDir = path.join(testenvCacheRoot(), 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = path.join(logDir, `${path.basename(b.script, '.sh')}.log`);
  const log = createWriteStream(logFile);
  let lastProgress = '';
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn('bash', [path.join(b.dir, b.script), ...b.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    child.stdout.pipe(log, { end: false });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      log.write(chunk);
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!/^\[[a-z-]+\] /.test(line)) continue;
        lastProgress = line;
        process.stderr.write(`${line}\n`);
      }
    });
    child.on('error', (err) => resolve(err.message));
    child.on('close', (status, signal) => resolve(status ?? signal ?? 'unknown'));
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (code === 0) return;
  const tail = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-TAIL_LINES);
  throw new BackendSetupError(
    b.backend,
    `${b.step} (bash test/env/${[b.script, ...b.args].join(' ')}, exit ${code})`,
    logFile,
    [lastProgress && `last step: ${lastProgress}`, `last lines of the log:`, ...tail.map((l) => `  ${l}`)]
      .filter(Boolean)
      .join('\n'),
  );
}
