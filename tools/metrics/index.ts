import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { alertTools } from './alerts.js';
import { discoveryTools } from './discovery.js';
import { goldenTools } from './golden.js';
import { nodeUsageTools } from './node-usage.js';
import { queryTools } from './query.js';
import { silenceTools } from './silences.js';

/** Prometheus and Alertmanager: queries summarised for the model, discovery, alerts, silences, golden signals. */
export const metricsTools: ToolDef[] = [
  ...queryTools,
  ...discoveryTools,
  ...alertTools,
  ...silenceTools,
  ...goldenTools,
  ...nodeUsageTools,
];

export const metricsToolset: Toolset = defineToolset({
  name: 'metrics',
  backends: ['prometheus', 'alertmanager'],
  tools: metricsTools,
});
