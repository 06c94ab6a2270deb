// Runs checks: PromQL instant queries against Prometheus, named analyzers against the API server.
// Each observation is held against the check's bands; what crosses one becomes a finding with its
// evidence. A check that cannot be evaluated says why (no data, no Prometheus, an error), and
// never counts as passed.
import { createHash } from 'node:crypto';
import type { HttpBackend } from '../clients/http-backend.js';
import type { KubeCluster } from '../clients/kube.js';
import { ANALYZERS, KubeSnapshot, type Observation } from './analyzers.js';
import type { Check, Severity, Unit } from './check.js';
import type { CheckResult, Finding } from './model.js';
import { SEVERITY_RANK } from './model.js';
import { type ModelServers, SkipCheck } from './model-analyzers.js';

export interface RunInput {
  checks: Check[];
  cluster: KubeCluster;
  /** Absent when no Prometheus is configured for the cluster: PromQL checks are then skipped, saying so. */
  prometheus?: HttpBackend;
  prometheusMissing?: string;
  /** The cluster's Ollama servers for the models analyzers, or why there are none to read. */
  models?: ModelServers;
  namespace?: string;
  now: number;
  signal: AbortSignal;
  concurrency?: number;
  /** Findings kept per check, worst first (all by default); counts stay exact. */
  maxFindingsPerCheck?: number;
  onProgress?: (done: number, total: number, checkId: string) => void;
}

export interface RunOutput {
  checks: CheckResult[];
  findings: Finding[];
}

export function findingId(checkId: string, subject: string): string {
  return `F-${createHash('sha256').update(`${checkId}\0${subject}`).digest('hex').slice(0, 8)}`;
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return String(value);
  const round = (v: number) => (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
  switch (unit) {
    case 'percent':
      return `${round(value)}%`;
    case 'ratio':
      return `${round(value * 100)}%`;
    case 'seconds':
      return value >= 1 ? `${round(value)} s` : `${Math.round(value * 1000)} ms`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
      }
      return `${round(v)} ${units[i]}`;
    }
    case 'days':
      return `${round(value)} days`;
    default:
      return String(round(value));
  }
}

function crosses(value: number, op: string, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    default:
      return value <= threshold;
  }
}

/** The severity a value earns under a check, and the threshold it crossed. */
export function grade(check: Check, value: number): { severity: Severity; threshold?: number } | undefined {
  if (check.severity) return { severity: check.severity };
  const b = check.bands!;
  if (!Number.isFinite(value)) return undefined;
  if (b.critical !== undefined && crosses(value, b.op, b.critical))
    return { severity: 'critical', threshold: b.critical };
  if (b.warning !== undefined && crosses(value, b.op, b.warning))
    return { severity: 'warning', threshold: b.warning };
  return undefined;
}

/** `{{name}}` placeholders from the given values; unknown ones are left empty. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, k: string) => values[k] ?? '');
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promObservations(check: Check, prom: HttpBackend, now: number, signal: AbortSignal) {
  const res = await prom.request('api/v1/query', {
    query: { query: check.promql!, time: now / 1000 },
    signal,
  });
  let body: { status?: string; error?: string; data?: { resultType: string; result: unknown } };
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new Error(`${prom.label} answered HTTP ${res.status} with a body that is not JSON`);
  }
  if (res.status >= 300 || body.status !== 'success') {
    throw new Error(`${prom.label} refused the query: ${body.error ?? `HTTP ${res.status}`}`);
  }
  const data = body.data!;
  const samples: PromSample[] =
    data.resultType === 'vector'
      ? (data.result as PromSample[])
      : data.resultType === 'scalar'
        ? [{ metric: {}, value: data.result as [number, string] }]
        : [];
  return samples.map((s) => {
    const { __name__: _, ...labels } = s.metric;
    const shown = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const subject = (check.subject ? fill(check.subject, labels).trim() : '') || shown || check.id;
    return { subject, value: Number(s.value[1]), labels, namespace: labels.namespace };
  });
}

/**
 * A namespace-scoped inspection keeps the series of its namespace and those that belong to no
 * namespace (a node's disk, a database server), as its analyzers keep cluster-wide objects such as
 * nodes; series labelled with another namespace are left out.
 */
function inNamespace<T extends { namespace?: string | undefined }>(
  all: T[],
  namespace: string | undefined,
): T[] {
  if (!namespace) return all;
  return all.filter((o) => o.namespace === undefined || o.namespace === '' || o.namespace === namespace);
}

/** String order as `localeCompare` gives it, without building a collator per comparison. */
const bySubject = new Intl.Collator().compare;

