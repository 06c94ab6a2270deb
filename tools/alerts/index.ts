import { defineToolset, type Toolset } from '../core/toolset.js';
import { alertTriageTools } from './triage.js';

export const alertsToolset: Toolset = defineToolset({
  name: 'alerts',
  backends: ['alerts'],
  tools: alertTriageTools,
});
