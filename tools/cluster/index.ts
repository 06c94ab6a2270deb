import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { applyTools } from './apply.js';
import { describeTools } from './describe.js';
import { eventTools } from './events.js';
import { logTools } from './logs.js';
import { namespaceSummaryTools } from './namespace-summary.js';
import { namespaceTools } from './namespaces.js';
import { nodeWriteTools } from './node-writes.js';
import { nodeTools } from './nodes.js';
import { podWriteTools } from './pod-writes.js';
import { podTools } from './pods.js';
import { resourceTools } from './resources.js';
import { workloadWriteTools } from './workload-writes.js';
import { workloadTools } from './workloads.js';

export const clusterTools: ToolDef[] = [
  ...namespaceTools,
  ...podTools,
  ...eventTools,
  ...namespaceSummaryTools,
  ...workloadTools,
  ...describeTools,
  ...logTools,
  ...nodeTools,
  ...resourceTools,
  ...workloadWriteTools,
  ...podWriteTools,
  ...nodeWriteTools,
  ...applyTools,
];

export const clusterToolset: Toolset = defineToolset({
  name: 'cluster',
  backends: ['kubernetes'],
  tools: clusterTools,
});
