// Log text analysis shared by the toolsets that read logs (pods_logs, the Loki tools): the
// severity of a line, and collapsing lines that differ only in timestamps, numbers or ids.
import { clipCounted } from './text.js';

// Collapsing: lines that differ only in timestamps, numbers, hex or ids are one entry with a count.

const TIMESTAMP = [
  // 2024-05-01T12:00:00.123Z, 2024-05-01 12:00:00,123+02:00, 2024/05/01 12:00:00
  /\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g,
  // May  1 12:00:00, 01/May/2024:12:00:00 +0000
  /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}/g,
  /\d{2}\/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2}(?:\s[+-]\d{4})?/g,
];
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const HEX = /\b(?:0x)?(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/gi;
/** Generated names and ids: letters and digits mixed, e.g. the suffix of api-7d9f8-x2k4q. */
const MIXED_ID = /\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{5,}\b/gi;
const NUMBER = /\d+(?:\.\d+)?/g;
/** 12ms, 1.5s, 256Mi, 80%: a number with a unit, before the unit could pass for an id. */
const WITH_UNIT = /\b\d+(?:\.\d+)?(?=[a-zµ]{1,3}\b)/gi;
/** HTTP status codes mean something: 200 and 204 may collapse, 200 and 503 may not. */
const HTTP_STATUS =
  /(HTTP\/\d(?:\.\d)?"?\s+|\b(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+\/\S*\s+|\bstatus(?:_?code)?["']?\s*[:=]\s*["']?)([1-5])\d\d\b/gi;
const STATUS_CLASS = ['', 'informational', 'success', 'redirect', 'clienterror', 'servererror'];

/** The grouping key of a log line: its text with the parts that vary between repeats replaced. */
export function normaliseLine(line: string): string {
  let out = line;
  for (const re of TIMESTAMP) out = out.replace(re, '<ts>');
  return out
    .replace(HTTP_STATUS, (_m, prefix: string, cls: string) => `${prefix}<${STATUS_CLASS[Number(cls)]}>`)
    .replace(UUID, '<uuid>')
    .replace(WITH_UNIT, '<n>')
    .replace(HEX, '<hex>')
    .replace(MIXED_ID, '<id>')
    .replace(NUMBER, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

export type Severity = 'error' | 'warning' | 'other';

export const ERROR_LEVELS: ReadonlySet<string> = new Set([
  'error',
  'err',
  'fatal',
  'panic',
  'critical',
  'crit',
  'severe',
  'alert',
  'emerg',
  'emergency',
  'dpanic',
]);
export const WARN_LEVELS: ReadonlySet<string> = new Set(['warn', 'warning']);
const EXPLICIT_LEVEL = /\b(?:level|lvl|severity|loglevel)["']?\s*[:=]\s*["']?([a-z]+)/i;
const KLOG = /^([IWEF])\d{4}\s/;
const LEVEL_WORD =
  /(?:^|[\s[|(<])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|PANIC|CRITICAL|CRIT|SEVERE)(?=$|[\s\]|):>,])/;
const ERROR_WORDS =
  /\b(?:exception|traceback|panic|fatal|errors?|failed|failure|refused|denied|unable to|cannot|can't|could not|timed? ?out|oomkilled|out of memory|segmentation fault|caused by)\b/i;

/** Error, warning or neither: an explicit level wins (level=, "level":, klog's E0102, [ERROR]); else keywords. */
export function severity(line: string): Severity {
  const explicit = EXPLICIT_LEVEL.exec(line)?.[1]?.toLowerCase();
  const klog = KLOG.exec(line)?.[1];
  const word = LEVEL_WORD.exec(line)?.[1]?.toLowerCase();
  const level =
    explicit ?? (klog ? { I: 'info', W: 'warning', E: 'error', F: 'fatal' }[klog] : undefined) ?? word;
  if (level) {
    if (ERROR_LEVELS.has(level)) return 'error';
    if (WARN_LEVELS.has(level)) return 'warning';
    return 'other';
  }
  // Stack frames of a trace already counted by their first line.
  if (/^\s+at\s|^\s+File "|^\s+\.\.\. \d+ more/.test(line)) return 'other';
  const http = [...line.matchAll(HTTP_STATUS)][0]?.[2];
  if (http === '5') return 'error';
  if (http) return 'other';
  return ERROR_WORDS.test(line) ? 'error' : 'other';
}

export interface LogEntry {
  /** How many lines collapsed into this one. */
  count: number;
  /** The most recent of them, verbatim. */
  text: string;
  severity: Severity;
  /** Line numbers (0-based) of the first and last occurrence. */
  first: number;
  last: number;
}

export interface CollapsedLog {
  lines: number;
  /** Distinct entries, in order of first appearance. */
  entries: LogEntry[];
  errorLines: number;
  warningLines: number;
}

export function collapseLog(text: string): CollapsedLog {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const byKey = new Map<string, LogEntry>();
  let errorLines = 0;
  let warningLines = 0;
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const key = normaliseLine(line);
    const sev = severity(line);
    if (sev === 'error') errorLines++;
    else if (sev === 'warning') warningLines++;
    const hit = byKey.get(key);
    if (hit) {
      hit.count++;
      hit.text = line;
      hit.last = i;
      if (sev === 'error') hit.severity = 'error';
    } else {
      byKey.set(key, { count: 1, text: line, severity: sev, first: i, last: i });
    }
  }
  return { lines: lines.length, entries: [...byKey.values()], errorLines, warningLines };
}

const LINE_CHARS = 400;

function entryLine(e: LogEntry): string {
  return `${e.count > 1 ? `[×${e.count}] ` : ''}${clipCounted(e.text, LINE_CHARS)}`;
}

/**
 * Renders the collapsed log: the distinct error lines first (most recent first), then the log
 * itself, cut from the oldest end when over `maxChars` so the newest lines always show.
 */
export function renderCollapsed(
  log: CollapsedLog,
  maxChars = 12_000,
  maxErrors = 10,
): {
  errors: LogEntry[];
  shown: LogEntry[];
  omitted: number;
  text: string;
} {
  const errors = log.entries
    .filter((e) => e.severity === 'error')
    .sort((a, b) => b.last - a.last)
    .slice(0, maxErrors);
  const shown: LogEntry[] = [];
  let used = 0;
  for (let i = log.entries.length - 1; i >= 0; i--) {
    const line = entryLine(log.entries[i]!);
    if (used + line.length + 1 > maxChars && shown.length > 0) break;
    used += line.length + 1;
    shown.unshift(log.entries[i]!);
  }
  const omitted = log.entries.length - shown.length;
  const distinctErrors = log.entries.filter((e) => e.severity === 'error').length;
  const parts: string[] = [];
  if (errors.length > 0) {
    parts.push(
      `Errors: ${log.errorLines} lines, ${distinctErrors} distinct${distinctErrors > errors.length ? ` (the ${errors.length} most recent shown)` : ''}, most recent first:`,
      ...errors.map((e) => `  ${entryLine(e)}`),
      '',
    );
  }
  parts.push(
    'Log (similar lines differing only in numbers, ids or timestamps are collapsed into one, [×N], showing the latest):',
  );
  if (omitted > 0) parts.push(`… ${omitted} earlier distinct lines not shown`);
  parts.push(...shown.map(entryLine));
  return { errors, shown, omitted, text: parts.join('\n') };
}
