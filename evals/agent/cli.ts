/**
 * `npm run eval:agent [-- options]`: creates the incident scenarios on a real test cluster, asks
 * the agent each question and grades the answers. With OLLAMA_HOST set it evaluates real models
 * (`--model a,b`) and prints pass rates per model; without it a scripted model checks the plumbing
 * only. See evals/agent/README.md.
 */
import { parseArgs } from 'node:util';
import { startCluster, type TestCluster } from '../../test/env/cluster.js';
import { buildRegistry } from '../../tools/index.js';
import { runHarness } from './harness.js';
import { loadScenarios } from './load.js';
import { formatReport, writeResults } from './report.js';

const HELP = `usage: npm run eval:agent -- [options]
  --model NAMES        models to evaluate, comma-separated (with OLLAMA_HOST; default llama3.1:8b)
  --scenario IDS       only these scenarios, comma-separated (default: all)
  --concurrency N      scenarios at once (default 1 with a real model, 4 scripted)
  --context-window N   the model's context window in tokens (llm.contextWindow)
  --timeout S          seconds per question (default 600)
  --kubeconfig FILE    a running test cluster (default KUBEMATE_TEST_KUBECONFIG, else one is started)
  --out FILE           JSON results (default dist/agent-evals.json)
  --list               list the scenarios and exit
environment: OLLAMA_HOST=host:port evaluates real models; unset, the scripted model checks plumbing only`;

/** Ollama's own convention: host, host:port or a URL. */
export function ollamaUrl(host: string): string {
  const withScheme = /^https?:\/\//.test(host) ? host : `http://${host}`;
  const u = new URL(withScheme);
  if (!u.port && !/^https?:\/\/[^/]+:\d+/.test(withScheme)) u.port = '11434';
  return u.toString().replace(/\/$/, '');
}

const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      scenario: { type: 'string' },
      concurrency: { type: 'string' },
      'context-window': { type: 'string' },
      timeout: { type: 'string' },
      kubeconfig: { type: 'string' },
      out: { type: 'string', default: 'dist/agent-evals.json' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const scenarios = loadScenarios({ only: list(values.scenario), knownTools: buildRegistry().names() });
  if (values.list) {
    for (const s of scenarios)
      process.stdout.write(`${s.id.padEnd(28)} ${s.category.padEnd(11)} ${s.question}\n`);
    return 0;
  }
  const host = process.env.OLLAMA_HOST;
  const external = values.kubeconfig ?? process.env.KUBEMATE_TEST_KUBECONFIG;
  let cluster: TestCluster | undefined;
  if (!external) {
    process.stderr.write('no KUBEMATE_TEST_KUBECONFIG: starting a test cluster (test/env/cluster.sh)\n');
    cluster = await startCluster();
  }
  try {
    const run = await runHarness({
      kubeconfig: external ?? cluster!.kubeconfigPath,
      scenarios,
      ...(host ? { ollamaUrl: ollamaUrl(host), models: list(values.model) } : {}),
      concurrency: Number(values.concurrency ?? (host ? 1 : 4)),
      ...(values['context-window'] ? { contextWindow: Number(values['context-window']) } : {}),
      ...(values.timeout ? { timeoutSeconds: Number(values.timeout) } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${formatReport(run)}\n`);
    writeResults(values.out!, run);
    process.stdout.write(`results: ${values.out}\n`);
    const errors = run.results.filter((r) => r.status === 'error').length;
    if (run.mode === 'scripted') return run.results.every((r) => r.pass) ? 0 : 1;
    return errors > 0 || run.models.length === 0 ? 1 : 0;
  } finally {
    await cluster?.stop();
  }
}

process.exitCode = await main();
