/** Small helpers for benchmark figures: percentiles over measured samples and timing loops. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export interface Timing {
  p50: number;
  p99: number;
  perSecond: number;
  samples: number;
}

function summarise(samples: number[]): Timing {
  const total = samples.reduce((a, b) => a + b, 0);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    perSecond: (samples.length * 1000) / total,
    samples: samples.length,
  };
}

/**
 * Times several contenders round-robin, one call of each per round, so that background load on a
 * shared machine (the API server, controllers, kwok) falls on all of them alike.
 */
export async function measureInterleaved(
  contenders: Record<string, () => Promise<unknown>>,
  rounds: number,
  warmup = 5,
): Promise<Record<string, Timing>> {
  const names = Object.keys(contenders);
  for (let i = 0; i < warmup; i++) for (const n of names) await contenders[n]!();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    // rotate the order each round so no contender always runs right after another
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length]!;
      const t0 = performance.now();
      await contenders[n]!();
      samples[n]!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarise(samples[n]!)]));
}

/** Times `fn` sequentially after `warmup` unmeasured calls. */
export async function measure(fn: () => Promise<unknown>, iterations: number, warmup = 5): Promise<Timing> {
  return (await measureInterleaved({ fn }, iterations, warmup)).fn!;
}

export function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