async function runOne(
  check: Check,
  input: RunInput,
  snapshot: KubeSnapshot,
): Promise<{
  result: CheckResult;
  findings: Finding[];
}> {
  const started = performance.now();
  const base = { id: check.id, title: check.title, scope: check.scope, weight: check.weight };
  const done = (r: Omit<CheckResult, keyof typeof base | 'durationMs'>, findings: Finding[] = []) => ({
    result: { ...base, ...r, durationMs: Math.round(performance.now() - started) },
    findings,
  });
  let observations: Array<Observation & { labels?: Record<string, string> }>;
  try {
    if (check.promql) {
      if (!input.prometheus)
        return done({
          status: 'skipped',
          findings: 0,
          reason: input.prometheusMissing ?? 'no Prometheus configured',
        });
      const all = await promObservations(check, input.prometheus, input.now, input.signal);
      observations = inNamespace(all, input.namespace);
      if (all.length && !observations.length) {
        return done({
          status: 'no_data',
          findings: 0,
          reason: `no series of namespace ${input.namespace} (${all.length} of other namespaces left out)`,
        });
      }
    } else {
      const analyzer = ANALYZERS[check.analyzer!.name as keyof typeof ANALYZERS];
      observations = await analyzer({
        snapshot,
        params: check.analyzer!.params,
        now: input.now,
        signal: input.signal,
        ...(input.models ? { models: input.models } : {}),
      });
    }
  } catch (e) {
    if (input.signal.aborted) throw e;
    if (e instanceof SkipCheck) return done({ status: 'skipped', findings: 0, reason: e.message });
    return done({ status: 'error', findings: 0, reason: String((e as Error).message ?? e).slice(0, 500) });
  }
  // An analyzer that finds nothing wrong has looked at everything: that is a pass. A query with no
  // series means the metric is not there, which is not the same as healthy.
  if (check.promql && observations.length === 0) {
    return done({
      status: 'no_data',
      findings: 0,
      reason: 'the query returned no series (is the exporter scraped?)',
    });
  }
  // Graded first, built after: a check can fail once per pod of a large cluster (30,000 times), and
  // only the worst are listed, so only those become findings (message, id, evidence); counts stay exact.
  const graded: Array<{ o: (typeof observations)[number]; g: NonNullable<ReturnType<typeof grade>> }> = [];
  const bySeverity: Partial<Record<Severity, number>> = {};
  for (const o of observations) {
    const g = grade(check, o.value);
    if (!g) continue;
    graded.push({ o, g });
    bySeverity[g.severity] = (bySeverity[g.severity] ?? 0) + 1;
  }
  if (!graded.length) return done({ status: 'passed', findings: 0 });
  const total = graded.length;
  const limit = input.maxFindingsPerCheck ?? Number.POSITIVE_INFINITY;
  if (graded.length > limit) {
    graded.sort(
      (a, b) =>
        SEVERITY_RANK[a.g.severity] - SEVERITY_RANK[b.g.severity] || bySubject(a.o.subject, b.o.subject),
    );
    graded.length = limit;
  }
  const findings: Finding[] = graded.map(({ o, g }) => ({
    id: findingId(check.id, o.subject),
    checkId: check.id,
    title: check.title,
    scope: check.scope,
    severity: g.severity,
    subject: o.subject,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    value: Number.isFinite(o.value) ? o.value : 0,
    ...(g.threshold !== undefined ? { threshold: g.threshold, op: check.bands!.op } : {}),
    unit: check.unit,
    message: fill(check.message, {
      ...(o.labels ?? {}),
      subject: o.subject,
      value: formatValue(o.value, check.unit),
      threshold: g.threshold !== undefined ? formatValue(g.threshold, check.unit) : '',
      detail: o.detail ?? '',
    }),
    remediation: check.remediation,
    ...(check.runbook ? { runbook: check.runbook } : {}),
    evidence: check.promql
      ? {
          query: check.promql,
          ...(o.labels ? { labels: o.labels } : {}),
          ...(o.detail ? { detail: o.detail } : {}),
        }
      : { analyzer: check.analyzer!.name, ...(o.detail ? { detail: o.detail } : {}) },
  }));
  const worst = findings.reduce(
    (a, f) => (SEVERITY_RANK[f.severity] < SEVERITY_RANK[a] ? f.severity : a),
    'info' as Severity,
  );
  return done({ status: 'failed', severity: worst, findings: total, bySeverity }, findings);
}

/** Runs every check with bounded concurrency; results keep the checks' order. */
export async function runChecks(input: RunInput): Promise<RunOutput> {
  const snapshot = new KubeSnapshot(input.cluster, input.namespace, input.signal);
  const results: Array<Awaited<ReturnType<typeof runOne>>> = new Array(input.checks.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < input.checks.length) {
      const i = next++;
      const check = input.checks[i]!;
      results[i] = await runOne(check, input, snapshot);
      done++;
      input.onProgress?.(done, input.checks.length, check.id);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 6) }, worker));
  const findings = results
    .flatMap((r) => r.findings)
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
        a.checkId.localeCompare(b.checkId) ||
        bySubject(a.subject, b.subject),
    );
  // The same subject reported twice by one check (two series with the same subject) keeps one id each.
  const seen = new Map<string, number>();
  for (const f of findings) {
    const n = seen.get(f.id) ?? 0;
    seen.set(f.id, n + 1);
    if (n) f.id = `${f.id}-${n + 1}`;
  }
  return { checks: results.map((r) => r.result), findings };
}
