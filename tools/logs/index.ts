import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { labelTools } from './labels.js';
import { queryTools } from './query.js';
import { searchTools } from './search.js';

/** Logs through Loki's HTTP API, reduced for the model. */
export const logsTools: ToolDef[] = [...searchTools, ...queryTools, ...labelTools];

export const logsToolset: Toolset = defineToolset({ name: 'logs', backends: ['loki'], tools: logsTools });
