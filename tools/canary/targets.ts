/**
 * What an analysis compares: the Deployment behind the canary backend against the one behind the
 * stable backend (or, for Flagger, its target against target-primary).
 */

import type { HttpBackend } from '../clients/http-backend.js';
import type { KubeCluster } from '../clients/kube.js';
import { ToolError } from '../core/errors.js';
import type { ToolContext } from '../core/types.js';
import { DEFAULT_THRESHOLDS, type MetricTemplate, type Thresholds } from './analysis.js';
import type { Found } from './inventory.js';
import { backendsOf } from './inventory.js';
import { type AnalysisResult, runAnalysis } from './run-analysis.js';
import { splitWeights } from './splits.js';
import { type Roles, rolesOf } from './weights.js';

export interface Targets {
  canary: string;
  stable?: string;
  roles?: Roles;
}

export async function analysisTargets(
  cluster: KubeCluster,
  found: Found,
  stable: string | undefined,
  signal: AbortSignal,
): Promise<Targets> {
  const { split, controller } = found;
  if (split && split.weighted.length > 0) {
    const names = Object.keys(splitWeights(split));
    const roles = rolesOf(names, stable, controller?.stableService);
    const canaryBackend = roles.canaries[0]!;
    const infos = await backendsOf(cluster, split.namespace, [roles.stable, canaryBackend], signal);
    const deploymentOf = (i: number) => {
      const info = infos[i]!;
      const d = info.deployments[0];
      if (!d) {
        throw new ToolError(
          'not_found',
          `backend ${info.name} of ${split.namespace}/${split.name}: ${info.problem ?? 'no Deployment'}; the analysis needs the Deployment behind it`,
        );
      }
      return d.name;
    };
    // Flagger's canary Service selects the target Deployment's pods; the primary has its own.
    return { canary: deploymentOf(1), stable: deploymentOf(0), roles };
  }
  if (controller?.kind === 'flagger')
    return { canary: controller.target, stable: `${controller.target}-primary` };
  const what = split
    ? `${split.namespace}/${split.name} has no weighted backends`
    : `${controller?.kind} ${controller?.name} manages no split Kubemate can see`;
  throw new ToolError(
    'invalid_arguments',
    `cannot analyse: ${what}; there is no canary and stable to compare`,
  );
}

export interface AnalysisOptions {
  window: string;
  thresholds?: Partial<Thresholds>;
  metrics?: MetricTemplate[];
}

/** The analysis at planning time of a write; undefined (with why) when no Prometheus is configured. */
export async function analyseFor(
  ctx: ToolContext,
  clusterName: string | undefined,
  cluster: KubeCluster,
  found: Found,
  stable: string | undefined,
  opts: AnalysisOptions,
): Promise<{ result?: AnalysisResult; unavailable?: string; targets: Targets }> {
  const targets = await analysisTargets(cluster, found, stable, ctx.signal);
  let prom: HttpBackend;
  try {
    prom = ctx.backends.prometheus.pick(clusterName);
  } catch (e) {
    return { unavailable: (e as Error).message, targets };
  }
  const result = await runAnalysis(
    prom,
    {
      namespace: (found.split ?? found.controller)!.namespace,
      canary: targets.canary,
      ...(targets.stable ? { stable: targets.stable } : {}),
      window: opts.window,
      thresholds: { ...DEFAULT_THRESHOLDS, ...opts.thresholds },
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    },
    ctx.signal,
  );
  return { result, targets };
}
