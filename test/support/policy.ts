import { parse as parseYaml } from 'yaml';
import { FilePolicyEngine } from '../../policies/engine.js';
import type { GuardSettings } from '../../policies/guard.js';
import { parsePolicy } from '../../policies/policy-file.js';
import type { Principal, ToolFacts, Verb } from '../../policies/types.js';

export const noSwitches: GuardSettings = {
  readOnly: false,
  disableDestructive: false,
  allowTools: [],
  denyTools: [],
};

export function engineFrom(yaml: string, defaultCluster = 'prod-east', guard = noSwitches): FilePolicyEngine {
  return new FilePolicyEngine(parsePolicy(yaml, 'test.yaml', parseYaml), guard, () => defaultCluster);
}

export function tool(
  name: string,
  verb: Verb,
  opts: { toolset?: string; namespaced?: boolean; destructive?: boolean } = {},
): ToolFacts {
  return {
    name,
    permission: { toolset: opts.toolset ?? 'cluster', verb, namespaced: opts.namespaced ?? true },
    annotations: {
      readOnlyHint: verb === 'read',
      destructiveHint: opts.destructive ?? false,
      idempotentHint: true,
      openWorldHint: true,
    },
  };
}

export function who(id: string, groups: string[] = [], source: Principal['source'] = 'chat'): Principal {
  return { id, groups, source };
}
