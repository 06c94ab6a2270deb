import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { dependencyTools } from './dependencies.js';
import { searchTools } from './search.js';
import { traceGetTools } from './trace-get.js';

/** Distributed tracing through Jaeger's query HTTP API. */
export const traceTools: ToolDef[] = [...searchTools, ...traceGetTools, ...dependencyTools];

export const tracesToolset: Toolset = defineToolset({
  name: 'traces',
  backends: ['jaeger'],
  tools: traceTools,
});
