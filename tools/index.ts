import { approvalTools } from './approvals/index.js';
import { clusterTools } from './cluster/index.js';
import { ToolRegistry } from './core/registry.js';
import type { ToolDef } from './core/types.js';
import { logsTools } from './logs/index.js';
import { metricsTools } from './metrics/index.js';
import { runbookTools } from './runbooks/index.js';
import { traceTools } from './traces/index.js';

/** Every toolset, in catalog order. New toolsets are added here and nowhere else. */
export const toolsets: readonly (readonly ToolDef[])[] = [
  clusterTools,
  metricsTools,
  traceTools,
  logsTools,
  runbookTools,
  approvalTools,
];

export function buildRegistry(): ToolRegistry {
  return new ToolRegistry(toolsets);
}
