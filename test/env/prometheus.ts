/**
 * A real Prometheus, Alertmanager and node_exporter (Debian's packages; `bash test/env/observability.sh
 * install`) on free loopback ports, scraping a test exporter the caller controls, with a 1 s scrape
 * and evaluation interval, the alerting rules in prometheus/rules.yml and an Alertmanager with a
 * short group_wait. One stack per test file: `startPrometheusStack()` in beforeAll, `stop()` in afterAll.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestExporter } from './prometheus/exporter.js';

export { expectedQuantile, TestExporter, type WorkloadSpec } from './prometheus/exporter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The rules live next to the TypeScript sources; the compiled benchmark runs from dist/. */
const RULES = [
  path.join(here, 'prometheus', 'rules.yml'),
  path.join(here, '..', '..', '..', 'test', 'env', 'prometheus', 'rules.yml'),
].find((p) => existsSync(p));

const BINARIES = {
  prometheus: 'prometheus',
  promtool: 'promtool',
  alertmanager: 'prometheus-alertmanager',
  nodeExporter: 'prometheus-node-exporter',
} as const;

export interface PrometheusStackOptions {
  /** OpenMetrics text to backfill into the TSDB with promtool before Prometheus starts. */
  backfillOpenMetrics?: string;
  /** Set up the exporter's workloads before the first scrape. */
  exporter?: (exporter: TestExporter) => void;
  /** How long to wait for every target to be up (ms). */
  readyTimeoutMs?: number;
  /** Alertmanager's configuration instead of the default (route to a receiver that drops everything). */
  alertmanagerConfig?: string;
  /** More scrape targets, job name to host:port (an exporter a test started: postgres_exporter). */
  extraTargets?: Record<string, string>;
}

export interface PrometheusStack {
  prometheusUrl: string;
  alertmanagerUrl: string;
  nodeExporterUrl: string;
  /** A scrape target that nothing listens on: always down, for targets_list. */
  unreachableTarget: string;
  exporter: TestExporter;
  processes: { prometheus: ChildProcess; alertmanager: ChildProcess; nodeExporter: ChildProcess };
  dir: string;
  stop(): Promise<void>;
}

function binary(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error(
      `${name} not found on PATH; install the test backends with: bash test/env/observability.sh install`,
    );
  }
  return found;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

function launch(dir: string, name: string, command: string, args: string[]): ChildProcess {
  const log = openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], cwd: dir });
  child.on('error', () => undefined);
  return child;
}

function logTail(dir: string, name: string): string {
  try {
    return readFileSync(path.join(dir, `${name}.log`), 'utf8')
      .split('\n')
      .slice(-15)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
}

async function ok(url: string): Promise<true | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok ? true : undefined;
}

