// What is likely wrong with a workload, from its pods, its own status conditions and its events:
// a pure analysis (no API calls), used by workload_describe.
import type { CoreV1Event, V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { clipLine, plural } from '../shared/text.js';
import { countBy, formatCounts, summarisePod } from './common.js';
import type { KubeObject } from './resources.js';

const clip = (text: string | undefined, max = 240): string => clipLine(text, max);

function specContainer(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}

/** The short list of likely causes, most telling first, from pod states, conditions and events. */
export function diagnose(
  pods: V1Pod[],
  workload: { kind: string; obj: KubeObject; status?: string } | undefined,
  events: CoreV1Event[],
): string[] {
  const problems: string[] = [];
  const covered = new Set<string>();
  const statuses = (p: V1Pod) => [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ];

  // Containers waiting with a reason (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError…)
  const waiting = new Map<string, Array<{ pod: V1Pod; c: V1ContainerStatus }>>();
  for (const pod of pods) {
    for (const c of statuses(pod)) {
      const reason = c.state?.waiting?.reason;
      if (!reason || reason === 'ContainerCreating' || reason === 'PodInitializing') continue;
      waiting.set(reason, [...(waiting.get(reason) ?? []), { pod, c }]);
    }
  }
  for (const [reason, hits] of [...waiting.entries()].sort((a, b) => b[1].length - a[1].length)) {
    const podCount = new Set(hits.map((h) => h.pod.metadata?.name)).size;
    const containers = [...new Set(hits.map((h) => h.c.name))].join(', ');
    if (reason === 'CrashLoopBackOff') {
      const lasts = hits.map((h) => ({ ...h, t: h.c.lastState?.terminated })).filter((h) => h.t);
      const byReason = countBy(lasts, (h) => `${h.t!.reason ?? 'Error'} (exit code ${h.t!.exitCode})`);
      const top = Object.entries(byReason).sort((a, b) => b[1] - a[1])[0]?.[0];
      let detail = top ? `, last exit ${top}` : '';
      const oom = lasts.find((h) => h.t!.reason === 'OOMKilled');
      if (oom) {
        const limit = specContainer(oom.pod, oom.c.name)?.resources?.limits?.memory;
        detail += limit ? ` (memory limit ${limit})` : ' (no memory limit set)';
        covered.add('OOMKilled');
      }
      const msg = lasts.find((h) => h.t!.message)?.t?.message;
      problems.push(
        `${plural(podCount, 'pod')} CrashLoopBackOff (container ${containers})${detail}${msg ? `: ${clip(msg, 160)}` : ''}; read pods_logs with previous=true`,
      );
      covered.add('BackOff');
    } else if (/ImagePull|ErrImage|InvalidImageName|RegistryUnavailable/.test(reason)) {
      const msg = hits.find((h) => h.c.state?.waiting?.message)?.c.state?.waiting?.message;
      const image = hits[0]!.c.image;
      problems.push(
        `image pull failing for ${image} (${plural(podCount, 'pod')}, ${reason})${msg ? `: ${clip(msg, 200)}` : ''}`,
      );
      covered.add('Failed');
      covered.add('BackOff');
    } else {
      const msg = hits.find((h) => h.c.state?.waiting?.message)?.c.state?.waiting?.message;
      problems.push(
        `${plural(podCount, 'pod')} ${reason} (container ${containers})${msg ? `: ${clip(msg, 200)}` : ''}`,
      );
      if (reason === 'CreateContainerConfigError') covered.add('Failed');
    }
  }

  // OOM kills in containers that are running again (not in CrashLoopBackOff yet)
  if (!covered.has('OOMKilled')) {
    const oom = pods.flatMap((pod) =>
      statuses(pod)
        .filter(
          (c) =>
            c.lastState?.terminated?.reason === 'OOMKilled' || c.state?.terminated?.reason === 'OOMKilled',
        )
        .map((c) => ({ pod, c })),
    );
    if (oom.length > 0) {
      const limit = specContainer(oom[0]!.pod, oom[0]!.c.name)?.resources?.limits?.memory;
      problems.push(
        `${plural(oom.length, 'container')} OOMKilled (exit code 137${limit ? `, memory limit ${limit}` : ', no memory limit set'}), e.g. ${oom[0]!.pod.metadata?.name}/${oom[0]!.c.name}`,
      );
    }
  }

  // Pods that cannot be scheduled
  const unschedulable = pods.filter((p) =>
    p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'),
  );
  if (unschedulable.length > 0) {
    const msg = unschedulable
      .map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message)
      .find(Boolean);
    problems.push(
      `${plural(unschedulable.length, 'pod')} Pending, not schedulable${msg ? `: ${clip(msg, 240)}` : ''}`,
    );
    covered.add('FailedScheduling');
  }

  // Terminated with an error (Job pods, evictions)
  const failed = pods.filter((p) => p.status?.phase === 'Failed');
  if (failed.length > 0) {
    const reasons = countBy(failed, (p) => {
      if (p.status?.reason)
        return `${p.status.reason}${p.status.message ? `: ${clip(p.status.message, 120)}` : ''}`;
      const t = statuses(p).find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0)?.state
        ?.terminated;
      return t ? `${t.reason ?? 'Error'} (exit code ${t.exitCode})` : 'Failed';
    });
    problems.push(`${plural(failed.length, 'pod')} failed: ${formatCounts(reasons)}`);
  }

  // Running but not ready
  const notReady = pods.filter((p) => {
    const s = summarisePod(p);
    return s.status === 'Running' && !s.healthy;
  });
  if (notReady.length > 0) {
    const probe = events.find((e) => e.reason === 'Unhealthy');
    problems.push(
      `${plural(notReady.length, 'pod')} running but not ready${probe ? `: ${clip(probe.message, 200)}` : ' (readiness probe failing?)'}`,
    );
    covered.add('Unhealthy');
  }

  // The workload's own view
  if (workload) {
    const spec = (workload.obj.spec ?? {}) as Record<string, unknown>;
    const conds = (
      Array.isArray(workload.obj.status?.conditions) ? workload.obj.status.conditions : []
    ) as Array<{
      type?: string;
      status?: string;
      reason?: string;
      message?: string;
    }>;
    for (const c of conds) {
      if (c.type === 'Progressing' && c.status === 'False') {
        problems.push(`rollout stalled: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 200)})` : ''}`);
      }
      if (c.type === 'ReplicaFailure' && c.status === 'True') {
        problems.push(
          `cannot create pods: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 240)})` : ''}`,
        );
        covered.add('FailedCreate');
      }
      if (c.type === 'Failed' && c.status === 'True') {
        problems.push(`job failed: ${c.reason ?? ''}${c.message ? ` (${clip(c.message, 200)})` : ''}`);
      }
    }
    if (spec.paused) problems.push('rollout is paused (spec.paused=true)');
    if (spec.suspend) problems.push(`${workload.kind} is suspended (spec.suspend=true)`);
    if (typeof spec.replicas === 'number' && spec.replicas === 0) problems.push('scaled to 0 replicas');
  }

  // Warnings the pod states do not already explain
  const warnings = events.filter((e) => e.type === 'Warning' && !covered.has(e.reason ?? ''));
  const seen = new Set<string>();
  for (const e of warnings) {
    const key = `${e.reason}`;
    if (seen.has(key) || seen.size >= 3) continue;
    seen.add(key);
    const count = e.count ?? e.series?.count ?? 1;
    problems.push(
      `warning ${e.reason}${count > 1 ? ` ×${count}` : ''} on ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${clip(e.message, 200)}`,
    );
  }
  return problems;
}
