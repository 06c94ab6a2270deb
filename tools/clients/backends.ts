import type { Principal } from '../../policies/types.js';
import type { KubeAccess, KubeClusters } from './kube.js';

/** The backend clients toolsets share. Built by app/ from configuration; toolsets never read config. */
export interface Backends {
  kube: KubeClusters;
}

/** What a handler gets: the same clients, bound to the calling principal where the backend can act as them. */
export interface BoundBackends {
  kube: KubeAccess;
}

export function bindBackends(backends: Backends, principal: Principal): BoundBackends {
  return { kube: backends.kube.as(principal) };
}
