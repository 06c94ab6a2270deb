import type { Principal } from '../../policies/types.js';
import type { RunbookDocuments } from '../../rag/knowledge-base.js';
import type { RunbookSearcher } from '../../rag/types.js';
import { BackendSet } from './http-backend.js';
import type { KubeAccess, KubeClusters } from './kube.js';

/** The backend clients toolsets share. Built by app/ from configuration; toolsets never read config. */
export interface Backends {
  kube: KubeClusters;
  /** Observability backends; each set may be empty (tools then say how to configure one). */
  prometheus?: BackendSet;
  alertmanager?: BackendSet;
  jaeger?: BackendSet;
  loki?: BackendSet;
  /** The runbook knowledge base: search (tools, agent) and whole documents (MCP resources). */
  runbooks?: RunbookSearcher;
  runbookDocuments?: RunbookDocuments;
}

export type ObservabilityKind = 'prometheus' | 'alertmanager' | 'jaeger' | 'loki';

/**
 * The observability backends each toolset reaches through its `cluster` argument (a cluster or an
 * instance name). The pipeline resolves that argument to the instance's cluster before the policy
 * decides, so a toolset that calls one of these backends must be listed here.
 */
export const TOOLSET_BACKENDS: Readonly<Record<string, readonly ObservabilityKind[]>> = {
  metrics: ['prometheus', 'alertmanager'],
  traces: ['jaeger'],
  logs: ['loki'],
};

/** What a handler gets: the same clients, bound to the calling principal where the backend can act as them. */
export interface BoundBackends {
  kube: KubeAccess;
  prometheus: BackendSet;
  alertmanager: BackendSet;
  jaeger: BackendSet;
  loki: BackendSet;
  /** Absent when no knowledge base is configured; the runbooks tools then say so. */
  runbooks?: RunbookSearcher;
}

const none = {
  prometheus: new BackendSet('Prometheus', []),
  alertmanager: new BackendSet('Alertmanager', []),
  jaeger: new BackendSet('Jaeger', []),
  loki: new BackendSet('Loki', []),
};

export function bindBackends(backends: Backends, principal: Principal): BoundBackends {
  return {
    kube: backends.kube.as(principal),
    prometheus: backends.prometheus ?? none.prometheus,
    alertmanager: backends.alertmanager ?? none.alertmanager,
    jaeger: backends.jaeger ?? none.jaeger,
    loki: backends.loki ?? none.loki,
    ...(backends.runbooks ? { runbooks: backends.runbooks } : {}),
  };
}
