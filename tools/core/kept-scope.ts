import type { PolicyEngine, ToolFacts } from '../../policies/types.js';
import type { Backends } from '../clients/backends.js';
import type { ToolDef } from './types.js';

/**
 * The policy as the pipeline consults it for tools that read something kept (ToolDef.keptScope):
 * the call is decided on the cluster the kept thing belongs to. A report of cluster `prod` is read
 * under the rules for `prod` whatever the default cluster is and whatever cluster the caller names,
 * so a person allowed on `staging` only cannot read it, and one allowed on `prod` only can.
 */
export function keptScopedPolicy(
  inner: PolicyEngine,
  backends: Backends,
  find: (tool: string) => ToolDef | undefined,
): PolicyEngine {
  const scoped = (tool: ToolFacts, args: Record<string, unknown>): Record<string, unknown> => {
    const def = find(tool.name);
    if (!def?.keptScope) return args;
    const scope = def.keptScope(args, backends);
    return scope ? { ...args, cluster: scope.cluster } : args;
  };
  return {
    decide: (principal, tool, args) => inner.decide(principal, tool, scoped(tool, args)),
    mayApprove: (approver, requester, tool, args, requirement) =>
      inner.mayApprove(approver, requester, tool, scoped(tool, args), requirement),
    mayEverCall: (principal, tool) => inner.mayEverCall(principal, tool),
    personOf: (principal) => inner.personOf(principal),
  };
}
