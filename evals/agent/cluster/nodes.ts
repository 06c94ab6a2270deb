import type { NodeSpec } from '../schema.js';
import { type AdminRest, isStatus, type KubeObject } from './rest.js';
import { waitUntil } from './wait.js';

/** Every scenario node carries this label, so a later run can find and remove leftovers. */
export const EVAL_LABEL = 'kubemate.dev/eval';

const DEFAULT_CONDITIONS: Record<string, { reason: string; message: string }> = {
  MemoryPressure: {
    reason: 'KubeletHasSufficientMemory',
    message: 'kubelet has sufficient memory available',
  },
  DiskPressure: { reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  PIDPressure: { reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  Ready: { reason: 'KubeletReady', message: 'kubelet is posting ready status' },
};

export async function createNode(rest: AdminRest, n: NodeSpec, scenario: string): Promise<void> {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '100Gi', ...n.capacity };
  const body: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: n.managed ? { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' } : {},
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        ...(n.managed ? { type: 'kwok' } : {}),
        ...n.labels,
        [EVAL_LABEL]: scenario,
      },
    },
    // A kubelet registers its node as not-ready until it reports otherwise; nothing lands there meanwhile.
    spec: {
      taints: [
        ...n.taints,
        ...(n.managed ? [] : [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]),
      ],
    },
    status: {
      capacity: resources,
      allocatable: resources,
      ...(n.managed
        ? {}
        : {
            nodeInfo: {
              kubeletVersion: 'v1.34.4',
              containerRuntimeVersion: 'containerd://2.1.4',
              kernelVersion: '6.8.0-60-generic',
              osImage: 'Ubuntu 24.04.2 LTS',
              operatingSystem: 'linux',
              architecture: 'amd64',
              machineID: '',
              systemUUID: '',
              bootID: '',
              kubeProxyVersion: '',
            },
            addresses: [{ type: 'Hostname', address: n.name }],
            // Reported from the start: a node without conditions loses its not-ready taint to the
            // node controller for a moment, and the scheduler would bind pods to it.
            conditions: mergeConditions([], n),
          }),
    },
  };
  try {
    await rest.create(body);
  } catch (e) {
    if (!isStatus(e, 409)) throw e;
  }
  if (n.managed) {
    await waitUntil(`kwok to make node ${n.name} Ready`, async () => {
      const node = await rest.get('v1', 'Node', n.name);
      const ready = (node.status?.conditions as { type: string; status: string }[] | undefined)?.find(
        (c) => c.type === 'Ready',
      );
      return ready?.status === 'True' ? true : undefined;
    });
  }
  await setNodeConditions(rest, n);
  await waitForConditionTaints(rest, n);
}

/** The taint the node lifecycle controller puts on a node in each condition. */
const CONDITION_TAINTS: Record<string, [status: string, taint: string]> = {
  Ready: ['False', 'node.kubernetes.io/not-ready'],
  MemoryPressure: ['True', 'node.kubernetes.io/memory-pressure'],
  DiskPressure: ['True', 'node.kubernetes.io/disk-pressure'],
  PIDPressure: ['True', 'node.kubernetes.io/pid-pressure'],
};

/** Waits until the controller has tainted the node for its conditions, so nothing lands there first. */
async function waitForConditionTaints(rest: AdminRest, n: NodeSpec): Promise<void> {
  const wanted = n.conditions.flatMap((c) => {
    const t = CONDITION_TAINTS[c.type];
    return t && t[0] === c.status ? [t[1]] : [];
  });
  if (wanted.length === 0) return;
  await waitUntil(`the node controller to taint ${n.name} (${wanted.join(', ')})`, async () => {
    const node = await rest.get('v1', 'Node', n.name);
    const keys = new Set(((node.spec?.taints as { key: string }[] | undefined) ?? []).map((t) => t.key));
    return wanted.every((k) => keys.has(k)) ? true : undefined;
  });
}

/** The scenario's conditions over `current`, with fresh heartbeats; unmanaged nodes get the kubelet's defaults. */
function mergeConditions(current: Record<string, unknown>[], n: NodeSpec): Record<string, unknown>[] {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const byType = new Map(current.map((c) => [c.type as string, c]));
  if (!n.managed) {
    for (const [type, d] of Object.entries(DEFAULT_CONDITIONS)) {
      if (!byType.has(type) || byType.get(type)?.status === 'Unknown') {
        byType.set(type, {
          type,
          status: type === 'Ready' ? 'True' : 'False',
          ...d,
          lastTransitionTime: now,
        });
      }
    }
  }
  for (const c of n.conditions) {
    const before = byType.get(c.type);
    byType.set(c.type, {
      ...c,
      lastHeartbeatTime: now,
      lastTransitionTime: before?.status === c.status ? (before.lastTransitionTime ?? now) : now,
    });
  }
  for (const c of byType.values()) c.lastHeartbeatTime = now;
  return [...byType.values()];
}

/** Merges the scenario's conditions (fresh heartbeats) over the node's; run again before each question. */
export async function setNodeConditions(rest: AdminRest, n: NodeSpec): Promise<void> {
  if (n.conditions.length === 0 && n.managed) return;
  for (let attempt = 0; ; attempt++) {
    const node = await rest.get('v1', 'Node', n.name);
    const current = (node.status?.conditions as Record<string, unknown>[] | undefined) ?? [];
    node.status = { ...node.status, conditions: mergeConditions(current, n) };
    try {
      await rest.replaceStatus({ ...node, apiVersion: 'v1', kind: 'Node' });
      return;
    } catch (e) {
      if (!isStatus(e, 409) || attempt > 5) throw e;
    }
  }
}
