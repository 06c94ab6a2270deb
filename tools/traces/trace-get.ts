import { z } from 'zod';
import { defineTool, type ToolDef } from '../core/types.js';
import { buildTrace, criticalPath, criticalTimeBySpan, type SpanNode, type TraceModel } from './analysis.js';
import { type JaegerTrace, jaegerGet } from './client.js';
import { clip, clusterArg, fmtMicros, plural, readAnnotations, TOOLSET } from './common.js';
import { notableTags, renderTree, spanLabel } from './render.js';

const ms = (us: number) => Math.round(us) / 1000;

const spanRef = z.object({
  spanId: z.string(),
  service: z.string(),
  operation: z.string(),
  durationMs: z.number(),
});

export const traceGetOutput = z.object({
  traceId: z.string(),
  durationMs: z.number().describe('end-to-end: from the first span start to the last span end'),
  spans: z.number(),
  errorSpans: z.number(),
  root: spanRef,
  services: z.array(z.object({ service: z.string(), spans: z.number(), errors: z.number() })),
  criticalPath: z
    .array(spanRef.extend({ criticalMs: z.number(), percent: z.number() }))
    .describe('spans on the critical path with the time each contributes, in order of first appearance'),
  slowestBySelfTime: z.array(spanRef.extend({ selfMs: z.number() })),
  errors: z.array(spanRef.extend({ message: z.string(), type: z.string().optional() })),
  warnings: z.array(z.string()),
  treeLinesShown: z.number(),
  spansNotInTree: z.number(),
});

function ref(s: SpanNode) {
  return { spanId: s.id, service: s.service, operation: s.operation, durationMs: ms(s.duration) };
}

export interface TraceSummaryOptions {
  maxTreeLines: number;
  maxErrors: number;
  maxSlowest: number;
}

