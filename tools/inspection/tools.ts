import { z } from 'zod';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolContext, type ToolDef } from '../core/types.js';
import { namespaceName } from '../shared/k8s-names.js';
import { SCOPES, SEVERITIES } from './check.js';
import { inspect } from './inspect.js';
import type { Finding, Report } from './model.js';
import type { ModelServers } from './model-analyzers.js';
import { formatValue } from './runner.js';

export const TOOLSET = 'inspection';

const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe('Cluster (kubeconfig context) to inspect; omit for the default cluster');

const reportId = z
  .string()
  .regex(/^insp_\d{14}_[0-9a-f]{6}$/, 'must be a report id such as insp_20261207080000_1a2b3c')
  .describe('Report id, from inspection_run or inspection_reports_list');

const readOnly = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

function reports(ctx: ToolContext) {
  const store = ctx.backends.inspections?.reports;
  if (!store) {
    throw new ToolError(
      'backend_unavailable',
      'inspection reports are not kept here (no report store is configured)',
    );
  }
  return store;
}

function findingLine(f: Finding): string {
  const t = f.threshold !== undefined ? ` (threshold ${f.op} ${formatValue(f.threshold, f.unit)})` : '';
  return `[${f.id}] ${f.severity} ${f.scope} ${f.message}${t}`;
}

function compact(r: Report, maxFindings: number) {
  return {
    id: r.id,
    createdAt: r.createdAt,
    cluster: r.cluster,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    scopes: r.scopes,
    score: r.scores.overall,
    grade: r.scores.grade,
    byScope: Object.fromEntries(Object.entries(r.scores.byScope).map(([k, v]) => [k, v.score])),
    checks: {
      total: r.checks.length,
      passed: r.checks.filter((c) => c.status === 'passed').length,
      failed: r.checks.filter((c) => c.status === 'failed').length,
      notEvaluated: r.checks.filter((c) => c.status !== 'passed' && c.status !== 'failed').length,
    },
    findingsTotal: r.findings.length,
    findings: r.findings.slice(0, maxFindings).map((f) => ({
      id: f.id,
      checkId: f.checkId,
      severity: f.severity,
      scope: f.scope,
      subject: f.subject,
      message: f.message,
      value: f.value,
      ...(f.threshold !== undefined ? { threshold: f.threshold } : {}),
    })),
    ...(r.diff
      ? {
          diff: {
            previousId: r.diff.previousId,
            new: r.diff.new.length,
            resolved: r.diff.resolved.length,
            persisting: r.diff.persisting.length,
            trend: r.diff.trend,
          },
        }
      : {}),
    summary: r.summary.text,
    summaryAuthor: r.summary.author,
  };
}

const compactSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  cluster: z.string(),
  namespace: z.string().optional(),
  scopes: z.array(z.string()),
  score: z.number().nullable(),
  grade: z.string(),
  byScope: z.record(z.string(), z.number().nullable()),
  checks: z.object({ total: z.number(), passed: z.number(), failed: z.number(), notEvaluated: z.number() }),
  findingsTotal: z.number(),
  findings: z.array(
    z.object({
      id: z.string(),
      checkId: z.string(),
      severity: z.string(),
      scope: z.string(),
      subject: z.string(),
      message: z.string(),
      value: z.number(),
      threshold: z.number().optional(),
    }),
  ),
  diff: z
    .object({
      previousId: z.string(),
      new: z.number(),
      resolved: z.number(),
      persisting: z.number(),
      trend: z.string(),
    })
    .optional(),
  summary: z.string(),
  summaryAuthor: z.string(),
});

/**
 * The inspected cluster's Ollama servers, read only when the caller may read models there
 * (model_show, decided on that cluster), as the Kubernetes analyzers read only what the caller may.
 */
