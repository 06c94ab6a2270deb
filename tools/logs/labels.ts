import { z } from 'zod';
import type { HttpBackend } from '../clients/http-backend.js';
import { suggestion } from '../core/errors.js';
import { defineTool, listOutput, type ToolContext, type ToolDef } from '../core/types.js';
import { lokiGet, nanos } from './client.js';
import { clusterArg, lookbackArg, plural, readAnnotations, TOOLSET, timeWindow } from './common.js';
import { LABEL_CANDIDATES } from './logql.js';

const DEFAULT_SINCE = '6h';

export const labelNameArg = z
  .string()
  .regex(
    /^[a-zA-Z_][a-zA-Z0-9_]*$/,
    'must be a Loki label name (letters, digits and _, not starting with a digit)',
  );

const selectorArg = z
  .string()
  .trim()
  .max(2000)
  .regex(/^\{.*\}$/s, 'must be a stream selector such as {namespace="payments"}');

/** Label names Loki has for streams with entries in the window (optionally those a selector picks). */
export async function knownLabels(
  ctx: ToolContext,
  cluster: string | undefined,
  startMs: number,
  endMs: number,
  selector?: string,
): Promise<{ names: string[]; backend: HttpBackend }> {
  const { data, backend } = await lokiGet<string[] | undefined>(ctx, cluster, 'loki/api/v1/labels', {
    start: nanos(startMs),
    end: nanos(endMs),
    query: selector,
  });
  return { names: [...(data ?? [])].filter((n) => n !== '__name__').sort(), backend };
}

const roles = new Map(
  Object.entries(LABEL_CANDIDATES).flatMap(([role, names]) => names.map((n) => [n, role] as const)),
);

const logsLabels = defineTool({
  name: 'logs_labels',
  title: 'Logs: Labels',
  description:
    'List the label names of the log streams in Loki (namespace, pod, container, app, job, node, level…), optionally of the streams a selector picks. Call this first to learn how this Loki labels Kubernetes logs, then logs_label_values for the values of one label.',
  input: z.object({
    cluster: clusterArg,
    selector: selectorArg
      .optional()
      .describe('Only labels of streams matching this selector, e.g. {namespace="payments"}'),
    since: lookbackArg.optional().describe(`Window ending now (default ${DEFAULT_SINCE})`),
  }),
  output: listOutput({
    total: z.number(),
    items: z.array(z.object({ label: z.string(), role: z.string().optional() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { startMs, endMs } = timeWindow({ lookback: args.since }, DEFAULT_SINCE);
    const { names, backend } = await knownLabels(ctx, args.cluster, startMs, endMs, args.selector);
    return {
      kind: 'list',
      header:
        names.length === 0
          ? `${backend.label} has no log streams${args.selector ? ` matching ${args.selector}` : ''} in the last ${args.since ?? DEFAULT_SINCE}.`
          : `${plural(names.length, 'label')} on log streams${args.selector ? ` matching ${args.selector}` : ''} in ${backend.label} over the last ${args.since ?? DEFAULT_SINCE}. ROLE says which Kubernetes field logs_search maps to it.`,
      columns: ['LABEL', 'ROLE'],
      items: names,
      row: (n: string) => [n, roles.get(n) ?? ''],
      toStructured: (n: string) => ({ label: n, ...(roles.has(n) ? { role: roles.get(n)! } : {}) }),
      narrow: 'give a selector such as {namespace="payments"}',
      totals: { total: names.length },
    };
  },
});

const logsLabelValues = defineTool({
  name: 'logs_label_values',
  title: 'Logs: Label Values',
  description:
    'List the values of one log stream label in Loki (every namespace, or every pod of {namespace="payments"}) over the recent window. Call this to find the exact names to search logs for.',
  input: z.object({
    cluster: clusterArg,
    label: labelNameArg.describe('Label name, e.g. namespace, pod, app, container'),
    selector: selectorArg
      .optional()
      .describe('Only values on streams matching this selector, e.g. {namespace="payments"}'),
    since: lookbackArg.optional().describe(`Window ending now (default ${DEFAULT_SINCE})`),
  }),
  output: listOutput({
    label: z.string(),
    total: z.number(),
    items: z.array(z.object({ value: z.string() })),
  }),
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    const { startMs, endMs } = timeWindow({ lookback: args.since }, DEFAULT_SINCE);
    const { data, backend } = await lokiGet<string[] | undefined>(
      ctx,
      args.cluster,
      `loki/api/v1/label/${encodeURIComponent(args.label)}/values`,
      { start: nanos(startMs), end: nanos(endMs), query: args.selector },
    );
    const values = [...(data ?? [])].sort();
    let hint = '';
    if (values.length === 0) {
      const { names } = await knownLabels(ctx, args.cluster, startMs, endMs).catch(() => ({
        names: [] as string[],
      }));
      if (!names.includes(args.label) && names.length > 0) {
        hint = ` There is no label '${args.label}'${suggestion(args.label, names)}; labels: ${names.join(', ')}.`;
      }
    }
    return {
      kind: 'list',
      header:
        values.length === 0
          ? `No values of label '${args.label}'${args.selector ? ` on streams matching ${args.selector}` : ''} in the last ${args.since ?? DEFAULT_SINCE}.${hint}`
          : `${plural(values.length, 'value')} of label '${args.label}'${args.selector ? ` on streams matching ${args.selector}` : ''} in ${backend.label} over the last ${args.since ?? DEFAULT_SINCE}.`,
      columns: [args.label.toUpperCase()],
      items: values,
      row: (v: string) => [v],
      toStructured: (v: string) => ({ value: v }),
      narrow: 'give a selector such as {namespace="payments"}',
      totals: { label: args.label, total: values.length },
    };
  },
});

export const labelTools: ToolDef[] = [logsLabels, logsLabelValues];
