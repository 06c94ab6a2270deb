// diagnose(): the likely causes of a workload's trouble, from objects alone (no cluster).
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type PodSummary, parseAge, summarisePod } from '../../tools/cluster/common.js';
import { diagnose, formatRestartNote, lastRestartNote } from '../../tools/cluster/diagnose.js';
import { markNodeNotReady } from '../../tools/cluster/pod-table.js';

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

// Names and numbers vary between cases so that nothing passes by matching one fixture.
function pendingPod(name: string, containers: Array<Record<string, string>>, message: string): V1Pod {
  return {
    metadata: { name, namespace: 'batch' },
    spec: {
      containers: containers.map((requests, i) => ({
        name: `c${i}`,
        image: 'r/x:1',
        resources: { requests },
      })),
      initContainers: [{ name: 'init', image: 'r/i:1', resources: { requests: { cpu: '3' } } }],
    },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
    },
  };
}

function runningPod(name: string, node: string, readyCondition: 'True' | 'False', reason?: string): V1Pod {
  return {
    metadata: { name, namespace: 'ledger' },
    spec: { nodeName: node, containers: [{ name: 'db', image: 'r/db:16' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: readyCondition, ...(reason ? { reason } : {}) }],
      containerStatuses: [
        { name: 'db', image: 'r/db:16', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
      ],
    },
  };
}

describe('diagnose: the cause, not only the symptom', () => {
  it.each([
    [
      [{ cpu: '64' }],
      '0/103 nodes are available: 3 node(s) had untolerated taint {a: }, 100 Insufficient cpu.',
      'cpu 64',
    ],
    [
      [{ cpu: '500m', memory: '48Gi' }, { memory: '16Gi' }],
      '0/7 nodes are available: 7 Insufficient memory. preemption: 0/7 nodes are available: 7 No preemption victims found for incoming pod.',
      'memory 64Gi, cpu 3',
    ],
    [
      [{ 'nvidia.com/gpu': '4', cpu: '2' }],
      '0/12 nodes are available: 12 Insufficient nvidia.com/gpu.',
      'nvidia.com/gpu 4, cpu 3',
    ],
  ])('gives a Pending pod the request that cannot fit (%j)', (requests, message, expected) => {
    const [problem] = diagnose(
      [pendingPod('train-1', requests as Array<Record<string, string>>, message)],
      undefined,
      [],
    );
    expect(problem).toContain('Pending, not schedulable');
    expect(problem).toContain(`the pod requests ${expected}`);
  });

  it('puts the scheduler reason that rules out the most nodes first, even in a long message', () => {
    const taints = Array.from(
      { length: 6 },
      (_, i) => `1 node(s) had untolerated taint {team-${i}.example.com/dedicated: batch-${i}}`,
    );
    const message = `0/206 nodes are available: ${taints.join(', ')}, 200 Insufficient memory. preemption: 0/206 nodes are available: 206 No preemption victims found for incoming pod.`;
    const [problem] = diagnose([pendingPod('etl-9', [{ memory: '700Gi' }], message)], undefined, []);
    expect(problem).toContain('0/206 nodes are available: 200 Insufficient memory');
    expect(problem).toContain('memory 700Gi');
  });

  it('keeps the end of a long image pull error, where the cause is', () => {
    const image = 'registry.corp.example.net/platform/very-long-team-name/settlement-engine:7.13.2';
    const pod = crashingPod('se-1', 'Error', 1);
    pod.status!.containerStatuses![0]!.image = image;
    pod.status!.containerStatuses![0]!.state = {
      waiting: {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found: manifest unknown`,
      },
    };
    const [problem] = diagnose([pod], undefined, []);
    expect(problem).toContain('manifest unknown');
    expect(problem).toContain(image);
  });

  it('names the NotReady node under pods whose containers still say ready', () => {
    const pods = [
      runningPod('db-0', 'worker-17', 'False', 'NodeNotReady'),
      runningPod('db-1', 'worker-17', 'False'),
    ];
    const nodes = [
      {
        name: 'worker-17',
        ready: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      },
    ];
    const problems = diagnose(pods, undefined, [], nodes);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^2 pods not ready because node worker-17 is NotReady \(Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status\.\)/,
    );
    expect(problems[0]).toContain('(NodeNotReady)');
    // Without the node's own record, the pods' condition still tells it.
    expect(diagnose([pods[0]!], undefined, [])[0]).toContain('node worker-17 is likely NotReady');
    // A ready pod on a ready node is not a problem.
    expect(
      diagnose(
        [runningPod('db-2', 'worker-3', 'True')],
        undefined,
        [],
        [{ name: 'worker-3', ready: 'True' }],
      ),
    ).toEqual([]);
  });

  it('never says nothing when the workload itself is short of ready replicas', () => {
    const obj = { metadata: { name: 'quotes' }, spec: { replicas: 4 }, status: { readyReplicas: 1 } };
    expect(diagnose([], { kind: 'Deployment', obj }, [])[0]).toContain('has 1/4 replicas ready');
    const full = { metadata: { name: 'quotes' }, spec: { replicas: 4 }, status: { readyReplicas: 4 } };
    expect(diagnose([], { kind: 'Deployment', obj: full }, [])).toEqual([]);
  });
});

describe('pod summaries', () => {
  it('counts a running pod whose Ready condition is False as not ready, with the reason', () => {
    const s = summarisePod(runningPod('db-0', 'worker-2', 'False', 'NodeNotReady'));
    expect(s).toMatchObject({
      ready: '0/1',
      status: 'Running',
      healthy: false,
      notReadyReason: 'NodeNotReady',
    });
    expect(summarisePod(runningPod('db-1', 'worker-2', 'True'))).toMatchObject({
      ready: '1/1',
      healthy: true,
    });
  });

  it("reads the table printer's durations, compound ones included", () => {
    expect(['45s', '4m', '9m30s', '2h15m', '3d4h', '2y5d', 'x', '4 m', ''].map(parseAge)).toEqual([
      45,
      240,
      570,
      8100,
      273_600,
      63_504_000,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('marks table rows on nodes that are not Ready', () => {
    const rows: PodSummary[] = [
      {
        namespace: 'a',
        name: 'p1',
        ready: '2/2',
        status: 'Running',
        restarts: 0,
        age: '1h',
        node: 'n-9',
        healthy: true,
      },
      {
        namespace: 'a',
        name: 'p2',
        ready: '1/1',
        status: 'Running',
        restarts: 0,
        age: '1h',
        node: 'n-1',
        healthy: true,
      },
      {
        namespace: 'a',
        name: 'p3',
        ready: '0/1',
        status: 'Completed',
        restarts: 0,
        age: '1h',
        node: 'n-9',
        healthy: true,
      },
    ];
    markNodeNotReady(rows, new Set(['n-9']));
    expect(rows.map((r) => [r.name, r.ready, r.healthy, r.notReadyReason])).toEqual([
      ['p1', '0/2', false, 'NodeNotReady'],
      ['p2', '1/1', true, undefined],
      ['p3', '0/1', true, undefined],
    ]);
  });

  it('says why a pod restarted last and which Deployment owns it', () => {
    const pod = crashingPod('quotes-5c7d9-x2', 'OOMKilled', 137, '384Mi');
    pod.metadata = {
      ...pod.metadata,
      labels: { 'pod-template-hash': '5c7d9' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'quotes-5c7d9', uid: 'u', controller: true },
      ],
    };
    const note = lastRestartNote(pod)!;
    expect(note).toMatchObject({
      container: 'api',
      reason: 'OOMKilled',
      exitCode: 137,
      memoryLimit: '384Mi',
      workload: 'Deployment/quotes',
    });
    expect(formatRestartNote(note)).toBe('api OOMKilled (exit code 137, memory limit 384Mi)');
    expect(lastRestartNote(runningPod('db-0', 'n', 'True'))).toBeUndefined();
  });
});
