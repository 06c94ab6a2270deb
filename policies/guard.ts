import type { ApprovalCheck, Decision, PolicyEngine, Principal, ToolFacts } from './types.js';

/**
 * The coarse switches every deployment has, applied in one place:
 * read-only mode, disabled destructive tools, and allow/deny lists of tool names (globs).
 */
export interface GuardSettings {
  readOnly: boolean;
  disableDestructive: boolean;
  /** When non-empty, only matching tools exist for callers. */
  allowTools: string[];
  denyTools: string[];
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function matcher(globs: string[]): (name: string) => string | undefined {
  const compiled = globs.map((g) => [g, globToRegExp(g)] as const);
  return (name) => compiled.find(([, re]) => re.test(name))?.[0];
}

/** Returns a deny decision when a switch rules the tool out, otherwise undefined. */
export function guardDecision(settings: GuardSettings, tool: ToolFacts): Decision | undefined {
  const denied = matcher(settings.denyTools)(tool.name);
  if (denied) {
    return { effect: 'deny', reason: `tool '${tool.name}' is on the deny list`, rule: `denyTools:${denied}` };
  }
  if (settings.allowTools.length > 0 && !matcher(settings.allowTools)(tool.name)) {
    return {
      effect: 'deny',
      reason: `tool '${tool.name}' is not on the allow list`,
      rule: 'allowTools',
    };
  }
  if (settings.readOnly && !tool.annotations.readOnlyHint) {
    return {
      effect: 'deny',
      reason: `Kubemate runs in read-only mode; '${tool.name}' changes state`,
      rule: 'readOnly',
    };
  }
  if (settings.disableDestructive && tool.annotations.destructiveHint) {
    return {
      effect: 'deny',
      reason: `destructive tools are disabled; '${tool.name}' is destructive`,
      rule: 'disableDestructive',
    };
  }
  return undefined;
}

/** The rule on decisions taken without a policy file, so an audit record says why. */
export const NO_POLICY_RULE = 'no-policy-file';

/**
 * What a caller is told when a change is refused for want of a policy file: why, and exactly how to
 * configure one.
 */
export function noPolicyReason(tool: string): string {
  return (
    `no policy file is configured, so Kubemate refuses every tool that changes state ('${tool}' does); ` +
    'reads stay open. To allow changes, write a policy file that grants them (roles, bindings and ' +
    'approval rules, in the format of policy.example.yaml), check it with `kubemate policy check FILE`, ' +
    'and set policy.file in the configuration (or KUBEMATE_POLICY__FILE)'
  );
}

/** True for tools that change state: anything not both declared read-only and of the read verb. */
export function changesState(tool: ToolFacts): boolean {
  return !tool.annotations.readOnlyHint || tool.permission.verb !== 'read';
}

/**
 * The policy when no per-person policy file is configured. It fails closed: the guard switches
 * apply, reads are allowed to every principal that reached Kubemate (authenticated by its surface),
 * and every tool that changes state is refused with a message saying how to configure a policy.
 * Without a policy file there is no identity mapping and no impersonation, so calls would run as
 * Kubemate's own Kubernetes identity: that is acceptable for reads on one person's machine, never
 * for changes.
 */
export class GuardOnlyPolicy implements PolicyEngine {
  constructor(private readonly settings: GuardSettings) {}

  decide(_principal: Principal, tool: ToolFacts): Decision {
    const switched = guardDecision(this.settings, tool);
    if (switched) return switched;
    if (changesState(tool))
      return { effect: 'deny', reason: noPolicyReason(tool.name), rule: NO_POLICY_RULE };
    return { effect: 'allow', rule: `${NO_POLICY_RULE}:reads-only` };
  }

  mayEverCall(principal: Principal, tool: ToolFacts): boolean {
    return this.decide(principal, tool).effect !== 'deny';
  }

  personOf(principal: Principal): string {
    return principal.id;
  }

  /** Without a policy file nothing that changes state may run, so there is nothing to approve. */
  mayApprove(): ApprovalCheck {
    return {
      ok: false,
      reason: 'no policy file is configured, so no change can be requested or approved',
    };
  }
}
