import type { ContainerStatusSpec, PodStatusSpec } from '../schema.js';
import { durationMs, type Vars } from '../template.js';
import { type AdminRest, isStatus, type KubeObject } from './rest.js';
import { waitUntil } from './wait.js';

interface Pod extends KubeObject {
  spec?: {
    containers?: { name: string; image?: string }[];
    initContainers?: { name: string; image?: string }[];
    nodeName?: string;
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function terminatedState(t: NonNullable<ContainerStatusSpec['lastState']>['terminated'], now: number) {
  const finished = now - durationMs(t.ago ?? '30s');
  const { ago: _ago, ...rest } = t;
  return { ...rest, startedAt: iso(finished - 60_000), finishedAt: iso(finished) };
}

function containerStatus(spec: ContainerStatusSpec, image: string, now: number): Record<string, unknown> {
  const s = spec.state;
  const state =
    'waiting' in s
      ? { waiting: s.waiting }
      : 'running' in s
        ? { running: { startedAt: iso(now - durationMs(s.running.ago ?? '2m')) } }
        : { terminated: terminatedState(s.terminated, now) };
  return {
    name: spec.name,
    image,
    imageID: '',
    ready: spec.ready,
    restartCount: spec.restartCount,
    started: spec.started ?? 'running' in s,
    state,
    ...(spec.lastState ? { lastState: { terminated: terminatedState(spec.lastState.terminated, now) } } : {}),
  };
}

function mergeContainers(
  existing: Record<string, unknown>[] | undefined,
  specs: { name: string; image?: string }[] | undefined,
  patches: ContainerStatusSpec[],
  now: number,
): Record<string, unknown>[] | undefined {
  if (patches.length === 0) return existing;
  return (specs ?? []).map((c) => {
    const patch = patches.find((p) => p.name === c.name);
    if (patch) return containerStatus(patch, c.image ?? '', now);
    return (
      existing?.find((e) => e.name === c.name) ?? {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'PodInitializing' } },
      }
    );
  });
}

function applyPatch(pod: Pod, p: PodStatusSpec, now: number): void {
  pod.status ??= {};
  const status = pod.status;
  for (const name of p.containers.map((c) => c.name).concat(p.initContainers.map((c) => c.name))) {
    const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    if (!all.some((c) => c.name === name)) {
      throw new Error(
        `pod ${pod.metadata?.name} has no container '${name}' (it has ${all.map((c) => c.name).join(', ')})`,
      );
    }
  }
  if (p.phase) status.phase = p.phase;
  if (p.since) {
    const at = iso(now - durationMs(p.since));
    status.startTime = at;
    for (const c of (status.conditions as Record<string, unknown>[] | undefined) ?? [])
      c.lastTransitionTime = at;
  }
  if (p.reason) status.reason = p.reason;
  if (p.message) status.message = p.message;
  status.containerStatuses = mergeContainers(
    status.containerStatuses as Record<string, unknown>[] | undefined,
    pod.spec?.containers,
    p.containers,
    now,
  );
  status.initContainerStatuses = mergeContainers(
    status.initContainerStatuses as Record<string, unknown>[] | undefined,
    pod.spec?.initContainers,
    p.initContainers,
    now,
  );
  // Unless said otherwise, the pod is ready when every container the patch describes is.
  const described = [...p.containers, ...p.initContainers];
  const ready = p.ready ?? (described.length > 0 ? described.every((c) => c.ready) : undefined);
  if (ready !== undefined) {
    const conditions = ((status.conditions as Record<string, unknown>[] | undefined) ?? []).filter(
      (c) => c.type !== 'Ready' && c.type !== 'ContainersReady',
    );
    const reason = p.phase === 'Failed' || p.phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady';
    const containersReady = described.length > 0 && described.every((c) => c.ready);
    for (const type of ['Ready', 'ContainersReady']) {
      const ok = type === 'ContainersReady' && p.readyReason ? containersReady : ready;
      conditions.push({
        type,
        status: ok ? 'True' : 'False',
        lastTransitionTime: iso(now - (p.since ? durationMs(p.since) : 60_000)),
        ...(ok ? {} : { reason: type === 'Ready' && p.readyReason ? p.readyReason : reason }),
      });
    }
    status.conditions = conditions;
  }
}

/**
 * Writes a scenario's pod status: waits until the pods exist and kwok has started them (kwok never
 * touches a started pod again; gated pods it never starts), then replaces their status.
 * Returns the variables naming the patched pods.
 */
export async function patchPods(
  rest: AdminRest,
  namespace: string,
  p: PodStatusSpec,
  timeoutMs: number,
): Promise<Vars> {
  const want = p.expect ?? p.count ?? 1;
  const pods = await waitUntil(
    `${want} started pod(s) matching ${p.selector} in ${namespace}`,
    async () => {
      const items = (await rest.list<Pod>('v1', 'Pod', namespace, p.selector)).filter(
        (x) => !x.metadata?.deletionTimestamp,
      );
      const started = items.filter((x) => !p.kwokStarts || (x.status?.podIP && x.status.phase === 'Running'));
      return started.length >= want ? started : undefined;
    },
    timeoutMs,
  );
  pods.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const chosen = pods.slice(0, p.count ?? pods.length);
  const now = Date.now();
  for (const pod of chosen) {
    for (let attempt = 0; ; attempt++) {
      const fresh = await rest.get<Pod>('v1', 'Pod', pod.metadata!.name!, namespace);
      applyPatch(fresh, p, now);
      try {
        await rest.replaceStatus({ ...fresh, apiVersion: 'v1', kind: 'Pod' });
        break;
      } catch (e) {
        if (!isStatus(e, 409) || attempt > 5) throw e;
      }
    }
  }
  const vars: Vars = {};
  if (p.as) {
    chosen.forEach((pod, i) => {
      vars[i === 0 ? p.as! : `${p.as}.${i}`] = pod.metadata!.name!;
    });
    const node = chosen[0]?.spec?.nodeName;
    if (node) vars[`${p.as}.node`] = node;
  }
  return vars;
}
