// What the state stores report about themselves. Implemented by the metrics registry
// (tools/core/metrics.ts); the stores only see this interface, so state/ imports nothing of ours.

export interface StateObserver {
  /** One store operation (`approvals`, `request`), its duration and whether it failed. */
  operation(store: string, op: string, seconds: number, failed: boolean): void;
  /** Whether this replica holds the named lease now. */
  lease(lease: string, held: boolean): void;
}

export const NO_OBSERVER: StateObserver = {
  operation() {},
  lease() {},
};

/** Times `fn` and reports it to `observer`, failures included (then rethrows). */
export async function observed<T>(
  observer: StateObserver,
  store: string,
  op: string,
  fn: () => Promise<T>,
): Promise<T> {
  const start = process.hrtime.bigint();
  let failed = true;
  try {
    const value = await fn();
    failed = false;
    return value;
  } finally {
    observer.operation(store, op, Number(process.hrtime.bigint() - start) / 1e9, failed);
  }
}
