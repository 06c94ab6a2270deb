import type {
  ApprovalCheck,
  ApprovalRequirement,
  Decision,
  PolicyEngine,
  Principal,
  ToolFacts,
} from '../../policies/types.js';
import { type Backends, OBSERVABILITY_KINDS, type ObservabilityKind } from '../clients/backends.js';
import type { BackendKind } from './toolset.js';

/** The backends a tool reaches, as its toolset declares them (ToolRegistry.backendsOf). */
export type BackendsOf = (tool: ToolFacts) => readonly BackendKind[];

const isObservability = (k: BackendKind): k is ObservabilityKind =>
  (OBSERVABILITY_KINDS as readonly string[]).includes(k);

/**
 * The clusters a call of an observability tool reaches: for each backend kind the toolset uses,
 * the cluster of the instance its `cluster` argument resolves to (a cluster name or an instance
 * name). Empty when no instance resolves; the handler then fails the same way, before any request.
 */
export function reachedClusters(
  backends: Backends,
  kinds: readonly BackendKind[],
  args: Record<string, unknown>,
): Array<string | undefined> {
  const which = typeof args.cluster === 'string' && args.cluster !== '' ? args.cluster : undefined;
  const out = new Set<string | undefined>();
  const sets = kinds.map((kind) =>
    kind === 'ollama' ? backends.ollama : isObservability(kind) ? backends[kind] : undefined,
  );
  for (const set of sets) {
    if (!set?.configured) continue;
    try {
      out.add(set.resolve(which).cluster);
    } catch {
      // this kind has no instance for the call; its handler says so and reaches nothing
    }
  }
  return [...out];
}

/** The arguments as the policy must see them for one reached cluster. */
function scoped(args: Record<string, unknown>, cluster: string | undefined): Record<string, unknown> {
  const { cluster: _asked, ...rest } = args;
  return cluster === undefined ? rest : { ...rest, cluster };
}

const severity = { deny: 2, 'needs-approval': 1, allow: 0 } as const;

/**
 * The policy as the pipeline consults it: observability calls are decided on the cluster of the
 * backend instance they will reach, never on the name they were asked by, so a deny for cluster
 * `prod` also covers `cluster: "prom-main"` when prom-main watches prod. A call reaching more than
 * one cluster (Prometheus and Alertmanager picked by different names) gets the strictest answer.
 */
export function backendScopedPolicy(
  inner: PolicyEngine,
  backends: Backends,
  backendsOf: BackendsOf,
): PolicyEngine {
  const each = (tool: ToolFacts, args: Record<string, unknown>) => {
    const clusters = reachedClusters(backends, backendsOf(tool), args);
    return clusters.length ? clusters.map((c) => scoped(args, c)) : [args];
  };
  return {
    decide(principal: Principal, tool: ToolFacts, args: Record<string, unknown>): Decision {
      let worst: Decision | undefined;
      for (const a of each(tool, args)) {
        const d = inner.decide(principal, tool, a);
        if (!worst || severity[d.effect] > severity[worst.effect]) worst = d;
      }
      return worst!;
    },
    mayApprove(
      approver: Principal,
      requester: Principal,
      tool: ToolFacts,
      args: Record<string, unknown>,
      requirement: ApprovalRequirement,
    ): ApprovalCheck {
      let ok: ApprovalCheck | undefined;
      for (const a of each(tool, args)) {
        const check = inner.mayApprove(approver, requester, tool, a, requirement);
        if (!check.ok) return check;
        ok ??= check;
      }
      return ok!;
    },
    mayEverCall: (principal, tool) => inner.mayEverCall(principal, tool),
    personOf: (principal) => inner.personOf(principal),
  };
}
