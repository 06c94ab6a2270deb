// One inspection, end to end: choose the checks, run them, score, diff against the previous report
// of the same kind, summarise (the agent when a model is wired, else the template) and store.
import { randomBytes } from 'node:crypto';
import type { BackendSet } from '../clients/http-backend.js';
import type { InspectionBackend } from '../clients/inspection-reports.js';
import type { KubeCluster } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import { defaultRedactor, redactDeep } from '../core/redact.js';
import { type Check, formatProblems, loadCheckDir, SCOPES, type Scope, shippedChecks } from './check.js';
import type { MissedRun, Report } from './model.js';
import type { ModelServers } from './model-analyzers.js';
import { computeScores, diffReports } from './report.js';
import { runChecks } from './runner.js';
import { checkCitations, summaryFacts, templatedSummary } from './summary.js';

/** Findings listed per check; the rest are counted (a cluster of 30,000 pods can fail one check 30,000 times). */
export const MAX_FINDINGS_PER_CHECK = 200;

export interface InspectRequest {
  scopes?: Scope[];
  checks?: string[];
  namespace?: string;
  clusterName: string;
  cluster: KubeCluster;
  prometheus: BackendSet;
  /** The cluster's Ollama servers the caller may read, or why none (the models analyzers skip, saying so). */
  models?: ModelServers;
  inspections?: InspectionBackend;
  by: string;
  plan?: string;
  missedRuns?: MissedRun[];
  now?: number;
  signal: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** The shipped catalog plus the users' folder, if one is configured. */
export function catalog(inspections?: InspectionBackend): Check[] {
  const shipped = shippedChecks();
  if (!inspections?.checksDir) return shipped;
  const mine = loadCheckDir(inspections.checksDir, shipped);
  if (mine.problems.length) {
    throw new ToolError(
      'invalid_arguments',
      `the checks in ${inspections.checksDir} are invalid (run \`kubemate inspect checks validate ${inspections.checksDir}\`):\n${formatProblems(mine.problems)}`,
    );
  }
  return [...shipped, ...mine.checks];
}

export function reportKind(
  cluster: string,
  namespace: string | undefined,
  scopes: Scope[],
  checks?: string[],
): string {
  return [
    cluster,
    namespace ?? '*',
    [...scopes].sort().join('+'),
    checks?.length ? [...checks].sort().join('+') : '*',
  ].join('|');
}

export async function inspect(req: InspectRequest): Promise<Report> {
  const started = performance.now();
  const now = req.now ?? Date.now();
  const all = catalog(req.inspections);
  if (req.checks?.length) {
    const known = new Set(all.map((c) => c.id));
    const unknown = req.checks.filter((id) => !known.has(id));
    if (unknown.length) {
      throw new ToolError(
        'invalid_arguments',
        `unknown check id(s): ${unknown.join(', ')}; list them with \`kubemate inspect checks list\``,
      );
    }
  }
  const scopes = req.scopes?.length
    ? [...new Set(req.scopes)]
    : req.checks?.length
      ? [...new Set(all.filter((c) => req.checks!.includes(c.id)).map((c) => c.scope))]
      : [...SCOPES];
  const chosen = all.filter(
    (c) => scopes.includes(c.scope) && (!req.checks?.length || req.checks.includes(c.id)),
  );
  let prometheus: ReturnType<BackendSet['pick']> | undefined;
  let prometheusMissing: string | undefined;
  try {
    prometheus = req.prometheus.pick(req.clusterName);
  } catch (e) {
    prometheusMissing = (e as Error).message;
  }
  const run = await runChecks({
    checks: chosen,
    cluster: req.cluster,
    ...(prometheus ? { prometheus } : {}),
    ...(prometheusMissing ? { prometheusMissing } : {}),
    ...(req.models ? { models: req.models } : {}),
    ...(req.namespace ? { namespace: req.namespace } : {}),
    now,
    signal: req.signal,
    maxFindingsPerCheck: MAX_FINDINGS_PER_CHECK,
    ...(req.onProgress
      ? { onProgress: (d: number, t: number, id: string) => req.onProgress!(d, t, `checked ${id}`) }
      : {}),
  });
  const findings = run.findings;
  const kind = reportKind(req.clusterName, req.namespace, scopes, req.checks);
  const createdAt = new Date(now).toISOString();
  const base: Omit<Report, 'summary'> = {
    id: `insp_${createdAt.replace(/[-:T]/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`,
    createdAt,
    durationMs: 0,
    cluster: req.clusterName,
    ...(req.namespace ? { namespace: req.namespace } : {}),
    scopes,
    trigger: { by: req.by, ...(req.plan ? { plan: req.plan } : {}) },
    checks: run.checks.map((c) =>
      c.findings > MAX_FINDINGS_PER_CHECK
        ? {
            ...c,
            reason: `the worst ${MAX_FINDINGS_PER_CHECK} listed; ${c.findings - MAX_FINDINGS_PER_CHECK} more not listed`,
          }
        : c,
    ),
    findings,
    scores: computeScores(run.checks, scopes),
  };
  const missedRuns = [
    ...(req.missedRuns ?? []),
    ...(req.plan ? ((await req.inspections?.reports?.takeMissed(req.plan)) ?? []) : []),
  ];
  if (missedRuns.length) base.missedRuns = missedRuns;
  const previous = await req.inspections?.reports?.latest(kind, createdAt);
  if (previous) base.diff = diffReports(JSON.parse(previous.body) as Report, base);
  let summary: Report['summary'] = { text: templatedSummary(base), author: 'template' };
  if (req.inspections?.summarise) {
    req.onProgress?.(chosen.length, chosen.length + 1, 'writing the summary');
    try {
      const written = await req.inspections.summarise(summaryFacts(base), req.signal);
      const cited = checkCitations(written.text, base);
      if (cited.ok) summary = { text: written.text.trim(), author: 'agent', model: written.model };
      else summary.text += `\n(The model's summary was not used: it ${cited.reason}.)`;
    } catch (e) {
      summary.text += `\n(No model summary: ${(e as Error).message})`;
    }
  }
  // Stored and served outside the pipeline (/reports, the CLI's HTML): redacted here, once, so
  // that a secret in a label or a message never reaches a page either.
  const report = redactDeep<Report>(
    { ...base, durationMs: Math.round(performance.now() - started), summary },
    defaultRedactor,
  );
  await req.inspections?.reports?.save(
    {
      id: report.id,
      createdAt,
      kind,
      cluster: report.cluster,
      scopes,
      ...(req.plan ? { plan: req.plan } : {}),
      by: req.by,
      score: report.scores.overall,
      critical: sumSeverity(run.checks, 'critical'),
      warning: sumSeverity(run.checks, 'warning'),
      findings: run.checks.reduce((a, c) => a + c.findings, 0),
    },
    JSON.stringify(report),
  );
  return report;
}

function sumSeverity(checks: Report['checks'], severity: 'critical' | 'warning'): number {
  return checks.reduce((a, c) => a + (c.bySeverity?.[severity] ?? 0), 0);
}
