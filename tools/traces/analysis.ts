import type { JaegerKeyValue, JaegerSpan, JaegerTrace } from './client.js';

/** One span of a trace, linked to its parent and children. Times are microseconds. */
export interface SpanNode {
  id: string;
  parent?: SpanNode;
  /** The parent named by the span but absent from the trace (an incomplete trace). */
  missingParent?: string;
  children: SpanNode[];
  depth: number;
  service: string;
  operation: string;
  kind?: string;
  start: number;
  duration: number;
  end: number;
  /** The span's own time: its duration minus the time covered by its children. */
  self: number;
  tags: Record<string, string>;
  error?: SpanError;
  /** Exception events recorded on a span that is not marked as failed. */
  handledExceptions: string[];
}

export interface SpanError {
  message: string;
  type?: string;
}

export interface TraceModel {
  traceId: string;
  spans: SpanNode[];
  /** Spans without a parent in the trace; normally one. */
  roots: SpanNode[];
  /** The root that the trace's latency is measured from: the longest parentless span. */
  root: SpanNode;
  start: number;
  end: number;
  duration: number;
  services: Map<string, { spans: number; errors: number; pods: Set<string> }>;
  errors: SpanNode[];
  warnings: string[];
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function flattenTags(kvs: JaegerKeyValue[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs ?? []) out[kv.key] = valueText(kv.value);
  return out;
}

/**
 * Whether a span failed, and why. OpenTelemetry spans carry `otel.status_code=ERROR` with the
 * status message in `otel.status_description`, Jaeger and OpenTracing ones `error=true`; either
 * may record exception events (`event=exception` with `exception.type` and `exception.message`).
 */
export function spanError(span: JaegerSpan): { error?: SpanError; handled: string[] } {
  const tags = flattenTags(span.tags);
  const failed = tags.error === 'true' || tags['otel.status_code'] === 'ERROR';
  const exceptions: SpanError[] = [];
  for (const log of span.logs ?? []) {
    const f = flattenTags(log.fields);
    if (f.event === 'exception' || f['exception.type'] || f['exception.message']) {
      const type = f['exception.type'];
      exceptions.push({
        message: f['exception.message'] || f.message || type || 'exception',
        ...(type ? { type } : {}),
      });
    } else if (f.event === 'error' && (f.message || f['error.object'])) {
      exceptions.push({ message: f.message || f['error.object']! });
    }
  }
  const describe = (e: SpanError) =>
    e.type && !e.message.includes(e.type) ? `${e.type}: ${e.message}` : e.message;
  if (!failed) return { handled: exceptions.map(describe) };
  const status = tags['otel.status_description'] || tags['error.message'] || '';
  const first = exceptions[0];
  let message = status || (first ? first.message : '');
  if (status && first && !status.includes(first.message)) message = `${status} (${describe(first)})`;
  const httpStatus = tags['http.status_code'] || tags['http.response.status_code'];
  if (!message) message = httpStatus ? `HTTP ${httpStatus}` : 'marked as error, no message recorded';
  return {
    error: {
      message,
      ...(first?.type ? { type: first.type } : tags['error.type'] ? { type: tags['error.type'] } : {}),
    },
    handled: [],
  };
}

/** Links spans into a tree and computes self times, errors and per-service counts. */
export function buildTrace(trace: JaegerTrace): TraceModel {
  const nodes = new Map<string, SpanNode>();
  for (const s of trace.spans) {
    const process = trace.processes[s.processID];
    const tags = flattenTags(s.tags);
    const { error, handled } = spanError(s);
    nodes.set(s.spanID, {
      id: s.spanID,
      children: [],
      depth: 0,
      service: process?.serviceName ?? s.processID,
      operation: s.operationName,
      ...(tags['span.kind'] ? { kind: tags['span.kind'] } : {}),
      start: s.startTime,
      duration: s.duration,
      end: s.startTime + s.duration,
      self: s.duration,
      tags,
      ...(error ? { error } : {}),
      handledExceptions: handled,
    });
  }
  const roots: SpanNode[] = [];
  for (const s of trace.spans) {
    const node = nodes.get(s.spanID)!;
    const refs = s.references ?? [];
    const ref = refs.find((r) => r.refType === 'CHILD_OF') ?? refs[0];
    const parent = ref && ref.spanID !== s.spanID ? nodes.get(ref.spanID) : undefined;
    if (parent) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      if (ref) node.missingParent = ref.spanID;
      roots.push(node);
    }
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.start - b.start || b.duration - a.duration;
  roots.sort(byStart);
  // Depth-first from the roots: depths, sorted children and self times. Iterative, so a very deep
  // trace cannot overflow the stack; a reference cycle (a broken trace) is cut at the second visit.
  const seen = new Set<SpanNode>();
  const stack = roots.map((r) => ({ node: r, depth: 0 }));
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    node.depth = depth;
    node.children.sort(byStart);
    node.self = node.duration - coveredByChildren(node);
    for (const c of node.children) stack.push({ node: c, depth: depth + 1 });
  }
  const spans = [...nodes.values()];
  const services = new Map<string, { spans: number; errors: number; pods: Set<string> }>();
  for (const s of trace.spans) {
    const node = nodes.get(s.spanID)!;
    const entry = services.get(node.service) ?? { spans: 0, errors: 0, pods: new Set<string>() };
    entry.spans++;
    if (node.error) entry.errors++;
    const ptags = flattenTags(trace.processes[s.processID]?.tags);
    const pod = ptags['k8s.pod.name'] ?? ptags.hostname ?? ptags['host.name'];
    if (pod) entry.pods.add(pod);
    services.set(node.service, entry);
  }
  const start = Math.min(...spans.map((s) => s.start));
  const end = Math.max(...spans.map((s) => s.end));
  const root = roots.reduce((best, r) => (r.duration > best.duration ? r : best), roots[0]!);
  const warnings = [...(trace.warnings ?? [])];
  const orphans = roots.filter((r) => r.missingParent).length;
  if (orphans > 0) {
    warnings.push(
      `${orphans} span(s) name a parent that is not in the trace (spans still arriving, sampled away or dropped)`,
    );
  }
  return {
    traceId: trace.traceID,
    spans,
    roots,
    root,
    start,
    end,
    duration: end - start,
    services,
    errors: spans.filter((s) => s.error).sort((a, b) => a.start - b.start),
    warnings,
  };
}