function modelServers(ctx: ToolContext, cluster: string): ModelServers {
  const servers = ctx.backends.ollama.forCluster(cluster);
  if (!servers.length)
    return { servers, unavailable: `no Ollama server is configured for cluster ${cluster} (models.ollama)` };
  if (ctx.mayCall && !ctx.mayCall('model_show', { cluster })) {
    return {
      servers: [],
      unavailable: `the policy does not let ${ctx.principal.id} read models (model_show) on cluster ${cluster}`,
    };
  }
  return { servers };
}

const inspectionRun = defineTool({
  name: 'inspection_run',
  title: 'Inspection: Run',
  description:
    'Run a health inspection (the daily check of hosts, cluster, applications, databases, certificates and model servers) and get a scored report: findings with evidence, a score per scope, what changed since the previous report, and a plain-language summary citing findings by id. Use it for "how healthy is the cluster", a morning check, or before and after a change. Narrow with scopes, checks (ids) or namespace; the report is kept and can be read again with inspection_report_get.',
  input: z.object({
    cluster: clusterArg,
    scopes: z
      .array(z.enum(SCOPES))
      .max(SCOPES.length)
      .optional()
      .describe(`Scopes to inspect (default all): ${SCOPES.join(', ')}`),
    checks: z
      .array(z.string().regex(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be a check id such as host.disk.space'))
      .max(200)
      .optional()
      .describe('Only these check ids'),
    namespace: namespaceName
      .optional()
      .describe(
        'Limit the inspection to one namespace: namespaced analyzers read only it, and PromQL series labelled with another namespace are left out (nodes and other cluster-wide objects are still checked)',
      ),
    plan: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a plan name such as daily-prod')
      .optional()
      .describe(
        'The schedule plan this run belongs to (set by the scheduler): the report is filed under it and lists its missed runs',
      ),
  }),
  output: compactSchema.extend({ stored: z.boolean() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  permission: { toolset: TOOLSET, verb: 'read', namespaced: true },
  async handler(args, ctx) {
    const cluster = ctx.backends.kube.get(args.cluster);
    const report = await inspect({
      models: modelServers(ctx, cluster.name),
      ...(args.scopes ? { scopes: args.scopes } : {}),
      ...(args.checks ? { checks: args.checks } : {}),
      ...(args.namespace ? { namespace: args.namespace } : {}),
      clusterName: cluster.name,
      cluster,
      prometheus: ctx.backends.prometheus,
      ...(ctx.backends.inspections ? { inspections: ctx.backends.inspections } : {}),
      by: ctx.principal.id,
      ...(args.plan ? { plan: args.plan } : {}),
      signal: ctx.signal,
      onProgress: (progress, total, message) => ctx.progress?.({ progress, total, message }),
    });
    const stored = !!ctx.backends.inspections?.reports;
    return {
      kind: 'doc',
      text: `${report.summary.text}\n\nReport ${report.id}${stored ? ' (kept; read it with inspection_report_get)' : ' (not kept: no report store)'}.`,
      structured: { ...compact(report, 30), stored },
    };
  },
});

const reportsList = defineTool({
  name: 'inspection_reports_list',
  title: 'Inspection: Reports list',
  description:
    'List kept inspection reports, newest first, with score and finding counts. Use it to find a report id, or to see how the score moved over days.',
  input: z.object({
    cluster: z.string().min(1).optional().describe('Only reports of this cluster'),
    plan: z.string().min(1).max(100).optional().describe('Only reports of this schedule plan'),
    limit: z.number().int().min(1).max(200).default(20).describe('How many (default 20)'),
  }),
  output: z.object({
    reports: z.array(
      z.object({
        id: z.string(),
        createdAt: z.string(),
        cluster: z.string(),
        scopes: z.array(z.string()),
        plan: z.string().optional(),
        by: z.string(),
        score: z.number().nullable(),
        critical: z.number(),
        warning: z.number(),
        findings: z.number(),
      }),
    ),
  }),
  annotations: readOnly,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  async handler(args, ctx) {
    // Reports of every cluster are kept together: only those of clusters the caller may read are
    // listed, each cluster decided by the policy as a read of that cluster's reports would be.
    const readable = new Map<string, boolean>();
    const mayRead = (cluster: string) => {
      let ok = readable.get(cluster);
      if (ok === undefined) {
        ok = ctx.mayCall ? ctx.mayCall('inspection_reports_list', { ...args, cluster }) : true;
        readable.set(cluster, ok);
      }
      return ok;
    };
    const list = await reports(ctx).list({
      limit: 1000,
      ...(args.cluster ? { cluster: args.cluster } : {}),
      ...(args.plan ? { plan: args.plan } : {}),
    });
    const rows = list
      .filter((m) => mayRead(m.cluster))
      .slice(0, args.limit)
      .map(({ kind: _k, ...m }) => m);
    return {
      kind: 'doc',
      status: rows.length ? 'success' : 'no_data',
      text: rows.length
        ? rows
            .map(
              (m) =>
                `${m.id}  ${m.createdAt}  ${m.cluster}  score ${m.score ?? 'n/a'}  ${m.critical} critical, ${m.warning} warning  ${m.plan ? `plan ${m.plan}` : `by ${m.by}`}`,
            )
            .join('\n')
        : 'no inspection reports kept yet; run inspection_run',
      structured: { reports: rows },
    };
  },
});

const reportGet = defineTool({
  name: 'inspection_report_get',
  title: 'Inspection: Report get',
  description:
    'Read one kept inspection report: its summary, scores, what changed since the one before, and its findings with evidence and remediation (filter by severity or scope). Use it after inspection_run or inspection_reports_list.',
  input: z.object({
    id: reportId,
    severity: z.enum(SEVERITIES).optional().describe('Only findings of this severity'),
    scope: z.enum(SCOPES).optional().describe('Only findings of this scope'),
    limit: z.number().int().min(1).max(500).default(50).describe('Findings listed (default 50, worst first)'),
  }),
  output: compactSchema,
  annotations: readOnly,
  permission: { toolset: TOOLSET, verb: 'read', namespaced: false },
  // A report is read under the policy for the cluster it inspected, not the default one.
  keptScope(args, backends) {
    try {
      const cluster = backends.inspections?.reports?.clusterOf(String(args.id));
      return cluster !== undefined ? { cluster } : undefined;
    } catch {
      return undefined;
    }
  },
  async handler(args, ctx) {
    const store = reports(ctx);
    const scoped = store.clusterOf(args.id) !== undefined;
    const found = await store.get(args.id);
    if (!found)
      throw new ToolError(
        'not_found',
        `no inspection report ${args.id}; list them with inspection_reports_list`,
      );
    // Decided before the report's cluster was known here (a report another replica wrote): the
    // policy is asked again on that cluster, as keptScope would have had it decided.
    if (!scoped && ctx.mayCall && !ctx.mayCall('inspection_report_get', { ...args }))
      throw new ToolError(
        'forbidden',
        `inspection report ${args.id} is of cluster '${found.meta.cluster}', whose reports you may not read`,
      );
    const r = JSON.parse(found.body) as Report;
    const findings = r.findings.filter(
      (f) => (!args.severity || f.severity === args.severity) && (!args.scope || f.scope === args.scope),
    );
    const shown = findings.slice(0, args.limit);
    const text = [
      r.summary.text,
      '',
      `Findings (${shown.length} of ${findings.length}${args.severity || args.scope ? ' matching' : ''}):`,
      ...shown.map(
        (f) =>
          `${findingLine(f)}\n  evidence: ${f.evidence.query ? `query ${f.evidence.query.trim()}` : `analyzer ${f.evidence.analyzer}`}${f.evidence.detail ? `; ${f.evidence.detail}` : ''}\n  fix: ${f.remediation.trim()}${f.runbook ? ` (runbook ${f.runbook})` : ''}`,
      ),
    ].join('\n');
    return { kind: 'doc', text, structured: compact({ ...r, findings }, args.limit) };
  },
});

export const inspectionTools: ToolDef[] = [inspectionRun, reportsList, reportGet];
