import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type PrometheusStack, startPrometheusStack } from '../env/prometheus.js';
import { baseEnv } from '../support/cli.js';
import { testKubeconfig } from '../support/kube.js';
import { type ScriptedOllama, startScriptedOllama } from '../support/ollama-scripted.js';
import { BOT_TOKEN, type SlackServer, startSlackServer } from '../support/slack-server.js';

/**
 * A storm through the real Alertmanager into `kubemate serve` running as its own process: 2,000
 * alerts in 200 groups within a minute, and the process SIGKILLed in the middle and started again.
 * Every alert is accounted for, no thread is posted twice, the channel gets one storm summary, the
 * model runs stay within their per-minute budget across the restart.
 */

const TOKEN = 'alertmanager-storm-token-for-tests';
const CHANNEL = 'C0STORM';
const RUN = Math.random().toString(36).slice(2, 8);
const ALERTNAMES = ['StormDiskFull', 'StormLatency', 'StormErrors', 'StormRestarts', 'StormCritical'];
const NAMESPACES = Array.from({ length: 40 }, (_, i) => `storm-${RUN}-${String(i).padStart(2, '0')}`);
const PER_GROUP = 10;
const THRESHOLD = 5;
const MODEL_RUNS_PER_MINUTE = 3;

let slack: SlackServer;
let ollama: ScriptedOllama;
let stack: PrometheusStack;
let dataDir: string;
let port: number;
let child: ChildProcess | undefined;
let peakRssKiB = 0;
const modelCalls: number[] = [];

