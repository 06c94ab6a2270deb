import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { analyzeTools } from './analyze.js';
import { gateTools } from './gates.js';
import { progressTools } from './progress.js';
import { readTools } from './reads.js';
import { writeTools } from './writes.js';

/** Canary and grey releases: traffic splits, their controllers, analysis, and guarded weight changes. */
export const canaryTools: ToolDef[] = [
  ...readTools,
  ...analyzeTools,
  ...writeTools,
  ...progressTools,
  ...gateTools,
];

export const canaryToolset: Toolset = defineToolset({
  name: 'canary',
  backends: ['kubernetes', 'prometheus'],
  tools: canaryTools,
});
