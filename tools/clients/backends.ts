import type { KubeClusters } from './kube.js';

/** The backend clients toolsets share. Built by app/ from configuration; toolsets never read config. */
export interface Backends {
  kube: KubeClusters;
}
