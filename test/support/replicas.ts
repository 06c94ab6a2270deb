// Starts state-replica.ts processes (one per simulated Kubemate replica) and reads their JSON lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const DRIVER = fileURLToPath(new URL('./state-replica.ts', import.meta.url));

export interface Replica {
  child: ChildProcess;
  lines: unknown[];
  /** Resolves with the last line once the process exits 0; rejects with its stderr otherwise. */
  done: Promise<unknown>;
  /** Resolves once a line matching `test` has been printed. */
  waitFor(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>;
}

export function startReplica(args: string[]): Replica {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: unknown[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l));
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<unknown>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) setImmediate(() => resolve(lines[lines.length - 1]));
      else reject(new Error(`replica ${args[2]} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
  done.catch(() => undefined);
  return {
    child,
    lines,
    done,
    waitFor(test, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (lines.some((l) => test(l as Record<string, unknown>))) return resolve();
          if (Date.now() > deadline || child.exitCode !== null)
            return reject(new Error(`replica ${args[2]}: no such line; stderr: ${stderr.slice(-1000)}`));
          waiters.push(check);
          setTimeout(check, 100);
        };
        check();
      });
    },
  };
}
