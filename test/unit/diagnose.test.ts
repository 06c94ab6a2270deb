// diagnose(): the likely causes of a workload's trouble, from objects alone (no cluster).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../../tools/cluster/diagnose.js';

function crashingPod(name: string, reason: string, exitCode: number, memoryLimit?: string): V1Pod {
  return {
    metadata: { name, namespace: 'payments' },
    spec: {
      containers: [
        {
          name: 'api',
          image: 'registry.local/api:1',
          ...(memoryLimit ? { resources: { limits: { memory: memoryLimit } } } : {}),
        },
      ],
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'api',
          image: 'registry.local/api:1',
          imageID: '',
          ready: false,
          restartCount: 7,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason, exitCode } },
        },
      ],
    },
  };
}

describe('diagnose', () => {
  it('names CrashLoopBackOff with the last exit reason and code, once for all pods', () => {
    const problems = diagnose(
      [crashingPod('api-1', 'Error', 1), crashingPod('api-2', 'Error', 1)],
      undefined,
      [],
    );
    expect(problems[0]).toBe(
      '2 pods CrashLoopBackOff (container api), last exit Error (exit code 1); read pods_logs with previous=true',
    );
  });

  it('ties OOMKilled to the memory limit, or says there is none', () => {
    expect(diagnose([crashingPod('api-1', 'OOMKilled', 137, '128Mi')], undefined, [])[0]).toContain(
      'last exit OOMKilled (exit code 137) (memory limit 128Mi)',
    );
    expect(diagnose([crashingPod('api-1', 'OOMKilled', 137)], undefined, [])[0]).toContain(
      '(no memory limit set)',
    );
  });

  it('adds warning events not already explained, and nothing for a healthy workload', () => {
    const event = {
      type: 'Warning',
      reason: 'FailedMount',
      message: 'MountVolume.SetUp failed for volume "certs": secret "tls" not found',
      count: 3,
      involvedObject: { kind: 'Pod', name: 'api-1' },
      metadata: {},
    } as CoreV1Event;
    const problems = diagnose([], undefined, [event]);
    expect(problems).toEqual([
      'warning FailedMount ×3 on Pod/api-1: MountVolume.SetUp failed for volume "certs": secret "tls" not found',
    ]);
    expect(diagnose([], undefined, [])).toEqual([]);
  });
});
