import { alertsToolset } from './alerts/index.js';
import { approvalsToolset } from './approvals/index.js';
import { canaryToolset } from './canary/index.js';
import { clusterToolset } from './cluster/index.js';
import { ToolRegistry } from './core/registry.js';
import type { Toolset } from './core/toolset.js';
import { inspectionToolset } from './inspection/index.js';
import { logsToolset } from './logs/index.js';
import { metricsToolset } from './metrics/index.js';
import { modelsToolset } from './models/index.js';
import { runbooksToolset } from './runbooks/index.js';
import { tracesToolset } from './traces/index.js';

/** Every toolset, in catalog order. New toolsets are added here and nowhere else. */
export const toolsets: readonly Toolset[] = [
  clusterToolset,
  metricsToolset,
  tracesToolset,
  logsToolset,
  runbooksToolset,
  canaryToolset,
  inspectionToolset,
  alertsToolset,
  modelsToolset,
  approvalsToolset,
];

export function buildRegistry(): ToolRegistry {
  return new ToolRegistry(toolsets);
}