function startKubemate(): ChildProcess {
  const policyFile = join(dataDir, 'policy.yaml');
  const p = spawn(process.execPath, ['dist/app/main.js', 'serve', '--port', String(port)], {
    env: {
      ...baseEnv(),
      KUBEMATE_DATA_DIR: dataDir,
      KUBEMATE_POLICY__FILE: policyFile,
      KUBEMATE_KUBERNETES__KUBECONFIG: testKubeconfig(),
      KUBEMATE_KUBERNETES__DEFAULT_CLUSTER: 'admin',
      KUBEMATE_LLM__URL: ollama.url,
      KUBEMATE_LOG__LEVEL: 'warn',
      KUBEMATE_BOTS__SLACK__ENABLED: 'true',
      KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN,
      KUBEMATE_BOTS__SLACK__SIGNING_SECRET: 'unused-signing-secret',
      KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
      KUBEMATE_BOTS__SLACK__PER_CHANNEL_INTERVAL_SECONDS: '0.02',
      KUBEMATE_ALERTS__ENABLED: 'true',
      KUBEMATE_ALERTS__TOKEN: TOKEN,
      KUBEMATE_ALERTS__ROUTES: JSON.stringify([
        { matchers: [`namespace=~"storm-${RUN}-.*"`], channel: CHANNEL },
      ]),
      KUBEMATE_ALERTS__STORM__NEW_GROUPS_PER_MINUTE: String(THRESHOLD),
      KUBEMATE_ALERTS__TRIAGE__MODEL_RUNS_PER_MINUTE: String(MODEL_RUNS_PER_MINUTE),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  p.stderr?.on('data', () => undefined);
  return p;
}

const rssKiB = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};

async function healthy(): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('kubemate serve did not come up');
}

/** Reads Kubemate's own alert store (another process writes it; WAL lets a reader in). */
function stored(): { alerts: number; groups: number; triage: Record<string, number> } {
  const db = new Database(join(dataDir, 'alerts.db'), { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const triage = Object.fromEntries(
      (
        db.prepare('SELECT state, COUNT(*) AS n FROM alert_triage GROUP BY state').all() as Array<{
          state: string;
          n: number;
        }>
      ).map((r) => [r.state, r.n]),
    );
    return {
      alerts: n('SELECT COUNT(*) AS n FROM alert_items'),
      groups: n('SELECT COUNT(*) AS n FROM alert_groups'),
      triage,
    };
  } finally {
    db.close();
  }
}

async function waitFor(what: string, check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (child?.pid) peakRssKiB = Math.max(peakRssKiB, rssKiB(child.pid));
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  slack = await startSlackServer();
  ollama = await startScriptedOllama();
  ollama.setChat(() => {
    modelCalls.push(Date.now());
    return { content: 'Probably the storm: the facts above are all there is.' };
  });
  dataDir = mkdtempSync(join(tmpdir(), 'kubemate-storm-'));
  writeFileSync(
    join(dataDir, 'policy.yaml'),
    'version: 1\nidentities:\n  triage: [alert:triage]\nbindings:\n  - subjects: [triage]\n    roles: [viewer]\n',
  );
  port = await freePort();
  stack = await startPrometheusStack({
    alertmanagerConfig: `route:
  receiver: kubemate
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: kubemate
    webhook_configs:
      - url: http://127.0.0.1:${port}/api/alerts
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            credentials: ${TOKEN}
`,
  });
  child = startKubemate();
  await healthy();
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await stack?.stop();
  await ollama?.close();
  await slack?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('an alert storm, with a SIGKILL in the middle', () => {
  it('accounts for all 2,000 alerts, posts no thread twice, one storm summary, model runs within budget', async () => {
    const startsAt = new Date().toISOString();
    const alerts = NAMESPACES.flatMap((namespace) =>
      ALERTNAMES.flatMap((alertname) =>
        Array.from({ length: PER_GROUP }, (_, i) => ({
          labels: {
            alertname,
            namespace,
            instance: `host-${i}`,
            severity: alertname === 'StormCritical' ? 'critical' : 'warning',
          },
          annotations: { summary: `${alertname} on host-${i} in ${namespace}` },
          startsAt,
        })),
      ),
    );
    expect(alerts).toHaveLength(2000);
    // Into the real Alertmanager, in batches, well within a minute.
    for (let i = 0; i < alerts.length; i += 250) {
      const res = await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts.slice(i, i + 250)),
      });
      expect(res.status).toBe(200);
    }

    // SIGKILL once Kubemate has taken part of the storm, then start it again on the same data.
    await waitFor('part of the storm stored', () => stored().alerts >= 300, 60_000);
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = startKubemate();
    await healthy();

    await waitFor('every alert stored', () => stored().alerts === 2000, 120_000);
    await waitFor(
      'triage to have taken every group (done, or queued beyond the model budget is not a thing: enrichment needs no model)',
      () => (stored().triage.done ?? 0) === NAMESPACES.length * ALERTNAMES.length,
      120_000,
    );
    await new Promise((r) => setTimeout(r, 2000)); // the outbox and the summary edits settle

    const s = stored();
    expect(s.groups).toBe(200);
    expect(s.triage).toEqual({ done: 200 });

    const top = slack.messages.filter((m) => m.channel === CHANNEL && !m.thread_ts);
    const roots = top.filter((m) => !m.text.startsWith('[STORM]'));
    const storms = top.filter((m) => m.text.startsWith('[STORM]'));
    // The first groups of the minute got threads; the rest are lines in one storm summary.
    expect(roots.length).toBe(THRESHOLD);
    expect(new Set(roots.map((m) => m.text.split('\n')[0])).size).toBe(THRESHOLD);
    expect(storms).toHaveLength(1);
    const summary = storms[0]!.text;
    expect(summary).toMatch(
      new RegExp(
        `^\\[STORM\\] ${200 - THRESHOLD} more alert groups since .* \\(${200 - THRESHOLD} firing, ${200 - THRESHOLD} triaged\\)`,
      ),
    );
    const listed = [...summary.matchAll(/: (\d+) groups?, /g)].reduce((n, m) => n + Number(m[1]), 0);
    const more = Number(/… and (\d+) more groups/.exec(summary)?.[1] ?? 0);
    expect(listed + more).toBe(200 - THRESHOLD);
    // No thread got its alert lines twice, whatever was redelivered after the kill.
    for (const root of roots) {
      const lines = slack.messages.filter(
        (m) => m.thread_ts === root.ts && m.text.startsWith('Firing since'),
      );
      expect(lines).toHaveLength(PER_GROUP);
      expect(new Set(lines.map((m) => m.text)).size).toBe(PER_GROUP);
    }

    // Model runs: never more than the budget in any minute, across the restart.
    for (const t of modelCalls) {
      expect(modelCalls.filter((u) => u >= t && u < t + 60_000).length).toBeLessThanOrEqual(
        MODEL_RUNS_PER_MINUTE,
      );
    }
    // Memory stayed bounded while the storm came in.
    expect(peakRssKiB).toBeGreaterThan(0);
    expect(peakRssKiB).toBeLessThan(400 * 1024);
  }, 360_000);
});
