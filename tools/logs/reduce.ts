import { redactLines } from '../core/redact.js';
import { ERROR_LEVELS, severity as lineSeverity, type Severity, WARN_LEVELS } from '../shared/log-text.js';
import type { LokiStream } from './client.js';
import { fmtLabels, fmtSpan, fmtTime, plural, quoteLog, sparkline, UNTRUSTED_NOTE } from './common.js';
import { type Pattern, PatternClusterer, template, variantSummary } from './patterns.js';

const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'severity_text', 'lvl', 'log_level', 'loglevel'];
/** Labels that tell where a line came from, most specific first. */
const SOURCE_LABELS = [
  'pod',
  'k8s_pod_name',
  'pod_name',
  'container',
  'k8s_container_name',
  'app',
  'service_name',
  'job',
];

/** A level label (from Promtail/Alloy pipelines, Loki 3's detected_level, OTel) wins over the text. */
export function entrySeverity(labels: Record<string, string>, line: string): Severity {
  for (const key of LEVEL_LABELS) {
    const v = labels[key]?.toLowerCase();
    if (!v || v === 'unknown') continue;
    if (ERROR_LEVELS.has(v)) return 'error';
    if (WARN_LEVELS.has(v)) return 'warning';
    return 'other';
  }
  return lineSeverity(line);
}

interface PatternData {
  errors: number;
  warnings: number;
  firstMs: number;
  lastMs: number;
  example: string;
}

export interface ReduceOptions {
  startMs: number;
  endMs: number;
  limit: number;
  direction: 'backward' | 'forward';
  buckets?: number;
  /** Characters of text for patterns and lines, beyond the fixed summary. */
  textBudget?: number;
  maxStructuredPatterns?: number;
}

/** Nanosecond timestamps as decimal strings, compared without parsing. */
const byTimestamp = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

const rank = (p: Pattern<PatternData>) => (p.data.errors > 0 ? 2 : p.data.warnings > 0 ? 1 : 0);

/**
 * Log lines reduced for a model: exact totals, errors first, repeated lines as patterns with
 * counts, a time histogram and where the lines came from. Every quoted line is marked as log text.
 */
