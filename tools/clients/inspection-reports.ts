/**
 * Where inspection reports are kept, as the inspection tools see it. Built by app/ (a SQLite store
 * in the data directory); toolsets never open databases themselves. Bodies are the report as JSON.
 */
export interface ReportMeta {
  id: string;
  createdAt: string;
  /** What the report covers (cluster, namespace, scopes): reports of one kind are diffed. */
  kind: string;
  cluster: string;
  scopes: string[];
  plan?: string;
  by: string;
  score: number | null;
  critical: number;
  warning: number;
  findings: number;
}

export interface InspectionReports {
  save(meta: ReportMeta, body: string): Promise<void>;
  /** Newest first. */
  list(filter: { limit: number; kind?: string; plan?: string; cluster?: string }): Promise<ReportMeta[]>;
  get(id: string): Promise<{ meta: ReportMeta; body: string } | undefined>;
  /**
   * The cluster of a kept report, answered synchronously for the policy (ToolDef.keptScope);
   * undefined when not known here at once. The store may answer only from what it has seen (a
   * shared database): the reading tool checks the policy again once it has read the report.
   */
  clusterOf(id: string): string | undefined;
  /** The newest report of a kind created before `before` (ISO time), for the diff. */
  latest(kind: string, before?: string): Promise<{ meta: ReportMeta; body: string } | undefined>;
  /** Scores of the newest `limit` reports of a kind, oldest first (the trend chart). */
  history(kind: string, limit: number): Promise<Array<{ createdAt: string; score: number | null }>>;
  /** Missed scheduled runs not yet reported; reading marks them reported. */
  takeMissed(plan: string): Promise<Array<{ plan: string; dueAt: string; reason: string }>>;
}

/** What app/ hands the inspection toolset: the report store, users' checks, and a summary writer. */
export interface InspectionBackend {
  reports?: InspectionReports;
  /** A folder of users' checks (YAML), added to the shipped catalog. */
  checksDir?: string;
  /**
   * Writes the natural-language summary with a model, from the findings only (given as JSON data).
   * Absent without a model: the templated summary is used.
   */
  summarise?: (facts: string, signal: AbortSignal) => Promise<{ text: string; model: string }>;
}
