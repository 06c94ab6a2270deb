/**
 * Release controllers that may be in charge of a split: Flagger (Canary) and Argo Rollouts (Rollout,
 * AnalysisRun). Their status is read as they write it; Kubemate never writes weights they own, and
 * acts on them only through their own resources.
 */
import type { KubeObject, Split } from './splits.js';

export type ControllerKind = 'flagger' | 'argo';

export interface ControllerView {
  kind: ControllerKind;
  namespace: string;
  name: string;
  resourceVersion: string;
  phase: string;
  message?: string;
  /** The Deployment (or Rollout) being released. */
  target: string;
  /** Canary weight the controller reports, percent. */
  canaryWeight?: number;
  /** Split objects it manages, by name (kind decided by provider). */
  manages: string[];
  stableService?: string;
  canaryService?: string;
  /** "step 2 of 5", "iteration 3, 1 failed check". */
  progress?: string;
  paused?: boolean;
  analysis?: AnalysisView[];
}

export interface AnalysisView {
  name: string;
  phase: string;
  metrics: Array<{
    name: string;
    phase: string;
    count?: number;
    failed?: number;
    inconclusive?: number;
    message?: string;
  }>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
// biome-ignore lint/suspicious/noExplicitAny: controller specs are read field by field from JSON
type Any = any;

export function readFlagger(o: KubeObject): ControllerView {
  const spec = (o.spec ?? {}) as Any;
  const status = (o.status ?? {}) as Any;
  const target = str(spec.targetRef?.name) ?? o.metadata.name;
  const apex = str(spec.service?.name) ?? target;
  const failed = num(status.failedChecks) ?? 0;
  return {
    kind: 'flagger',
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion ?? '',
    phase: str(status.phase) ?? 'Initializing',
    message: str((status.conditions as Any[] | undefined)?.find((c: Any) => c.type === 'Promoted')?.message),
    target,
    canaryWeight: num(status.canaryWeight),
    manages: [apex],
    stableService: `${apex}-primary`,
    canaryService: `${apex}-canary`,
    progress: `iteration ${num(status.iterations) ?? 0}, ${failed} failed check${failed === 1 ? '' : 's'}${spec.analysis?.threshold ? ` of ${spec.analysis.threshold} allowed` : ''}`,
    paused: spec.suspend === true,
  };
}

export function readArgo(o: KubeObject, runs: KubeObject[] = []): ControllerView {
  const spec = (o.spec ?? {}) as Any;
  const status = (o.status ?? {}) as Any;
  const canary = spec.strategy?.canary ?? {};
  const routing = canary.trafficRouting ?? {};
  const manages: string[] = [];
  if (routing.smi) manages.push(str(routing.smi.trafficSplitName) ?? o.metadata.name);
  for (const [plugin, cfg] of Object.entries((routing.plugins ?? {}) as Record<string, Any>)) {
    if (!/gatewayapi/i.test(plugin)) continue;
    if (str(cfg?.httpRoute)) manages.push(cfg.httpRoute);
    for (const r of (cfg?.httpRoutes ?? []) as Any[]) if (str(r?.name)) manages.push(r.name);
  }
  const steps = (canary.steps ?? []) as unknown[];
  const step = num(status.currentStepIndex);
  const mine = runs
    .filter((r) =>
      r.metadata.ownerReferences?.some((ref) => ref.kind === 'Rollout' && ref.name === o.metadata.name),
    )
    .sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
  return {
    kind: 'argo',
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion ?? '',
    phase: status.abort ? 'Aborted' : (str(status.phase) ?? 'Unknown'),
    message: str(status.message),
    target: o.metadata.name,
    canaryWeight: num(status.canary?.weights?.canary?.weight),
    manages,
    stableService: str(canary.stableService),
    canaryService: str(canary.canaryService),
    progress: steps.length ? `step ${Math.min(step ?? 0, steps.length)} of ${steps.length}` : undefined,
    paused: spec.paused === true || ((status.pauseConditions as unknown[] | undefined)?.length ?? 0) > 0,
    analysis: mine.slice(0, 3).map(readAnalysisRun),
  };
}

export function readAnalysisRun(o: KubeObject): AnalysisView {
  const status = (o.status ?? {}) as Any;
  return {
    name: o.metadata.name,
    phase: str(status.phase) ?? 'Pending',
    metrics: ((status.metricResults ?? []) as Any[]).map((m) => ({
      name: String(m.name),
      phase: str(m.phase) ?? 'Pending',
      ...(num(m.count) !== undefined ? { count: m.count } : {}),
      ...(num(m.failed) !== undefined ? { failed: m.failed } : {}),
      ...(num(m.inconclusive) !== undefined ? { inconclusive: m.inconclusive } : {}),
      ...(str(m.message) ? { message: m.message } : {}),
    })),
  };
}

/** The controller in charge of a split: the owner reference it set, or a controller naming the split. */
export function controllerOf(
  split: Split,
  controllers: readonly ControllerView[],
): ControllerView | undefined {
  const inNs = controllers.filter((c) => c.namespace === split.namespace);
  for (const ref of split.owners) {
    const kind =
      ref.kind === 'Canary' && ref.apiVersion.startsWith('flagger.app/')
        ? 'flagger'
        : ref.kind === 'Rollout' && ref.apiVersion.startsWith('argoproj.io/')
          ? 'argo'
          : undefined;
    const hit = kind && inNs.find((c) => c.kind === kind && c.name === ref.name);
    if (hit) return hit;
  }
  return inNs.find((c) => c.manages.includes(split.name));
}

export const CONTROLLER_LABEL: Record<ControllerKind, string> = {
  flagger: 'Flagger Canary',
  argo: 'Argo Rollout',
};
