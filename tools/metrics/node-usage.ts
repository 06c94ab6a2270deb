import { z } from 'zod';
import type { HttpBackend } from '../clients/http-backend.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import {
  bytes,
  clusterArg,
  type Labels,
  num,
  type PromVectorSample,
  pct,
  promApi,
  readAnnotations,
  readPermission,
  sampleValue,
} from './common.js';
import { durationArg } from './time.js';

const FS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|fuse\\\\..*"';
const NET =
  'device!~"lo|veth.*|cali.*|cilium.*|lxc.*|flannel.*|cni.*|docker.*|br-.*|virbr.*|vxlan.*|tunl.*|kube-ipvs.*"';

type QueryKey =
  | 'cpuBusy'
  | 'cores'
  | 'load1'
  | 'memTotal'
  | 'memAvailable'
  | 'fsSize'
  | 'fsAvail'
  | 'netRx'
  | 'netTx'
  | 'uname';

function queries(w: string): Record<QueryKey, string> {
  return {
    cpuBusy: `1 - avg by (instance, node) (rate(node_cpu_seconds_total{mode="idle"}[${w}]))`,
    cores: 'count by (instance, node) (node_cpu_seconds_total{mode="idle"})',
    load1: 'node_load1',
    memTotal: 'node_memory_MemTotal_bytes',
    memAvailable: 'node_memory_MemAvailable_bytes',
    fsSize: `node_filesystem_size_bytes{${FS}}`,
    fsAvail: `node_filesystem_avail_bytes{${FS}}`,
    netRx: `sum by (instance, node) (rate(node_network_receive_bytes_total{${NET}}[${w}]))`,
    netTx: `sum by (instance, node) (rate(node_network_transmit_bytes_total{${NET}}[${w}]))`,
    uname: 'node_uname_info',
  };
}

interface Disk {
  mountpoint: string;
  device: string;
  sizeBytes: number;
  usedBytes: number;
  ratio: number;
}

interface NodeRow {
  node: string;
  instance: string;
  cpuRatio?: number;
  cores?: number;
  load1?: number;
  memTotal?: number;
  memUsed?: number;
  memRatio?: number;
  disks: Disk[];
  netRx?: number;
  netTx?: number;
}

async function vector(prom: HttpBackend, query: string, signal: AbortSignal): Promise<PromVectorSample[]> {
  const { data } = await promApi<{ resultType: string; result: PromVectorSample[] }>(
    prom,
    'api/v1/query',
    { query },
    signal,
  );
  return data.resultType === 'vector' ? data.result : [];
}

const busiest = (r: NodeRow) => Math.max(r.cpuRatio ?? 0, r.memRatio ?? 0, r.disks[0]?.ratio ?? 0);

