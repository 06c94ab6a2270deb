// The shapes of an inspection: results per check, findings with evidence, scores, the diff against
// the previous report, and the report itself (stored as JSON, rendered as HTML and summaries).
import type { Scope, Severity, Unit } from './check.js';

export interface Evidence {
  /** The PromQL expression, or the analyzer's name. */
  query?: string;
  analyzer?: string;
  /** The series' labels (PromQL) or the object's facts (analyzers). */
  labels?: Record<string, string>;
  detail?: string;
}

export interface Finding {
  /** Stable across runs for the same check and subject (`F-` and 8 hex digits), so reports can be diffed and cited. */
  id: string;
  checkId: string;
  title: string;
  scope: Scope;
  severity: Severity;
  subject: string;
  namespace?: string;
  value: number;
  /** The band the value crossed (absent for a fixed-severity check). */
  threshold?: number;
  op?: string;
  unit: Unit;
  message: string;
  remediation: string;
  runbook?: string;
  evidence: Evidence;
}

export type CheckStatus = 'passed' | 'failed' | 'no_data' | 'error' | 'skipped';

export interface CheckResult {
  id: string;
  title: string;
  scope: Scope;
  status: CheckStatus;
  weight: number;
  /** The worst severity among its findings. */
  severity?: Severity;
  /** Exact, even when only the worst findings are listed. */
  findings: number;
  bySeverity?: Partial<Record<Severity, number>>;
  /** Why a check could not be evaluated (error, skipped). */
  reason?: string;
  durationMs: number;
}

export interface ScopeScore {
  /** 0-100; null when no check of the scope could be evaluated. */
  score: number | null;
  grade: string;
  evaluated: number;
  failed: number;
  critical: number;
  warning: number;
}

export interface Scores {
  overall: number | null;
  grade: string;
  byScope: Partial<Record<Scope, ScopeScore>>;
}

export interface ReportDiff {
  previousId: string;
  previousAt: string;
  new: string[];
  resolved: Array<{ id: string; checkId: string; subject: string; severity: Severity }>;
  persisting: string[];
  scoreBefore: number | null;
  scoreAfter: number | null;
  trend: 'better' | 'worse' | 'same' | 'unknown';
}

export interface MissedRun {
  plan: string;
  dueAt: string;
  reason: string;
}

export interface Report {
  id: string;
  createdAt: string;
  durationMs: number;
  cluster: string;
  namespace?: string;
  scopes: Scope[];
  /** Who or what started it: a person's id, or `schedule:<plan>`. */
  trigger: { by: string; plan?: string };
  checks: CheckResult[];
  /** Worst first. */
  findings: Finding[];
  scores: Scores;
  diff?: ReportDiff;
  summary: { text: string; author: 'template' | 'agent'; model?: string };
  missedRuns?: MissedRun[];
}

export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
