/**
 * The redactor on 1 MB of adversarial text per family (test/support/redaction-adversarial.ts):
 * CPU milliseconds, best of five, against the 100 ms target, and the 1 MB / 256 KB cost ratio
 * (linear is 4×, quadratic 16×).
 */

import { ADVERSARIAL, fill, MB } from '../test/support/redaction-adversarial.js';
import { defaultRedactor } from '../tools/core/redact.js';

const TARGET_MS = 100;

function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const best = (run: () => void) => Math.min(...[1, 2, 3, 4, 5].map(() => cpuMs(run)));

export function benchRedact(): string[] {
  const rows: string[] = ['redactor, 1 MB per family (CPU ms, best of 5; target < 100 ms):'];
  let worst = 0;
  for (const [name, unit] of Object.entries(ADVERSARIAL)) {
    const large = fill(unit, MB);
    const quarter = large.slice(0, MB / 4);
    defaultRedactor(quarter.slice(0, 20_000));
    const small = best(() => defaultRedactor(quarter));
    const ms = best(() => defaultRedactor(large));
    worst = Math.max(worst, ms);
    rows.push(
      `  ${name.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / TARGET_MS).toFixed(2)}× target  1 MB/256 KB ${(ms / Math.max(small, 0.1)).toFixed(1)}×`,
    );
  }
  rows.push(`worst family: ${worst.toFixed(1)} ms, ${(worst / TARGET_MS).toFixed(2)}× the 100 ms target`);
  return rows;
}
