import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { Principal } from '../../policies/types.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';
import { formatProblems, loadCheckDir, SCOPES, shippedChecks } from '../../tools/inspection/check.js';
import { renderHtml } from '../../tools/inspection/html.js';
import type { Report } from '../../tools/inspection/model.js';
import type { InspectionStore } from '../../tools/inspection/store.js';
import { progressBar } from './progress-bar.js';

export interface InspectDeps {
  pipeline: ToolPipeline;
  principal: Principal;
  store: InspectionStore;
  close(): unknown;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function scopeArg(value: string, previous: string[]): string[] {
  const out = [...previous];
  for (const s of value.split(',')) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(`'${s}' is not a scope; choose from ${SCOPES.join(', ')}.`);
    }
    out.push(s);
  }
  return out;
}

export function registerInspectCommands(
  program: Command,
  open: () => InspectDeps | Promise<InspectDeps>,
): void {
  const inspect = program
    .command('inspect')
    .description(
      'Run an inspection (health checks of hosts, cluster, apps, databases, certificates, models) and print its summary',
    )
    .option(
      '--scope <scope>',
      `scope(s) to inspect, repeatable or comma-separated: ${SCOPES.join(', ')}`,
      scopeArg,
      [],
    )
    .option('--check <id>', 'only this check id (repeatable)', collect, [])
    .option('--namespace <ns>', 'limit the Kubernetes analyzers to one namespace')
    .option('--cluster <name>', 'cluster (kubeconfig context) to inspect')
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option('--json', 'print the whole report as JSON instead of the summary')
    .action(
      async (opts: {
        scope: string[];
        check: string[];
        namespace?: string;
        cluster?: string;
        html?: string;
        json?: boolean;
      }) => {
        const deps = await open();
        const bar = progressBar({ label: 'inspect' });
        try {
          const args = {
            ...(opts.scope.length ? { scopes: opts.scope } : {}),
            ...(opts.check.length ? { checks: opts.check } : {}),
            ...(opts.namespace ? { namespace: opts.namespace } : {}),
            ...(opts.cluster ? { cluster: opts.cluster } : {}),
          };
          const result = await deps.pipeline.invoke('inspection_run', args, deps.principal, {
            onProgress: (p) => bar.update(p),
          });
          bar.done();
          if (result.isError) {
            process.stderr.write(`${result.text}\n`);
            process.exitCode = result.status === 'invalid' ? 2 : 1;
            return;
          }
          const id = String(result.structured?.id ?? '');
          const stored = await deps.store.get(id);
          const report = stored ? (JSON.parse(stored.body) as Report) : undefined;
          if (opts.html) {
            if (!report) throw new Error(`report ${id} was not kept, so no HTML can be written`);
            const kind = stored!.meta.kind;
            writeFileSync(opts.html, renderHtml(report, { history: await deps.store.history(kind, 30) }));
            process.stderr.write(`HTML report written to ${opts.html}\n`);
          }
          if (opts.json) process.stdout.write(`${JSON.stringify(report ?? result.structured, null, 2)}\n`);
          else process.stdout.write(`${result.text}\n`);
        } catch (e) {
          bar.done();
          process.stderr.write(`kubemate: ${(e as Error).message}\n`);
          process.exitCode = 1;
        } finally {
          await deps.close();
        }
      },
    );
  const checks = inspect.command('checks').description('The check catalog');
  checks
    .command('validate <dir>')
    .description('Check a folder of your own checks (YAML): says exactly what is wrong with each bad one')
    .action((dir: string) => {
      const r = loadCheckDir(dir, shippedChecks());
      if (r.problems.length) {
        process.stderr.write(
          `${formatProblems(r.problems)}\n${r.problems.length} problem(s); ${r.checks.length} check(s) valid\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${r.checks.length} check(s) valid in ${dir}\n`);
    });
  checks
    .command('list')
    .description('List the checks (shipped and, with inspections.checksDir, your own)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const all = shippedChecks();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        return;
      }
      for (const c of all) process.stdout.write(`${c.id.padEnd(40)} ${c.scope.padEnd(13)} ${c.title}\n`);
    });
}