const nodeUsage = defineTool({
  name: 'node_usage',
  title: 'Nodes: Usage',
  description:
    "Actual resource use of nodes from node_exporter (via Prometheus): CPU busy and load, memory used, every filesystem's fill (fullest first) and network throughput, per node, busiest first. Unlike nodes_list (which sums what pods request), this is what the machines really use. Optional node filter (node name or exporter instance).",
  input: z.object({
    cluster: clusterArg,
    node: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe('Only this node (its name, or the exporter instance host:port)'),
    window: durationArg.default('5m').describe('Rate window for CPU and network (default 5m)'),
  }),
  output: listOutput({
    total: z.number(),
    window: z.string(),
    disksOver85: z.number().describe('filesystems more than 85% full, on the nodes shown'),
    items: z.array(
      z.object({
        node: z.string(),
        instance: z.string(),
        cpuRatio: z.number().optional(),
        cores: z.number().optional(),
        load1: z.number().optional(),
        memTotalBytes: z.number().optional(),
        memUsedBytes: z.number().optional(),
        memRatio: z.number().optional(),
        disks: z.array(
          z.object({
            mountpoint: z.string(),
            device: z.string(),
            sizeBytes: z.number(),
            usedBytes: z.number(),
            ratio: z.number(),
          }),
        ),
        netRxBytesPerSecond: z.number().optional(),
        netTxBytesPerSecond: z.number().optional(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const prom = ctx.backends.prometheus.pick(args.cluster);
    const q = queries(args.window);
    const results = Object.fromEntries(
      await Promise.all(
        Object.entries(q).map(async ([k, query]) => [k, await vector(prom, query, ctx.signal)] as const),
      ),
    ) as Record<QueryKey, PromVectorSample[]>;

    // Node names: a `node` label from service discovery, else node_uname_info's nodename, else the instance.
    const names = new Map<string, string>();
    for (const s of results.uname)
      if (s.metric.instance && s.metric.nodename) names.set(s.metric.instance, s.metric.nodename);
    const rows = new Map<string, NodeRow>();
    const row = (m: Labels): NodeRow => {
      const instance = m.instance ?? '';
      let r = rows.get(instance);
      if (!r) {
        r = { node: m.node || names.get(instance) || instance, instance, disks: [] };
        rows.set(instance, r);
      }
      if (m.node) r.node = m.node;
      return r;
    };
    const each = (key: QueryKey, set: (r: NodeRow, v: number, m: Labels) => void) => {
      for (const s of results[key]) {
        const v = sampleValue(s.value[1]);
        if (Number.isFinite(v)) set(row(s.metric), v, s.metric);
      }
    };
    each('cpuBusy', (r, v) => (r.cpuRatio = v));
    each('cores', (r, v) => (r.cores = v));
    each('load1', (r, v) => (r.load1 = v));
    each('memTotal', (r, v) => (r.memTotal = v));
    each('memAvailable', (r, v) => (r.memUsed = v)); // turned into "used" below, once the total is known
    each('netRx', (r, v) => (r.netRx = v));
    each('netTx', (r, v) => (r.netTx = v));
    const avail = new Map(
      results.fsAvail.map((s) => [
        `${s.metric.instance}|${s.metric.mountpoint}|${s.metric.device}`,
        sampleValue(s.value[1]),
      ]),
    );
    each('fsSize', (r, size, m) => {
      const free = avail.get(`${m.instance}|${m.mountpoint}|${m.device}`);
      if (free === undefined || !(size > 0)) return;
      r.disks.push({
        mountpoint: m.mountpoint ?? '',
        device: m.device ?? '',
        sizeBytes: size,
        usedBytes: size - free,
        ratio: (size - free) / size,
      });
    });
    for (const r of rows.values()) {
      if (r.memTotal !== undefined && r.memUsed !== undefined) {
        r.memUsed = r.memTotal - r.memUsed;
        r.memRatio = r.memUsed / r.memTotal;
      } else r.memUsed = undefined;
      r.disks.sort((a, b) => b.ratio - a.ratio);
    }
    const want = args.node;
    const all = [...rows.values()].filter((r) => r.cpuRatio !== undefined || r.memTotal !== undefined);
    const kept = all
      .filter((r) => !want || r.node === want || r.instance === want || r.instance.startsWith(`${want}:`))
      .sort((a, b) => busiest(b) - busiest(a) || a.node.localeCompare(b.node));
    const full = kept.reduce((n, r) => n + r.disks.filter((d) => d.ratio > 0.85).length, 0);
    const header =
      kept.length === 0
        ? want
          ? `No node '${want}' in node_exporter metrics of ${prom.label}; known: ${
              all
                .map((r) => r.node)
                .slice(0, 20)
                .join(', ') || 'none'
            }.`
          : `No node_exporter metrics in ${prom.label} (node_cpu_seconds_total, node_memory_MemTotal_bytes); check targets_list for the node exporter job.`
        : `${kept.length} node${kept.length === 1 ? '' : 's'} (node_exporter via ${prom.label}, rates over ${args.window}), busiest first${full ? `; ${full} filesystem${full === 1 ? '' : 's'} over 85% full` : ''}.`;
    const mib = (v?: number) => (v === undefined ? '-' : bytes(v));
    return {
      kind: 'list',
      status: kept.length ? 'success' : 'no_data',
      header,
      columns: ['NODE', 'CPU', 'LOAD1', 'MEMORY', 'FULLEST DISK', 'NET RX/s', 'NET TX/s'],
      items: kept,
      row: (r: NodeRow) => [
        r.node,
        r.cpuRatio !== undefined ? `${pct(r.cpuRatio)} of ${r.cores ?? '?'} cores` : '-',
        r.load1 !== undefined ? num(r.load1) : '-',
        r.memRatio !== undefined ? `${pct(r.memRatio)} (${mib(r.memUsed)} of ${mib(r.memTotal)})` : '-',
        r.disks[0]
          ? `${r.disks[0].mountpoint} ${pct(r.disks[0].ratio)} of ${bytes(r.disks[0].sizeBytes)}`
          : '-',
        mib(r.netRx),
        mib(r.netTx),
      ],
      toStructured: (r: NodeRow) => ({
        node: r.node,
        instance: r.instance,
        ...(r.cpuRatio !== undefined ? { cpuRatio: r.cpuRatio } : {}),
        ...(r.cores !== undefined ? { cores: r.cores } : {}),
        ...(r.load1 !== undefined ? { load1: r.load1 } : {}),
        ...(r.memTotal !== undefined ? { memTotalBytes: r.memTotal } : {}),
        ...(r.memUsed !== undefined ? { memUsedBytes: r.memUsed } : {}),
        ...(r.memRatio !== undefined ? { memRatio: r.memRatio } : {}),
        disks: r.disks.slice(0, 8),
        ...(r.netRx !== undefined ? { netRxBytesPerSecond: r.netRx } : {}),
        ...(r.netTx !== undefined ? { netTxBytesPerSecond: r.netTx } : {}),
      }),
      narrow: 'give node',
      totals: { total: kept.length, window: args.window, disksOver85: full },
    };
  },
});

export const nodeUsageTools: ToolDef[] = [nodeUsage];
