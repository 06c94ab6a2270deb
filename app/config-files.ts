import { existsSync } from 'node:fs';
import { KubeClusters } from '../tools/clients/kube.js';
import type { Config } from './config.js';
import { loadPolicyFile } from './wiring.js';

/** Keys whose value names a file or folder that must exist (dataDir is created on demand). */
const PATH_KEY = /(file|File|Dir|dirs?|kubeconfig)$/;

function pathsIn(value: unknown, at: string, out: Array<[string, string]>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      pathsIn(v, `${at}[${i}]`, out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const key = at ? `${at}.${k}` : k;
      if (typeof v === 'string' && PATH_KEY.test(k) && key !== 'dataDir') out.push([key, v]);
      else if (Array.isArray(v) && PATH_KEY.test(k) && v.every((x) => typeof x === 'string')) {
        v.forEach((x, i) => {
          out.push([`${key}[${i}]`, x]);
        });
      } else pathsIn(v, key, out);
    }
  }
}

/**
 * What `config check` adds to schema validation: every file the configuration names exists, the
 * policy file is a valid policy, and the kubeconfig loads (with the contexts the config names).
 * Returns one line per problem, each naming the key.
 */
export function checkReferencedFiles(config: Config): string[] {
  const problems: string[] = [];
  const paths: Array<[string, string]> = [];
  pathsIn(config, '', paths);
  for (const [key, path] of paths) {
    if (!existsSync(path)) problems.push(`${key}: ${path} does not exist`);
  }
  if (config.policy.file && existsSync(config.policy.file)) {
    try {
      loadPolicyFile(config.policy.file);
    } catch (e) {
      problems.push(`policy.file: ${(e as Error).message}`);
    }
  }
  if (config.kubernetes.kubeconfig && existsSync(config.kubernetes.kubeconfig)) {
    try {
      new KubeClusters({ ...config.kubernetes });
    } catch (e) {
      problems.push(`kubernetes.kubeconfig: ${(e as Error).message}`);
    }
  }
  return problems;
}
