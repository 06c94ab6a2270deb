import type { SpanNode, TraceModel } from './analysis.js';
import { clip, fmtMicros } from './common.js';

/**
 * Span tags worth showing next to a span: what it called and how it went. Everything else (request
 * headers, cookies, baggage, arbitrary attributes) stays out of the answer: it is noise, and it is
 * where credentials travel. What is shown still passes the pipeline's redactor.
 */
const NOTABLE_TAGS = [
  'http.method',
  'http.request.method',
  'http.route',
  'http.target',
  'url.path',
  'http.url',
  'url.full',
  'http.status_code',
  'http.response.status_code',
  'rpc.system',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'db.system',
  'db.name',
  'db.operation',
  'db.statement',
  'db.query.text',
  'messaging.system',
  'messaging.destination.name',
  'peer.service',
  'server.address',
  'net.peer.name',
];

export function notableTags(span: SpanNode, max = 4): string[] {
  const out: string[] = [];
  for (const key of NOTABLE_TAGS) {
    const v = span.tags[key];
    if (v === undefined || v === '') continue;
    out.push(`${key}=${clip(v, 160)}`);
    if (out.length >= max) break;
  }
  return out;
}

export function spanLabel(span: SpanNode): string {
  return `${span.service}: ${span.operation}`;
}

interface TreeLine {
  span: SpanNode;
  /** Siblings folded into this line (same service and operation, no children of their own). */
  folded: SpanNode[];
}

/** Depth-first lines, with runs of identical leaf siblings folded into one line. */
function treeLines(roots: SpanNode[], keep?: Set<SpanNode>): { lines: TreeLine[]; hidden: number } {
  const lines: TreeLine[] = [];
  let hidden = 0;
  const stack: SpanNode[][] = [[...roots].reverse()];
  while (stack.length > 0) {
    const level = stack.at(-1)!;
    const span = level.pop();
    if (!span) {
      stack.pop();
      continue;
    }
    if (keep && !keep.has(span)) {
      hidden += countSubtree(span);
      continue;
    }
    const prev = lines.at(-1);
    const foldable =
      span.children.length === 0 &&
      !span.error &&
      prev &&
      prev.span.parent === span.parent &&
      !prev.span.error;
    if (
      foldable &&
      prev.span.children.length === 0 &&
      prev.span.service === span.service &&
      prev.span.operation === span.operation
    ) {
      prev.folded.push(span);
      continue;
    }
    lines.push({ span, folded: [] });
    if (span.children.length > 0) stack.push([...span.children].reverse());
  }
  return { lines, hidden };
}

function countSubtree(span: SpanNode): number {
  let n = 0;
  const stack = [span];
  while (stack.length > 0) {
    const s = stack.pop()!;
    n++;
    stack.push(...s.children);
  }
  return n;
}

/**
 * A compact indented tree: offset from the trace start, duration, self time, service and
 * operation, marks for the critical path (*) and errors (!). When the trace has more lines than
 * `maxLines`, only the spans that matter are kept (critical path, errors, the slowest by self
 * time, and their ancestors), and the rest is counted.
 */
export function renderTree(
  model: TraceModel,
  onPath: Set<SpanNode>,
  important: Set<SpanNode>,
  maxLines: number,
): { text: string[]; shownSpans: number; hiddenSpans: number } {
  let { lines, hidden } = treeLines(model.roots);
  if (lines.length > maxLines) {
    const keep = new Set<SpanNode>();
    for (const s of important) for (let p: SpanNode | undefined = s; p; p = p.parent) keep.add(p);
    ({ lines, hidden } = treeLines(model.roots, keep));
  }
  let cut = 0;
  if (lines.length > maxLines) {
    for (const l of lines.slice(maxLines)) cut += 1 + l.folded.length;
    lines = lines.slice(0, maxLines);
  }
  const text = lines.map(({ span, folded }) => {
    const indent = '  '.repeat(Math.min(span.depth, 12));
    const mark = `${onPath.has(span) ? '*' : ' '}${span.error || folded.some((f) => f.error) ? '!' : ' '}`;
    const at = `+${fmtMicros(span.start - model.start)}`;
    if (folded.length > 0) {
      const all = [span, ...folded];
      const total = all.reduce((n, s) => n + s.duration, 0);
      const max = Math.max(...all.map((s) => s.duration));
      return `${mark} ${at.padStart(9)} ${indent}${all.length}× ${spanLabel(span)} (total ${fmtMicros(total)}, max ${fmtMicros(max)})`;
    }
    const self = span.children.length > 0 ? ` (self ${fmtMicros(span.self)})` : '';
    const err = span.error ? ` ERROR: ${clip(span.error.message, 120)}` : '';
    return `${mark} ${at.padStart(9)} ${indent}${spanLabel(span)} ${fmtMicros(span.duration)}${self}${err}`;
  });
  const shownSpans = lines.reduce((n, l) => n + 1 + l.folded.length, 0);
  return { text, shownSpans, hiddenSpans: hidden + cut };
}
