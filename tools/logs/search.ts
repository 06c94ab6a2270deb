import { z } from 'zod';
import { defineTool, type ToolDef } from '../core/types.js';
import { containerName, namespaceName } from '../shared/k8s-names.js';
import { answer, logqlOutput } from './answer.js';
import { type LokiQueryData, lokiGet, nanos } from './client.js';
import {
  clusterArg,
  DEFAULT_SINCE,
  limitArg,
  lookbackArg,
  readAnnotations,
  TOOLSET,
  timeWindow,
} from './common.js';
import { knownLabels, labelNameArg } from './labels.js';
import { buildLogQL, LABEL_CANDIDATES, labelNames } from './logql.js';

const textList = z
  .union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).min(1).max(10)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

function validRegex(re: string): boolean {
  try {
    new RegExp(re.replace(/^\(\?i\)/, ''));
    return true;
  } catch {
    return false;
  }
}

const regexArg = z
  .string()
  .min(1)
  .max(500)
  .refine(validRegex, 'must be a valid regular expression (RE2 syntax)');

const input = z
  .object({
    cluster: clusterArg,
    namespace: namespaceName.optional().describe('Kubernetes namespace'),
    pod: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('Pod name or name prefix: "api" matches api-7d9f8-x2k4q and api-7d9f8-q8r2m'),
    podRegex: regexArg
      .optional()
      .describe('Regular expression for the pod name (whole name), instead of pod'),
    container: containerName.optional().describe('Container name'),
    app: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('Value of the app label (app, app.kubernetes.io/name…)'),
    labels: z
      .record(labelNameArg, z.string().max(500))
      .optional()
      .describe('Further exact label matches, e.g. {"job":"payments/api","node_name":"node-3"}'),
    contains: textList.optional().describe('Text each line must contain; several: all of them'),
    excludes: textList.optional().describe('Text no line may contain'),
    regex: regexArg.optional().describe('Regular expression each line must match (RE2)'),
    ignoreCase: z.boolean().optional().describe('Match contains/excludes/regex without regard to case'),
    level: z.enum(['error', 'warn']).optional().describe('Only error lines, or warnings and errors'),
    since: lookbackArg.optional().describe(`Window ending now (default ${DEFAULT_SINCE}), e.g. "15m", "6h"`),
    limit: limitArg.optional(),
  })
  .refine(
    (a) => a.namespace || a.pod || a.podRegex || a.container || a.app || Object.keys(a.labels ?? {}).length,
    {
      message:
        'give at least one of namespace, pod, podRegex, container, app or labels: Loki needs a stream to read (logs_label_values lists namespaces)',
    },
  )
  .refine((a) => !(a.pod && a.podRegex), { message: 'give pod or podRegex, not both', path: ['podRegex'] });

const logsSearch = defineTool({
  name: 'logs_search',
  title: 'Logs: Search',
  description:
    "Search Kubernetes logs in Loki without writing LogQL: by namespace, pod (name or prefix), container, app, text the lines contain or must not contain, a regex, and level (error or warn), over a recent window. Answers with the LogQL it ran, exact counts, error lines first, repeated lines clustered into patterns with counts, a time histogram and which pods logged them. Call this for 'what is payments/api logging', 'errors in namespace X in the last hour', 'where does this message come from'.",
  input,
  output: logqlOutput,
  annotations: readAnnotations,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const { startMs, endMs } = timeWindow({ lookback: args.since }, DEFAULT_SINCE);
    // The installation's own label names (Promtail, Alloy and the OpenTelemetry Collector differ).
    const { names: known } = await knownLabels(ctx, args.cluster, startMs, endMs);
    const names = labelNames(known);
    const query = buildLogQL(args, names);
    const limit = args.limit ?? 1000;
    const { data, backend } = await lokiGet<LokiQueryData>(ctx, args.cluster, 'loki/api/v1/query_range', {
      query,
      start: nanos(startMs),
      end: nanos(endMs),
      limit,
      direction: 'backward',
    });
    const preface = [`LogQL: ${query}`];
    const missing = (['namespace', 'pod', 'container', 'app'] as const).filter(
      (role) => (role === 'pod' ? args.pod || args.podRegex : args[role]) && !known.includes(names[role]),
    );
    if (missing.length > 0 && known.length > 0) {
      preface.push(
        `Note: this Loki has no ${missing.map((r) => `${r} label (looked for ${LABEL_CANDIDATES[r].join(', ')})`).join('; ')}; its labels: ${known.join(', ')}. Use labels={…} with one of them.`,
      );
    }
    if (args.level && !names.level) {
      preface.push('No level label in this Loki: the level is matched as a word in the line text.');
    }
    return answer(data, {
      source: backend.label,
      query,
      startMs,
      endMs,
      limit,
      direction: 'backward',
      preface,
    });
  },
});

export const searchTools: ToolDef[] = [logsSearch];
