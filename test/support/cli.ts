import { spawn } from 'node:child_process';

export interface CliRun {
  /** Exit code (null when killed by a signal, e.g. the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`node dist/app/main.js …`) as a user would: another process with exactly the
 * environment given (so the test machine's own KUBEMATE_* settings never leak in).
 */
export function runKubemate(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliRun> {
  const child = spawn(process.execPath, ['dist/app/main.js', ...args], { env, timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The variables a child process needs to run at all. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
}
