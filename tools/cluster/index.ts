import type { ToolDef } from '../core/types.js';
import { eventTools } from './events.js';
import { namespaceTools } from './namespaces.js';
import { podTools } from './pods.js';

export const clusterTools: ToolDef[] = [...namespaceTools, ...podTools, ...eventTools];
