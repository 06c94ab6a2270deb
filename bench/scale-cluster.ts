// The scale cluster shared by `npm run bench:scale` and `npm run bench -- inspect`: 1,000 kwok
// nodes and 30,000 pods in 50 namespaces, about 1 % of them Pending (they ask for more CPU than any
// node has). BENCH_NODES and BENCH_PODS make it smaller.
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';

export const NODES = Number(process.env.BENCH_NODES ?? 1000);
export const PODS = Number(process.env.BENCH_PODS ?? 30_000);
export const NAMESPACES = 50;
/** Pods asking for more CPU than any node has stay Pending (unschedulable): the unhealthy ones to find. */
export const UNHEALTHY_EVERY = 97;

export async function createPods(kubeconfig: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('admin');
  const core = kc.makeApiClient(CoreV1Api);
  for (let n = 0; n < NAMESPACES; n++) {
    await core.createNamespace({ body: { metadata: { name: `scale-${n}` } } }).catch(() => undefined);
  }
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < PODS) {
      const i = next++;
      const body: V1Pod = {
        metadata: { name: `app-${i}`, labels: { app: `app-${i % 200}` } },
        spec:
          i % UNHEALTHY_EVERY === 0
            ? {
                containers: [
                  { name: 'main', image: 'registry.local/batch:1', resources: { requests: { cpu: '500' } } },
                ],
              }
            : {
                nodeName: `scale-node-${i % NODES}`,
                containers: [
                  {
                    name: 'main',
                    image: `registry.local/app-${i % 200}:1`,
                    resources: { requests: { cpu: '50m', memory: '64Mi' } },
                  },
                ],
              },
      };
      for (let attempt = 0; ; attempt++) {
        try {
          await core.createNamespacedPod({ namespace: `scale-${i % NAMESPACES}`, body });
          break;
        } catch (e) {
          const err = e as { code?: number; body?: unknown };
          if (err.code === 409) break;
          // A namespace's default ServiceAccount comes a little after the namespace, later on a busy machine.
          if (err.code === 403 && String(err.body).includes('serviceaccount') && attempt < 60) {
            await new Promise((r) => setTimeout(r, 500));
            continue;
          }
          throw e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 48 }, worker));
  process.stderr.write(`created ${PODS} pods in ${Math.round((Date.now() - started) / 1000)}s\n`);
  for (;;) {
    const running = await countRunning(core);
    if (running >= PODS - Math.ceil(PODS / UNHEALTHY_EVERY)) break;
    process.stderr.write(`  ${running} pods Running…\n`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/** Nodes, pods and Running pods the cluster holds now (pages of 5,000, names only kept). */
export async function countScale(
  kubeconfig: string,
): Promise<{ nodes: number; pods: number; running: number }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext('admin');
  const core = kc.makeApiClient(CoreV1Api);
  let pods = 0;
  let cont: string | undefined;
  do {
    const page = await core.listPodForAllNamespaces({ limit: 5000, _continue: cont });
    pods += page.items.length;
    cont = page.metadata?._continue || undefined;
  } while (cont);
  const nodes = (await core.listNode()).items.length;
  return { nodes, pods, running: await countRunning(core) };
}

async function countRunning(core: CoreV1Api): Promise<number> {
  let n = 0;
  let cont: string | undefined;
  do {
    const page = await core.listPodForAllNamespaces({
      limit: 5000,
      _continue: cont,
      fieldSelector: 'status.phase=Running',
    });
    n += page.items.length;
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return n;
}

/** A process's peak resident memory so far (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** A process's CPU time so far (user + system), in seconds; the wall time minus it is waiting. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** USER_HZ: the kernel reports CPU times in 1/100 s on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;
