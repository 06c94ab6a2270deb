/**
 * The canary tests' cluster fixtures: the real CRDs of Gateway API, Linkerd, SMI, Flagger and Argo
 * Rollouts (committed under test/env/canary/crds at pinned versions, see its README), installed
 * into the test API server once and left there (CRDs are cluster-wide; installing is idempotent).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeReader } from '../../tools/clients/kube-raw.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Next to this file, or, when compiled for the benchmarks (dist/test/env), in the source tree.
const DIR = [
  path.join(here, 'canary', 'crds'),
  path.join(here, '..', '..', '..', 'test', 'env', 'canary', 'crds'),
].find((d) => existsSync(d))!;

export function canaryCrds(): V1CustomResourceDefinition[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(DIR, f), 'utf8'))
        .map((d) => d.toJS() as V1CustomResourceDefinition | null)
        .filter((d): d is V1CustomResourceDefinition => d?.kind === 'CustomResourceDefinition'),
    );
}

/** Creates each CRD unless it exists, then waits until every one is Established. */
export async function installCanaryCrds(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  // Posted as plain JSON: the generated client's models drop the x-kubernetes-* schema extensions.
  const raw = new KubeReader(kc);
  const crds = canaryCrds();
  for (const crd of crds) {
    await raw
      .request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })
      .catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
  }
  raw.close();
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    for (;;) {
      const got = await api.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata!.name} not Established after 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return crds.map((c) => c.metadata!.name!);
}