/** The whole trace_get answer for one trace: text for the model and its structured form. */
export function summariseTrace(model: TraceModel, opts: TraceSummaryOptions) {
  const path = criticalPath(model.root);
  const onPath = new Set(path.map((s) => s.span));
  const pathTimes = criticalTimeBySpan(path);
  const rootTime = model.root.duration || 1;
  const firstOnPath = new Map<SpanNode, number>();
  for (const seg of path) if (!firstOnPath.has(seg.span)) firstOnPath.set(seg.span, seg.start);
  const critical = pathTimes
    .filter((p) => p.time > 0)
    .sort((a, b) => firstOnPath.get(a.span)! - firstOnPath.get(b.span)!)
    .map((p) => ({ span: p.span, time: p.time, percent: Math.round((1000 * p.time) / rootTime) / 10 }));
  const slowest = [...model.spans]
    .sort((a, b) => b.self - a.self || a.start - b.start)
    .slice(0, opts.maxSlowest);
  const errors = model.errors;
  const services = [...model.services.entries()]
    .map(([service, v]) => ({ service, ...v }))
    .sort((a, b) => b.errors - a.errors || b.spans - a.spans || a.service.localeCompare(b.service));

  const important = new Set<SpanNode>([...onPath, ...errors, ...slowest]);
  const tree = renderTree(model, onPath, important, opts.maxTreeLines);

  const lines: string[] = [];
  const root = model.root;
  lines.push(
    `Trace ${model.traceId}: ${spanLabel(root)}, ${fmtMicros(model.duration)} end to end, ${plural(model.spans.length, 'span')} across ${plural(services.length, 'service')}, ${errors.length === 0 ? 'no errors' : plural(errors.length, 'error span')}. Started ${new Date(model.start / 1000).toISOString()}.`,
  );
  for (const w of model.warnings) lines.push(`Warning: ${w}.`);
  lines.push(
    '',
    `Services: ${services
      .map(
        (s) =>
          `${s.service} (${plural(s.spans, 'span')}${s.errors ? `, ${plural(s.errors, 'error')}` : ''}${s.pods.size ? `; ${[...s.pods].slice(0, 3).join(', ')}${s.pods.size > 3 ? ` +${s.pods.size - 3}` : ''}` : ''})`,
      )
      .join(', ')}.`,
  );
  if (errors.length > 0) {
    lines.push('', `Errors (${errors.length}, in time order):`);
    for (const e of errors.slice(0, opts.maxErrors)) {
      const tags = notableTags(e, 3);
      lines.push(
        `- ${spanLabel(e)} at +${fmtMicros(e.start - model.start)} (${fmtMicros(e.duration)}): ${clip(e.error!.type && !e.error!.message.includes(e.error!.type) ? `${e.error!.type}: ${e.error!.message}` : e.error!.message, 300)}${tags.length ? ` [${tags.join(', ')}]` : ''}`,
      );
    }
    if (errors.length > opts.maxErrors) lines.push(`- … ${errors.length - opts.maxErrors} more error spans`);
  }
  const handled = model.spans.filter((s) => s.handledExceptions.length > 0);
  if (handled.length > 0) {
    lines.push(
      `Exceptions recorded on spans not marked as failed: ${handled
        .slice(0, 3)
        .map((s) => `${spanLabel(s)}: ${clip(s.handledExceptions[0]!, 120)}`)
        .join('; ')}${handled.length > 3 ? `; … ${handled.length - 3} more` : ''}.`,
    );
  }
  lines.push(
    '',
    `Critical path (what the ${fmtMicros(root.duration)} of ${spanLabel(root)} waited on; time each span adds):`,
  );
  for (const c of critical.slice(0, 12)) {
    const tags = notableTags(c.span, 2);
    lines.push(
      `- ${spanLabel(c.span)}: ${fmtMicros(c.time)} (${c.percent}%)${c.span.error ? ' ERROR' : ''}${tags.length ? ` [${tags.join(', ')}]` : ''}`,
    );
  }
  if (critical.length > 12) lines.push(`- … ${critical.length - 12} more spans with smaller shares`);
  lines.push('', 'Slowest spans by self time (time not spent in child spans):');
  for (const s of slowest) {
    lines.push(
      `- ${spanLabel(s)}: self ${fmtMicros(s.self)} of ${fmtMicros(s.duration)}${onPath.has(s) ? ', on the critical path' : ''}`,
    );
  }
  lines.push(
    '',
    `Tree (offset from trace start, duration; * critical path, ! error${tree.hiddenSpans ? `; ${tree.hiddenSpans} less relevant spans left out` : ''}):`,
    ...tree.text,
  );

  const structured = {
    traceId: model.traceId,
    durationMs: ms(model.duration),
    spans: model.spans.length,
    errorSpans: errors.length,
    root: ref(root),
    services: services.map((s) => ({ service: s.service, spans: s.spans, errors: s.errors })),
    criticalPath: critical.map((c) => ({ ...ref(c.span), criticalMs: ms(c.time), percent: c.percent })),
    slowestBySelfTime: slowest.map((s) => ({ ...ref(s), selfMs: ms(s.self) })),
    errors: errors.slice(0, opts.maxErrors).map((e) => ({
      ...ref(e),
      message: clip(e.error!.message, 300),
      ...(e.error!.type ? { type: e.error!.type } : {}),
    })),
    warnings: model.warnings,
    treeLinesShown: tree.text.length,
    spansNotInTree: tree.hiddenSpans,
  };
  return { text: lines.join('\n'), structured };
}

const traceGet = defineTool({
  name: 'trace_get',
  title: 'Traces: Get',
  description:
    'Explain one distributed trace by its ID (from traces_search, a log line or an alert): the critical path (the chain of spans the end-to-end latency waited on, with the time each adds), the slowest spans by self time, every error span with its message (status description or exception), the services touched, and a compact span tree. Call this to find where a slow or failed request spent its time or broke.',
  input: z.object({
    cluster: clusterArg,
    traceId: z
      .string()
      .regex(/^[0-9a-fA-F]{1,32}$/, 'must be a trace ID of up to 32 hexadecimal digits')
      .describe('Trace ID (hex), e.g. from traces_search'),
    maxTreeLines: z
      .number()
      .int()
      .min(5)
      .max(300)
      .optional()
      .describe('Lines of the span tree to show (default 40); large traces keep the spans that matter'),
  }),
  output: traceGetOutput,
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { data } = await jaegerGet<JaegerTrace[]>(
      ctx,
      args.cluster,
      `api/traces/${args.traceId.toLowerCase()}`,
    );
    const trace = data?.[0];
    if (!trace || trace.spans.length === 0) {
      return {
        kind: 'doc',
        status: 'no_data',
        text: `Trace ${args.traceId} has no spans in Jaeger (it may have expired or not been indexed yet).`,
      };
    }
    const { text, structured } = summariseTrace(buildTrace(trace), {
      maxTreeLines: args.maxTreeLines ?? 40,
      maxErrors: 10,
      maxSlowest: 5,
    });
    return { kind: 'doc', text, structured };
  },
});

export const traceGetTools: ToolDef[] = [traceGet];
