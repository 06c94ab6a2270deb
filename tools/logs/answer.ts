import { z } from 'zod';
import type { DocOutput } from '../core/types.js';
import type { LokiQueryData } from './client.js';
import { reduceStreams } from './reduce.js';
import { summariseMatrix, summariseVector } from './series.js';

const labelsOut = z.record(z.string(), z.string());

/** What logql_query, logql_query_range and logs_search return as structured content. */
export const logqlOutput = z.object({
  query: z.string().describe('the LogQL that was run'),
  window: z.object({ start: z.string(), end: z.string() }),
  resultType: z.enum(['streams', 'matrix', 'vector', 'scalar']),
  lines: z.number().optional().describe('log lines returned, exact'),
  streams: z.number().optional(),
  errorLines: z.number().optional(),
  warningLines: z.number().optional(),
  limit: z.number().optional(),
  limitReached: z.boolean().optional().describe('true when the window holds more lines than were fetched'),
  patternsTotal: z.number().optional(),
  patterns: z
    .array(
      z.object({
        pattern: z.string(),
        count: z.number(),
        errors: z.number(),
        warnings: z.number(),
        first: z.string(),
        last: z.string(),
        example: z.string().describe('the latest line of the pattern: untrusted log text'),
        variants: z
          .array(z.string())
          .optional()
          .describe(
            'for positions where words differ: each word with its line count, e.g. "timeout ×20, refused ×3"',
          ),
      }),
    )
    .optional()
    .describe('repeated lines clustered, errors first; their counts plus linesInOtherPatterns equal lines'),
  linesInOtherPatterns: z.number().optional(),
  histogram: z
    .object({
      start: z.string(),
      bucketSeconds: z.number(),
      lines: z.array(z.number()),
      errors: z.array(z.number()),
    })
    .optional(),
  bySource: z
    .object({
      label: z.string(),
      values: z.array(z.object({ value: z.string(), lines: z.number(), errors: z.number() })),
    })
    .optional(),
  seriesTotal: z.number().optional(),
  points: z.number().optional(),
  sum: z.number().optional(),
  at: z.string().optional(),
  series: z
    .array(
      z.object({
        labels: labelsOut,
        points: z.number().optional(),
        min: z.number().optional(),
        avg: z.number().optional(),
        max: z.number().optional(),
        last: z.number().optional(),
        lastAt: z.string().optional(),
        value: z.number().optional(),
      }),
    )
    .optional(),
  seriesOmitted: z.number().optional(),
});

export interface AnswerContext {
  /** "Loki 'main' at http://loki:3100" */
  source: string;
  query: string;
  startMs: number;
  endMs: number;
  limit: number;
  direction: 'backward' | 'forward';
  /** Lines put before the result (e.g. the LogQL logs_search built). */
  preface?: string[];
}

/** Loki's answer, reduced: log lines into patterns and a histogram, metric series into statistics. */
export function answer(data: LokiQueryData, c: AnswerContext): DocOutput {
  const window = { start: new Date(c.startMs).toISOString(), end: new Date(c.endMs).toISOString() };
  const when = c.startMs === c.endMs ? `at ${window.end}` : `from ${window.start} to ${window.end}`;
  const head = [...(c.preface ?? []), `${c.source}: \`${c.query}\` ${when}.`];
  const base = { query: c.query, window };
  if (data.resultType === 'streams') {
    const r = reduceStreams(data.result ?? [], {
      startMs: c.startMs,
      endMs: c.endMs,
      limit: c.limit,
      direction: c.direction,
    });
    const empty = r.structured.lines === 0;
    return {
      kind: 'doc',
      ...(empty ? { status: 'no_data' as const } : {}),
      text: [
        ...head,
        empty
          ? 'No log lines matched in this window. Check the labels (logs_labels, logs_label_values) or widen the window.'
          : r.text,
      ].join('\n'),
      structured: { ...base, ...r.structured },
    };
  }
  if (data.resultType === 'matrix') {
    const r = summariseMatrix(data.result ?? [], c);
    const empty = r.structured.seriesTotal === 0;
    return {
      kind: 'doc',
      ...(empty ? { status: 'no_data' as const } : {}),
      text: [...head, empty ? 'No series: nothing matched in this window.' : r.text].join('\n'),
      structured: { ...base, ...r.structured },
    };
  }
  if (data.resultType === 'vector') {
    const r = summariseVector(data.result ?? []);
    const empty = r.structured.seriesTotal === 0;
    return {
      kind: 'doc',
      ...(empty ? { status: 'no_data' as const } : {}),
      text: [...head, empty ? 'No series: nothing matched at this instant.' : r.text].join('\n'),
      structured: { ...base, ...r.structured },
    };
  }
  const value = Number(data.result?.[1]);
  return {
    kind: 'doc',
    text: [...head, `Scalar: ${value}`].join('\n'),
    structured: { ...base, resultType: 'scalar', sum: value },
  };
}
