import { z } from 'zod';
import { namespaceName, objectName } from '../shared/k8s-names.js';

export const TOOLSET = 'canary';

export const clusterArg = z
  .string()
  .min(1)
  .optional()
  .describe(
    'Cluster (kubeconfig context) whose traffic splits to use, and whose Prometheus; omit for the default',
  );

export const namespaceArg = namespaceName;
export const nameArg = objectName;

/** Which kind of object a canary is: a traffic split, or the controller in charge of one. */
export const KINDS = [
  'httproute',
  'linkerd-httproute',
  'trafficsplit',
  'flagger-canary',
  'argo-rollout',
] as const;
export type CanaryKind = (typeof KINDS)[number];

export const kindArg = z
  .enum(KINDS)
  .optional()
  .describe(
    'Kind of object, when a name is used by more than one: httproute (Gateway API), linkerd-httproute (policy.linkerd.io), trafficsplit (SMI), flagger-canary, argo-rollout',
  );

export const readPermission = { toolset: TOOLSET, verb: 'read', namespaced: true } as const;
export const writePermission = { toolset: TOOLSET, verb: 'write', namespaced: true } as const;

export const readAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

export const writeAnnotations = (destructive: boolean, idempotent: boolean) =>
  ({
    readOnlyHint: false,
    destructiveHint: destructive,
    idempotentHint: idempotent,
    openWorldHint: true,
  }) as const;

/** A Prometheus range such as 5m, 30s, 1h: what `{{interval}}` becomes in a query. */
export const windowArg = z
  .string()
  .regex(/^[1-9][0-9]{0,4}(s|m|h)$/, 'must be a Prometheus duration such as 30s, 5m or 1h')
  .default('5m')
  .describe('Window the canary is judged over, as a Prometheus duration (default 5m)');
