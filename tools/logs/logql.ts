// Building LogQL from plain arguments, so the model never has to write (or escape) it.

/**
 * A LogQL string literal. LogQL strings are Go string literals: backslash and double quote are
 * escaped, and so are control characters, which may not appear raw.
 */
export function logqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Escapes RE2 metacharacters so the text matches itself literally. */
export function regexEscape(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The label names a Loki installation uses for Kubernetes metadata (Promtail and Alloy defaults). */
export interface LabelNames {
  namespace: string;
  pod: string;
  container: string;
  app: string;
  /** Set only when the installation has a level label. */
  level?: string;
}

/** Candidates for each role, in order of preference: Promtail/Alloy, then OpenTelemetry, then older charts. */
export const LABEL_CANDIDATES: Record<keyof LabelNames, string[]> = {
  namespace: ['namespace', 'k8s_namespace_name', 'kubernetes_namespace_name', 'namespace_name'],
  pod: ['pod', 'k8s_pod_name', 'pod_name', 'kubernetes_pod_name'],
  container: ['container', 'k8s_container_name', 'container_name', 'kubernetes_container_name'],
  app: ['app', 'app_kubernetes_io_name', 'k8s_deployment_name', 'service_name'],
  level: ['level', 'detected_level', 'severity', 'severity_text', 'lvl', 'log_level'],
};

/** Picks, for each role, the first candidate the installation actually has. */
export function labelNames(known: readonly string[]): LabelNames {
  const has = new Set(known);
  const choose = (role: keyof LabelNames) => LABEL_CANDIDATES[role].find((c) => has.has(c));
  const level = choose('level');
  return {
    namespace: choose('namespace') ?? 'namespace',
    pod: choose('pod') ?? 'pod',
    container: choose('container') ?? 'container',
    app: choose('app') ?? 'app',
    ...(level ? { level } : {}),
  };
}

export interface SearchSpec {
  namespace?: string | undefined;
  /** Pod name or prefix: "api" matches api-7d9f8-x2k4q. */
  pod?: string | undefined;
  /** RE2 regex for the pod name, fully anchored as Loki anchors label regexes. */
  podRegex?: string | undefined;
  container?: string | undefined;
  app?: string | undefined;
  /** Further exact label matches. */
  labels?: Record<string, string> | undefined;
  /** Text every line must contain (all of them). */
  contains?: string[] | undefined;
  /** Text no line may contain. */
  excludes?: string[] | undefined;
  /** An RE2 regex the line must match. */
  regex?: string | undefined;
  ignoreCase?: boolean | undefined;
  /** Minimum level: error (error, fatal, panic, critical) or warn (also warnings). */
  level?: 'error' | 'warn' | undefined;
}

const LEVEL_VALUES = {
  error: '(?i)(error|err|fatal|panic|critical|crit|alert|emerg|emergency|severe|dpanic)',
  warn: '(?i)(warn|warning|error|err|fatal|panic|critical|crit|alert|emerg|emergency|severe|dpanic)',
};
/** Without a level label, the line must carry the level as a word. */
const LEVEL_TEXT = {
  error: '(?i)\\b(error|err|fatal|panic|critical|exception)\\b',
  warn: '(?i)\\b(warn|warning|error|err|fatal|panic|critical|exception)\\b',
};

/** The LogQL for a search; every value quoted and escaped. */
export function buildLogQL(spec: SearchSpec, names: LabelNames): string {
  const matchers: string[] = [];
  if (spec.namespace) matchers.push(`${names.namespace}=${logqlString(spec.namespace)}`);
  if (spec.app) matchers.push(`${names.app}=${logqlString(spec.app)}`);
  if (spec.podRegex) matchers.push(`${names.pod}=~${logqlString(spec.podRegex)}`);
  else if (spec.pod) matchers.push(`${names.pod}=~${logqlString(`${regexEscape(spec.pod)}.*`)}`);
  if (spec.container) matchers.push(`${names.container}=${logqlString(spec.container)}`);
  for (const [k, v] of Object.entries(spec.labels ?? {})) matchers.push(`${k}=${logqlString(v)}`);
  if (spec.level && names.level) matchers.push(`${names.level}=~${logqlString(LEVEL_VALUES[spec.level])}`);
  const stages: string[] = [];
  for (const text of spec.contains ?? []) {
    stages.push(
      spec.ignoreCase ? `|~ ${logqlString(`(?i)${regexEscape(text)}`)}` : `|= ${logqlString(text)}`,
    );
  }
  for (const text of spec.excludes ?? []) {
    stages.push(
      spec.ignoreCase ? `!~ ${logqlString(`(?i)${regexEscape(text)}`)}` : `!= ${logqlString(text)}`,
    );
  }
  if (spec.regex) stages.push(`|~ ${logqlString(spec.ignoreCase ? `(?i)${spec.regex}` : spec.regex)}`);
  if (spec.level && !names.level) stages.push(`|~ ${logqlString(LEVEL_TEXT[spec.level])}`);
  return [`{${matchers.join(', ')}}`, ...stages].join(' ');
}
