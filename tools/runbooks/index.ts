import type { ToolDef } from '../core/types.js';
import { runbookSearchTools } from './search.js';

export const runbookTools: ToolDef[] = [...runbookSearchTools];
