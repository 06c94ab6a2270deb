import type { Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { Decision, Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { ToolRegistry } from '../tools/core/registry.js';

/**
 * One kind of resource (runbook documents, alert triage results), readable by principals the
 * policy lets call its gate tool without approval: the same `decide()` as every tool call, and
 * every read audited under the gate tool's name.
 */
export interface ResourceSource {
  gateTool: string;
  template: ResourceTemplate;
  owns(uri: string): boolean;
  list(): Promise<Resource[]>;
  /** The text at `uri` as `principal` may see it (the gate already let them in), or undefined when there is none. */
  read(uri: string, principal: Principal): Promise<{ mimeType: string; text: string } | undefined>;
  /** Calls `changed(uri?)` when the list (no uri) or one resource changed; returns the unsubscribe. */
  watch?(changed: (uri?: string) => void): () => void;
}

/** The gate's decision for `principal`: allow opens the resources, anything else keeps them shut. */
export function gateDecision(
  pipeline: ToolPipeline,
  principal: Principal,
  tool: string,
  args: object,
): Decision {
  const def = pipeline.registry.find(tool);
  if (!def) return { effect: 'deny', reason: `${tool} is not in the tool registry`, rule: 'no-such-tool' };
  return pipeline.policy.decide(principal, ToolRegistry.facts(def), args as Record<string, unknown>);
}
