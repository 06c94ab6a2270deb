import type { Principal } from '../../policies/types.js';
import type { RunbookAdmin, RunbookDocuments } from '../../rag/knowledge-base.js';
import type { RunbookSearcher } from '../../rag/types.js';
import type { AlertTriageAccess } from './alerts.js';
import type { CanaryPlanStore } from './canary-plans.js';
import { type BackendKind as BackendName, BackendSet } from './http-backend.js';
import type { InspectionBackend } from './inspection-reports.js';
import type { KubeAccess, KubeClusters } from './kube.js';
import { OllamaSet } from './ollama.js';

/** The backend clients toolsets share. Built by app/ from configuration; toolsets never read config. */
/** Observability backends by kind; each set may be empty (tools then say how to configure one). */
export type Backends = Partial<Record<ObservabilityKind, BackendSet>> & {
  kube: KubeClusters;
  /** The runbook knowledge base: search (tools, agent) and whole documents (MCP resources). */
  runbooks?: RunbookSearcher;
  runbookDocuments?: RunbookDocuments;
  /** Sources, removal and re-ingestion of the configured folders (the runbooks admin tools). */
  runbookAdmin?: RunbookAdmin;
  /** Durable canary_progress plans; absent when Kubemate keeps no state for them. */
  canaryPlans?: CanaryPlanStore;
  /** Inspection reports, users' checks and the summary writer; without it inspections run but are not stored. */
  inspections?: InspectionBackend;
  /** Alert triage on demand; set once alerts are enabled (`alerts.enabled`). */
  alerts?: AlertTriageAccess;
  /** Ollama servers for the models toolset (config `models.ollama`); absent or empty: none configured. */
  ollama?: OllamaSet;
};

/**
 * The HTTP observability backends, by kind, with the name people know them by. Configuration
 * (`observability.<kind>`), wiring and binding loop over this; a new kind is one line here.
 */
export const HTTP_BACKENDS = {
  prometheus: 'Prometheus',
  alertmanager: 'Alertmanager',
  jaeger: 'Jaeger',
  loki: 'Loki',
} as const satisfies Record<string, BackendName>;

export type ObservabilityKind = keyof typeof HTTP_BACKENDS;
export const OBSERVABILITY_KINDS = Object.keys(HTTP_BACKENDS) as ObservabilityKind[];

/** Whether a backend a toolset declares is there to be called (the cluster and approvals always are). */
export function backendConfigured(
  backends: Backends,
  kind: ObservabilityKind | 'kubernetes' | 'runbooks' | 'alerts' | 'ollama',
): boolean {
  if (kind === 'kubernetes') return true;
  if (kind === 'ollama') return !!backends.ollama?.configured;
  if (kind === 'runbooks') return !!backends.runbooks;
  if (kind === 'alerts') return !!backends.alerts;
  return !!backends[kind]?.configured;
}

/** What a handler gets: the same clients, bound to the calling principal where the backend can act as them. */
export type BoundBackends = Record<ObservabilityKind, BackendSet> & {
  kube: KubeAccess;
  /** Absent when no knowledge base is configured; the runbooks tools then say so. */
  runbooks?: RunbookSearcher;
  runbookAdmin?: RunbookAdmin;
  canaryPlans?: CanaryPlanStore;
  inspections?: InspectionBackend;
  alerts?: AlertTriageAccess;
  /** Always present; an empty set's tools say how to configure a server. */
  ollama: OllamaSet;
};

/** An empty set per kind, whose tools say how to configure one. */
const none = Object.fromEntries(
  OBSERVABILITY_KINDS.map((kind) => [kind, new BackendSet(HTTP_BACKENDS[kind], [])]),
) as Record<ObservabilityKind, BackendSet>;

const noOllama = new OllamaSet([]);

export function bindBackends(backends: Backends, principal: Principal): BoundBackends {
  const observability = Object.fromEntries(
    OBSERVABILITY_KINDS.map((kind) => [kind, backends[kind] ?? none[kind]]),
  ) as Record<ObservabilityKind, BackendSet>;
  return {
    ...observability,
    kube: backends.kube.as(principal),
    ...(backends.runbooks ? { runbooks: backends.runbooks } : {}),
    ...(backends.runbookAdmin ? { runbookAdmin: backends.runbookAdmin } : {}),
    ...(backends.canaryPlans ? { canaryPlans: backends.canaryPlans } : {}),
    ...(backends.inspections ? { inspections: backends.inspections } : {}),
    ...(backends.alerts ? { alerts: backends.alerts } : {}),
    ollama: backends.ollama ?? noOllama,
  };
}
