import { z } from 'zod';
import { backendReadAnnotations } from '../core/types.js';

export const TOOLSET = 'models';

export const readAnnotations = backendReadAnnotations;
export const readPermission = { toolset: TOOLSET, verb: 'read', namespaced: false } as const;
export const writePermission = { toolset: TOOLSET, verb: 'write', namespaced: false } as const;
export const adminPermission = { toolset: TOOLSET, verb: 'admin', namespaced: false } as const;

export const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe(
    "Cluster whose Ollama server to use (a configured server's cluster or name); omit for the default cluster",
  );

/**
 * An Ollama model name as Ollama parses it: [registry-host[:port]/][namespace/]model[:tag]. Checked
 * here so that no path-like or option-like text reaches the server.
 */
const MODEL_NAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?\/)?(?:[A-Za-z0-9][A-Za-z0-9_.-]*\/)?[A-Za-z0-9][A-Za-z0-9_.-]*(?::[A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$/;

export const modelArg = z
  .string()
  .min(1)
  .max(256)
  .regex(
    MODEL_NAME,
    'must be an Ollama model name such as "llama3.1:8b" or "registry.internal:5000/team/model:tag"',
  )
  .refine(
    (n) => !n.split('/').some((part) => part === '.' || part === '..'),
    'must not contain . or .. segments',
  );

export { plural } from '../shared/text.js';