function prometheusConfig(
  ports: { alertmanager: number },
  targets: Record<string, string>,
  rules: string,
): string {
  const scrape = Object.entries(targets)
    .map(([job, target]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ['${target}']`)
    .join('\n');
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(rules)}`,
    'alerting:',
    '  alertmanagers:',
    '    - static_configs:',
    `        - targets: ['127.0.0.1:${ports.alertmanager}']`,
    'scrape_configs:',
    scrape,
    '',
  ].join('\n');
}

const ALERTMANAGER_CONFIG = `route:
  receiver: 'null'
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: 'null'
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [namespace]
`;

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startPrometheusStack(opts: PrometheusStackOptions = {}): Promise<PrometheusStack> {
  const bins = {
    prometheus: binary(BINARIES.prometheus),
    alertmanager: binary(BINARIES.alertmanager),
    nodeExporter: binary(BINARIES.nodeExporter),
    promtool: opts.backfillOpenMetrics ? binary(BINARIES.promtool) : '',
  };
  if (!RULES) throw new Error('test/env/prometheus/rules.yml not found');
  const dir = mkdtempSync(path.join(tmpdir(), 'kubemate-prom-'));
  const exporter = new TestExporter();
  opts.exporter?.(exporter);
  await exporter.start();
  const ports = {
    prometheus: await freePort(),
    alertmanager: await freePort(),
    nodeExporter: await freePort(),
    unreachable: await freePort(),
  };
  const host = (p: number) => `127.0.0.1:${p}`;
  const rules = path.join(dir, 'rules.yml');
  copyFileSync(RULES, rules);
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    prometheusConfig(
      ports,
      {
        'kubemate-test-exporter': new URL(exporter.url).host,
        'node-exporter': host(ports.nodeExporter),
        'unreachable-exporter': host(ports.unreachable),
        ...opts.extraTargets,
      },
      rules,
    ),
  );
  writeFileSync(path.join(dir, 'alertmanager.yml'), opts.alertmanagerConfig ?? ALERTMANAGER_CONFIG);
  const data = path.join(dir, 'data');
  mkdirSync(data);
  if (opts.backfillOpenMetrics) {
    const input = path.join(dir, 'backfill.om');
    writeFileSync(input, opts.backfillOpenMetrics);
    const r = spawnSync(bins.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', input, data], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`promtool backfill failed: ${r.stderr || r.stdout}`);
    rmSync(input);
  }

  const processes = {
    nodeExporter: launch(dir, 'nodeExporter', bins.nodeExporter, [
      `--web.listen-address=${host(ports.nodeExporter)}`,
      '--collector.disable-defaults',
      ...['cpu', 'meminfo', 'filesystem', 'netdev', 'uname', 'loadavg'].map((c) => `--collector.${c}`),
      '--log.level=warn',
    ]),
    alertmanager: launch(dir, 'alertmanager', bins.alertmanager, [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'alertmanager')}`,
      `--web.listen-address=${host(ports.alertmanager)}`,
      // No HA gossip: it would listen on 0.0.0.0:9094.
      '--cluster.listen-address=',
      '--log.level=warn',
    ]),
    prometheus: launch(dir, 'prometheus', bins.prometheus, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=${host(ports.prometheus)}`,
      '--rules.alert.resend-delay=1s',
      '--storage.tsdb.retention.time=30d',
      '--log.level=warn',
    ]),
  };
  const stack: PrometheusStack = {
    prometheusUrl: `http://${host(ports.prometheus)}`,
    alertmanagerUrl: `http://${host(ports.alertmanager)}`,
    nodeExporterUrl: `http://${host(ports.nodeExporter)}`,
    unreachableTarget: host(ports.unreachable),
    exporter,
    processes,
    dir,
    async stop() {
      await Promise.all(Object.values(processes).map(stopProcess));
      await exporter.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const timeout = opts.readyTimeoutMs ?? 60_000;
  try {
    for (const [name, child] of Object.entries(processes)) {
      child.once('exit', (code) => {
        if (code) process.stderr.write(`[prometheus-stack] ${name} exited ${code}:\n${logTail(dir, name)}\n`);
      });
    }
    await waitUntil('Prometheus ready', timeout, () => ok(`${stack.prometheusUrl}/-/ready`));
    await waitUntil('Alertmanager ready', timeout, () => ok(`${stack.alertmanagerUrl}/-/ready`));
    await waitUntil('node_exporter', timeout, () => ok(`${stack.nodeExporterUrl}/metrics`));
    await waitUntil('scrape targets up', timeout, async () => {
      const res = await fetch(`${stack.prometheusUrl}/api/v1/targets?state=active`);
      const body = (await res.json()) as {
        data: { activeTargets: Array<{ scrapePool: string; health: string }> };
      };
      const up = body.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.scrapePool);
      const wanted = ['kubemate-test-exporter', 'node-exporter', ...Object.keys(opts.extraTargets ?? {})];
      return wanted.every((job) => up.includes(job)) ? true : undefined;
    });
  } catch (e) {
    const logs = ['prometheus', 'alertmanager', 'nodeExporter'].map((n) => `--- ${n}\n${logTail(dir, n)}`);
    await stack.stop();
    throw new Error(`${(e as Error).message}\n${logs.join('\n')}`);
  }
  return stack;
}
