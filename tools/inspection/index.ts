import { defineToolset, type Toolset } from '../core/toolset.js';
import { inspectionTools } from './tools.js';

/** Inspections: checks as data (PromQL and Kubernetes analyzers), scored reports, diffs and summaries. */
export const inspectionToolset: Toolset = defineToolset({
  name: 'inspection',
  backends: ['kubernetes', 'prometheus'],
  tools: inspectionTools,
});
