import { defineToolset, type Toolset } from '../core/toolset.js';
import type { ToolDef } from '../core/types.js';
import { runbookAdminTools } from './admin.js';
import { runbookSearchTools } from './search.js';

export const runbookTools: ToolDef[] = [...runbookSearchTools, ...runbookAdminTools];

export const runbooksToolset: Toolset = defineToolset({
  name: 'runbooks',
  backends: ['runbooks'],
  tools: runbookTools,
});