/** Time within [node.start, node.end] during which at least one child runs. */
function coveredByChildren(node: SpanNode): number {
  let covered = 0;
  let cursor = node.start;
  for (const c of node.children) {
    const from = Math.max(c.start, cursor);
    const to = Math.min(c.end, node.end);
    if (to > from) {
      covered += to - from;
      cursor = to;
    }
  }
  return covered;
}

export interface CriticalSegment {
  span: SpanNode;
  start: number;
  end: number;
}

/**
 * The critical path: the chain of spans that determines the root's end-to-end latency, as the
 * Jaeger UI computes it. Walking back from the root's end, the child that finished last before the
 * current point is the one the parent waited for; the parent's own time after that child ended is
 * on the path, then the walk continues inside the child, and when a span has no earlier child it
 * returns to its parent at the span's start. Children that overlap a later-finishing sibling are
 * off the path. Children are first clipped to their parent's interval (clock skew, async work
 * that outlives its parent). Segments come back in time order; their lengths add up to the
 * root's duration.
 */
export function criticalPath(root: SpanNode): CriticalSegment[] {
  const clipped = new Map<SpanNode, { start: number; end: number }>();
  clipped.set(root, { start: root.start, end: root.end });
  const eligible = new Map<SpanNode, SpanNode[]>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const span = clipped.get(node)!;
    const kids: SpanNode[] = [];
    for (const c of node.children) {
      if (clipped.has(c)) continue;
      const start = Math.max(c.start, span.start);
      const end = Math.min(c.end, span.end);
      if (end < start || c.start >= span.end) continue; // entirely outside its parent
      clipped.set(c, { start, end });
      kids.push(c);
      stack.push(c);
    }
    eligible.set(node, kids);
  }

  const segments: CriticalSegment[] = [];
  const visited = new Set<SpanNode>();
  let span = root;
  let bound = clipped.get(root)!.end;
  for (;;) {
    let next: SpanNode | undefined;
    for (const c of eligible.get(span) ?? []) {
      const end = clipped.get(c)!.end;
      if (visited.has(c) || end > bound) continue;
      if (!next || end > clipped.get(next)!.end) next = c;
    }
    if (next) {
      const childEnd = clipped.get(next)!.end;
      if (childEnd < bound) segments.push({ span, start: childEnd, end: bound });
      visited.add(next);
      span = next;
      bound = childEnd;
      continue;
    }
    const start = clipped.get(span)!.start;
    if (start < bound) segments.push({ span, start, end: bound });
    if (span === root || !span.parent) break;
    bound = start;
    span = span.parent;
  }
  segments.reverse();
  // Adjacent pieces of the same span are one stretch.
  const merged: CriticalSegment[] = [];
  for (const s of segments) {
    const last = merged.at(-1);
    if (last && last.span === s.span && last.end === s.start) last.end = s.end;
    else merged.push({ ...s });
  }
  return merged;
}

/** Critical-path time per span, largest first. */
export function criticalTimeBySpan(path: CriticalSegment[]): Array<{ span: SpanNode; time: number }> {
  const bySpan = new Map<SpanNode, number>();
  for (const s of path) bySpan.set(s.span, (bySpan.get(s.span) ?? 0) + (s.end - s.start));
  return [...bySpan.entries()]
    .map(([span, time]) => ({ span, time }))
    .sort((a, b) => b.time - a.time || a.span.start - b.span.start);
}