export function reduceStreams(streams: LokiStream[], opts: ReduceOptions) {
  const entries = streams
    .flatMap((s) => {
      // Each stream is redacted whole, oldest line first, before lines are clustered: a private
      // key printed over several lines is only recognisable with its header.
      const values = [...s.values].sort((a, b) => byTimestamp(a[0], b[0]));
      const lines = redactLines(
        // Terminal colours are not part of the message.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal escapes is the point
        values.map(([, raw]) => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')),
      );
      return values.map(([ts], i) => {
        const line = lines[i]!;
        return {
          ms: Number(BigInt(ts) / 1_000_000n),
          line,
          labels: s.stream,
          severity: entrySeverity(s.stream, line),
        };
      });
    })
    .sort((a, b) => a.ms - b.ms);
  const clusterer = new PatternClusterer<PatternData>(() => ({
    errors: 0,
    warnings: 0,
    firstMs: Number.POSITIVE_INFINITY,
    lastMs: 0,
    example: '',
  }));
  let errorLines = 0;
  let warningLines = 0;
  for (const e of entries) {
    const p = clusterer.add(e.line);
    if (e.severity === 'error') {
      p.data.errors++;
      errorLines++;
    } else if (e.severity === 'warning') {
      p.data.warnings++;
      warningLines++;
    }
    p.data.firstMs = Math.min(p.data.firstMs, e.ms);
    if (e.ms >= p.data.lastMs) {
      p.data.lastMs = e.ms;
      p.data.example = e.line;
    }
  }
  const patterns = [...clusterer.patterns].sort(
    (a, b) =>
      rank(b) - rank(a) ||
      b.data.errors - a.data.errors ||
      b.count - a.count ||
      b.data.lastMs - a.data.lastMs,
  );

  // Histogram over the query window; with the limit reached, only the fetched part is covered.
  const n = opts.buckets ?? 24;
  const width = Math.max(1, (opts.endMs - opts.startMs) / n);
  const counts = new Array<number>(n).fill(0);
  const errors = new Array<number>(n).fill(0);
  for (const e of entries) {
    const i = Math.min(n - 1, Math.max(0, Math.floor((e.ms - opts.startMs) / width)));
    counts[i]!++;
    if (e.severity === 'error') errors[i]!++;
  }

  // Where the lines come from: the most specific source label that varies.
  const present = SOURCE_LABELS.filter((k) => streams.some((s) => s.stream[k] !== undefined));
  const sourceLabel = present.find((k) => new Set(streams.map((s) => s.stream[k])).size > 1) ?? present[0];
  const bySource = new Map<string, { lines: number; errors: number }>();
  if (sourceLabel) {
    for (const e of entries) {
      const key = e.labels[sourceLabel] ?? '(none)';
      const hit = bySource.get(key) ?? { lines: 0, errors: 0 };
      hit.lines++;
      if (e.severity === 'error') hit.errors++;
      bySource.set(key, hit);
    }
  }
  const sources = [...bySource.entries()]
    .map(([value, v]) => ({ value, ...v }))
    .sort((a, b) => b.errors - a.errors || b.lines - a.lines || a.value.localeCompare(b.value));

  const limitReached = entries.length >= opts.limit;
  const withDate = opts.endMs - opts.startMs > 86_400_000;
  const fetchedFrom = entries[0]?.ms;
  const lines: string[] = [];
  lines.push(
    `${plural(entries.length, 'line')} from ${plural(streams.length, 'stream')}: ${errorLines} error, ${warningLines} warning; ${plural(patterns.length, 'pattern')}.`,
  );
  if (limitReached && fetchedFrom !== undefined) {
    lines.push(
      `The limit of ${opts.limit} lines was reached: these are the ${opts.direction === 'backward' ? 'newest' : 'oldest'} ${opts.limit}${opts.direction === 'backward' ? `, back to ${fmtTime(fetchedFrom, true)}` : ''}; the window holds more. Narrow the query or raise limit for exact counts over the whole window (or use count_over_time with logql_query_range).`,
    );
  }
  if (sourceLabel && sources.length > 0) {
    lines.push(
      `By ${sourceLabel}: ${sources
        .slice(0, 6)
        .map((s) => `${s.value} ${s.lines}${s.errors ? ` (${s.errors} errors)` : ''}`)
        .join(', ')}${sources.length > 6 ? `, … ${sources.length - 6} more` : ''}.`,
    );
  }
  if (entries.length > 0) {
    const peak = counts.indexOf(Math.max(...counts));
    lines.push(
      `Histogram, ${n} buckets of ${fmtSpan(width)} from ${fmtTime(opts.startMs, withDate)} to ${fmtTime(opts.endMs, withDate)} (peak ${counts[peak]} lines at ${fmtTime(opts.startMs + peak * width, withDate)}):`,
      `  lines  ${sparkline(counts)}`,
    );
    if (errorLines > 0) lines.push(`  errors ${sparkline(errors)}`);
  }

  const budget = opts.textBudget ?? 7000;
  let used = 0;
  const body: string[] = [];
  const shown: Pattern<PatternData>[] = [];
  const countLabel = (p: Pattern<PatternData>) => `${p.count}×`.padStart(7);
  for (const p of patterns) {
    const row = [`${countLabel(p)} ${quoteLog(template(p), 240)}`];
    for (const v of variantSummary(p).slice(0, 2)) row.push(`${' '.repeat(8)}${quoteLog(`<*> = ${v}`, 160)}`);
    if (p.data.errors > 0 || p.data.warnings > 0 || p.tokens.includes('<*>')) {
      row.push(`${' '.repeat(8)}${quoteLog(p.data.example, 240)}`);
    }
    const cost = row.reduce((c, l) => c + l.length + 1, 0);
    if (used + cost > budget && shown.length > 0) break;
    used += cost;
    shown.push(p);
    body.push(...row);
  }
  const omitted = patterns.slice(shown.length);
  const omittedLines = omitted.reduce((c, p) => c + p.count, 0);
  if (entries.length > 0) {
    lines.push(
      '',
      UNTRUSTED_NOTE,
      `Patterns (<*> marks what varies; count, pattern, then the latest line when it differs), errors first:`,
      ...body,
    );
    if (omitted.length > 0)
      lines.push(`  … ${plural(omitted.length, 'more pattern')} with ${plural(omittedLines, 'line')}`);
    const newest = entries.slice(-5).reverse();
    lines.push(
      'Newest lines:',
      ...newest.map(
        (e) =>
          `  ${fmtTime(e.ms, withDate)} ${fmtLabels(pick(e.labels, sourceLabel))} ${quoteLog(e.line, 240)}`,
      ),
    );
  }

  const maxStructured = opts.maxStructuredPatterns ?? 15;
  const structuredPatterns = patterns.slice(0, maxStructured);
  const structured = {
    resultType: 'streams' as const,
    lines: entries.length,
    streams: streams.length,
    errorLines,
    warningLines,
    limit: opts.limit,
    limitReached,
    patternsTotal: patterns.length,
    patterns: structuredPatterns.map((p) => ({
      pattern: template(p).slice(0, 200),
      count: p.count,
      errors: p.data.errors,
      warnings: p.data.warnings,
      first: new Date(p.data.firstMs).toISOString(),
      last: new Date(p.data.lastMs).toISOString(),
      example: p.data.example.slice(0, 200),
      ...(p.variants.size > 0 ? { variants: variantSummary(p).slice(0, 3) } : {}),
    })),
    linesInOtherPatterns: patterns.slice(maxStructured).reduce((c, p) => c + p.count, 0),
    histogram: {
      start: new Date(opts.startMs).toISOString(),
      bucketSeconds: Math.round(width / 100) / 10,
      lines: counts,
      errors,
    },
    ...(sourceLabel ? { bySource: { label: sourceLabel, values: sources.slice(0, 20) } } : {}),
  };
  return { text: lines.join('\n'), structured };
}

function pick(labels: Record<string, string>, key: string | undefined): Record<string, string> {
  return key && labels[key] !== undefined ? { [key]: labels[key]! } : {};
}
