import { approvalTools } from './approvals/index.js';
import { clusterTools } from './cluster/index.js';
import { ToolRegistry } from './core/registry.js';
import type { ToolDef } from './core/types.js';

/** Every toolset, in catalog order. New toolsets are added here and nowhere else. */
export const toolsets: readonly (readonly ToolDef[])[] = [clusterTools, approvalTools];

export function buildRegistry(): ToolRegistry {
  return new ToolRegistry(toolsets);
}
