import type { ObservabilityKind } from '../clients/backends.js';
import type { ToolDef } from './types.js';

/** What a toolset's tools reach: the cluster, an observability backend, or the runbook knowledge base. */
export type BackendKind = 'kubernetes' | 'runbooks' | 'alerts' | 'ollama' | ObservabilityKind;

/**
 * A toolset declares itself as data: its name (the `toolset` of its tools' permissions), the
 * backends its tools reach, and its tools. The registry, the pipeline (which cluster an
 * observability call reaches), the agent (which tools are worth offering) and the docs loop over
 * these; adding a toolset is its own folder plus one line in tools/index.ts.
 */
export interface Toolset {
  name: string;
  /**
   * Backends the tools call. For observability kinds the pipeline decides on the cluster of the
   * instance a call reaches; a toolset whose backends are all unconfigured is not offered to the
   * model. Empty: the toolset needs nothing but Kubemate's own state (approvals).
   */
  backends: readonly BackendKind[];
  tools: readonly ToolDef[];
}

/** Checks that every tool of the toolset says it belongs to it. */
export function defineToolset(toolset: Toolset): Toolset {
  for (const tool of toolset.tools) {
    if (tool.permission.toolset !== toolset.name) {
      throw new Error(
        `tool '${tool.name}' declares toolset '${tool.permission.toolset}' but is listed in toolset '${toolset.name}'`,
      );
    }
  }
  return toolset;
}
