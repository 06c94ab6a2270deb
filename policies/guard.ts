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

/**
 * The policy used until the per-person policy file is configured: the guard switches, and
 * every principal that reached Kubemate (authenticated by its surface) may call what remains.
 */
export class GuardOnlyPolicy implements PolicyEngine {
  constructor(private readonly settings: GuardSettings) {}

  decide(_principal: Principal, tool: ToolFacts): Decision {
    return guardDecision(this.settings, tool) ?? { effect: 'allow', rule: 'guard:default-allow' };
  }

  mayEverCall(principal: Principal, tool: ToolFacts): boolean {
    return this.decide(principal, tool).effect !== 'deny';
  }

  personOf(principal: Principal): string {
    return principal.id;
  }

  /** Without a policy file nothing needs approval, so there is nothing to approve. */
  mayApprove(): ApprovalCheck {
    return { ok: false, reason: 'no policy file is configured, so no call needs approval' };
  }
}
