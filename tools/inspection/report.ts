// Scores and the diff against the previous report. Pure functions over results and findings.
//
// The score (documented in docs/inspections.md):
//   penalty of a check = weight × (0 passed, 0.1 worst finding info, 0.5 warning, 1 critical)
//   scope score        = round(100 × (1 − Σ penalty / Σ weight)) over the scope's evaluated checks
//   overall score      = the same over every evaluated check (the weight-averaged scope scores)
// Checks that could not be evaluated (no data, error, skipped) count for nothing either way and
// are listed apart. Grades: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F.
import type { Scope, Severity } from './check.js';
import type { CheckResult, Report, ReportDiff, ScopeScore, Scores } from './model.js';

const PENALTY: Record<Severity, number> = { critical: 1, warning: 0.5, info: 0.1 };

export function gradeOf(score: number | null): string {
  if (score === null) return '-';
  return score >= 90 ? 'A' : score >= 80 ? 'B' : score >= 70 ? 'C' : score >= 60 ? 'D' : 'F';
}

function scoreOf(checks: CheckResult[]): number | null {
  const evaluated = checks.filter((c) => c.status === 'passed' || c.status === 'failed');
  const weight = evaluated.reduce((a, c) => a + c.weight, 0);
  if (weight === 0) return null;
  const penalty = evaluated.reduce(
    (a, c) => a + (c.status === 'failed' ? c.weight * PENALTY[c.severity ?? 'warning'] : 0),
    0,
  );
  return Math.round(100 * (1 - penalty / weight));
}

export function computeScores(checks: CheckResult[], scopes: Scope[]): Scores {
  const byScope: Partial<Record<Scope, ScopeScore>> = {};
  for (const scope of scopes) {
    const mine = checks.filter((c) => c.scope === scope);
    const score = scoreOf(mine);
    const count = (sev: Severity) => mine.reduce((a, c) => a + (c.bySeverity?.[sev] ?? 0), 0);
    byScope[scope] = {
      score,
      grade: gradeOf(score),
      evaluated: mine.filter((c) => c.status === 'passed' || c.status === 'failed').length,
      failed: mine.filter((c) => c.status === 'failed').length,
      critical: count('critical'),
      warning: count('warning'),
    };
  }
  const overall = scoreOf(checks);
  return { overall, grade: gradeOf(overall), byScope };
}

/** New, resolved and persisting findings (by their stable ids) and the score trend. */
export function diffReports(
  previous: Pick<Report, 'id' | 'createdAt' | 'findings' | 'scores'>,
  current: Pick<Report, 'findings' | 'scores'>,
): ReportDiff {
  const before = new Map(previous.findings.map((f) => [f.id, f]));
  const now = new Set(current.findings.map((f) => f.id));
  const a = previous.scores.overall;
  const b = current.scores.overall;
  return {
    previousId: previous.id,
    previousAt: previous.createdAt,
    new: current.findings.filter((f) => !before.has(f.id)).map((f) => f.id),
    resolved: previous.findings
      .filter((f) => !now.has(f.id))
      .map((f) => ({ id: f.id, checkId: f.checkId, subject: f.subject, severity: f.severity })),
    persisting: current.findings.filter((f) => before.has(f.id)).map((f) => f.id),
    scoreBefore: a,
    scoreAfter: b,
    trend: a === null || b === null ? 'unknown' : b > a ? 'better' : b < a ? 'worse' : 'same',
  };
}
