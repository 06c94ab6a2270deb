/** Error codes for expected tool failures: each becomes a result with isError, never a thrown protocol error. */
export type ToolErrorCode =
  | 'invalid_arguments'
  | 'unknown_tool'
  | 'unknown_cluster'
  | 'not_found'
  | 'forbidden'
  | 'unauthorized'
  | 'backend_unavailable'
  | 'backend_error'
  | 'timeout'
  /** A bug, or a reply Kubemate could not make sense of: never reported as a backend being down. */
  | 'internal';

export class ToolError extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate, when it is close enough to be a plausible typo or prefix. */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const score = c.startsWith(input) || input.startsWith(c) ? 0.5 : distance(input, c);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.floor(input.length / 3));
  return bestScore <= limit ? best : undefined;
}

export function suggestion(input: string, candidates: readonly string[]): string {
  const hit = didYouMean(input, candidates);
  return hit ? `; did you mean '${hit}'?` : '';
}
