/** Small helpers for benchmark figures: percentiles over measured samples and a timing loop. */
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

/** Runs `fn` `warmup` times unmeasured, then `iterations` times one after another. */
export async function measure(fn: () => Promise<unknown>, iterations: number, warmup = 5): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  const total = performance.now() - started;
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), perSecond: (iterations * 1000) / total, samples: iterations };
}

export function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
