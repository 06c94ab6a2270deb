// The natural-language summary. Without a model, a clear templated one; with a model, the agent
// writes one from the findings only and must cite them by id. An agent summary that cites an id
// the report does not hold, or none at all, is refused and the templated one is kept.
import type { Report } from './model.js';
import { formatValue } from './runner.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function templatedSummary(r: Omit<Report, 'summary'>): string {
  const lines: string[] = [];
  const critical = r.findings.filter((f) => f.severity === 'critical');
  const warning = r.findings.filter((f) => f.severity === 'warning');
  const evaluated = r.checks.filter((c) => c.status === 'passed' || c.status === 'failed').length;
  const notEvaluated = r.checks.length - evaluated;
  const where = `${r.cluster}${r.namespace ? `/${r.namespace}` : ''}`;
  lines.push(
    `Inspection of ${where} (${r.scopes.join(', ')}) at ${r.createdAt}: score ${r.scores.overall ?? 'n/a'}/100 (grade ${r.scores.grade}). ` +
      `${plural(evaluated, 'check')} evaluated, ${plural(critical.length, 'critical finding')}, ${plural(warning.length, 'warning')}.`,
  );
  if (r.diff) {
    const d = r.diff;
    const trend =
      d.trend === 'unknown'
        ? ''
        : ` Score ${d.scoreBefore ?? 'n/a'} → ${d.scoreAfter ?? 'n/a'} (${d.trend}).`;
    lines.push(
      `Since the previous report (${d.previousAt}): ${plural(d.new.length, 'new finding')}, ${d.resolved.length} resolved, ${d.persisting.length} persisting.${trend}`,
    );
  } else {
    lines.push('This is the first report of its kind: nothing to compare with yet.');
  }
  const scopeLine = Object.entries(r.scores.byScope)
    .map(([s, v]) => `${s} ${v.score ?? 'n/a'}`)
    .join(', ');
  if (scopeLine) lines.push(`By scope: ${scopeLine}.`);
  const top = [...critical, ...warning].slice(0, 8);
  if (top.length) {
    lines.push('Most important:');
    for (const f of top) {
      const t = f.threshold !== undefined ? ` (threshold ${f.op} ${formatValue(f.threshold, f.unit)})` : '';
      lines.push(
        `- [${f.id}] ${f.severity.toUpperCase()} ${f.message}${t}. Fix: ${f.remediation.split('\n')[0]}`,
      );
    }
    const rest = critical.length + warning.length - top.length;
    if (rest > 0) lines.push(`…and ${plural(rest, 'more finding')} in the full report.`);
  } else {
    lines.push('Nothing crossed a threshold.');
  }
  if (notEvaluated > 0) {
    const why = r.checks
      .filter((c) => c.status === 'error')
      .slice(0, 3)
      .map((c) => `${c.id}: ${c.reason}`);
    lines.push(
      `${plural(notEvaluated, 'check')} could not be evaluated (no data, not configured or failed)${why.length ? `; errors: ${why.join('; ')}` : ''}.`,
    );
  }
  if (r.missedRuns?.length) {
    lines.push(
      `Missed runs: ${r.missedRuns.map((m) => `${m.plan} due ${m.dueAt} (${m.reason})`).join('; ')}.`,
    );
  }
  return lines.join('\n');
}

/** The facts a model may use to write the summary: findings only, as data. */
export function summaryFacts(r: Omit<Report, 'summary'>): string {
  return JSON.stringify({
    cluster: r.cluster,
    score: r.scores.overall,
    byScope: Object.fromEntries(Object.entries(r.scores.byScope).map(([k, v]) => [k, v.score])),
    diff: r.diff
      ? { new: r.diff.new, resolved: r.diff.resolved.map((x) => x.id), trend: r.diff.trend }
      : null,
    findings: r.findings.slice(0, 40).map((f) => ({
      id: f.id,
      severity: f.severity,
      check: f.title,
      subject: f.subject,
      value: formatValue(f.value, f.unit),
      threshold: f.threshold !== undefined ? formatValue(f.threshold, f.unit) : undefined,
    })),
  });
}

/**
 * Whether a model-written summary may be used: it cites at least one finding when there are any,
 * and every id it cites is in the report.
 */
export function checkCitations(text: string, r: Pick<Report, 'findings'>): { ok: boolean; reason?: string } {
  const ids = new Set(r.findings.map((f) => f.id));
  const cited = [...text.matchAll(/\bF-[0-9a-f]{8}(?:-\d+)?\b/g)].map((m) => m[0]);
  const unknown = cited.filter((c) => !ids.has(c));
  if (unknown.length)
    return {
      ok: false,
      reason: `cites findings the report does not hold: ${[...new Set(unknown)].join(', ')}`,
    };
  if (ids.size > 0 && cited.length === 0) return { ok: false, reason: 'cites no finding by id' };
  return { ok: true };
}
