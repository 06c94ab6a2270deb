import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { manageTools } from './manage.js';
import { pullTools } from './pull.js';
import { readTools } from './reads.js';

/** Ollama model management: what is on disk and in memory, pull, copy, create, unload, delete. */
export const modelTools: ToolDef[] = [...readTools, ...pullTools, ...manageTools];

export const modelsToolset: Toolset = defineToolset({
  name: 'models',
  backends: ['ollama'],
  tools: modelTools,
});
