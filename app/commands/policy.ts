import type { Command } from 'commander';
import { FilePolicyEngine } from '../../policies/engine.js';
import { BUILTIN_ROLES } from '../../policies/policy-file.js';
import { ToolRegistry } from '../../tools/core/registry.js';
import { buildRegistry } from '../../tools/index.js';
import type { Config } from '../config.js';
import { loadPolicyFile } from '../wiring.js';

function fail(message: string, code: number): never {
  process.stderr.write(`kubemate: ${message}\n`);
  process.exit(code);
}

function policyPath(given: string | undefined, config: () => Config): string {
  const path = given ?? config().policy.file;
  if (!path) fail('no policy file: give one, or set policy.file in the configuration', 2);
  return path;
}

function load(path: string) {
  try {
    return loadPolicyFile(path);
  } catch (e) {
    fail((e as Error).message, 1);
  }
}

export function registerPolicyCommands(program: Command, config: () => Config): void {
  const policy = program
    .command('policy')
    .description('Per-person permissions: check a policy file, explain a decision');

  policy
    .command('check [file]')
    .description('Validate a policy file (default: policy.file from the configuration)')
    .action((file: string | undefined) => {
      const path = policyPath(file, config);
      const p = load(path);
      const roles = [...Object.keys(BUILTIN_ROLES), ...Object.keys(p.roles)];
      process.stdout.write(
        `${path}: valid. ${Object.keys(p.identities).length} people with mapped identities, ${roles.length} roles (${roles.join(', ')}), ${p.bindings.length} bindings, ${p.deny.length} deny rules, ${p.approvals.length} approval rules; impersonation ${p.impersonation.enabled ? 'on' : 'off'}.\n`,
      );
    });

  policy
    .command('explain <tool> [args]')
    .description('Print the decision for one call and the rule that made it')
    .requiredOption(
      '--as <principal>',
      'who asks: a person, or an identity such as slack:U0123 or token:ci-bot',
    )
    .option('--group <group...>', 'groups the surface reports for that principal', [])
    .option('--file <file>', 'policy file (default: policy.file from the configuration)')
    .action(
      (tool: string, rawArgs: string | undefined, opts: { as: string; group: string[]; file?: string }) => {
        const cfg = config();
        const engine = new FilePolicyEngine(
          load(policyPath(opts.file, () => cfg)),
          cfg.policy,
          () => cfg.kubernetes.defaultCluster,
        );
        const def = buildRegistry().find(tool);
        if (!def) fail(`unknown tool '${tool}'; run 'kubemate tools list'`, 2);
        let args: Record<string, unknown> = {};
        if (rawArgs) {
          try {
            args = JSON.parse(rawArgs);
          } catch (e) {
            fail(`arguments are not valid JSON: ${(e as Error).message}`, 2);
          }
        }
        const principal = { id: opts.as, groups: opts.group, source: 'cli' as const };
        const { person, groups } = engine.identify(principal);
        const d = engine.decide(principal, ToolRegistry.facts(def), args);
        const lines = [
          `principal ${opts.as} is person '${person}'${groups.size ? ` in groups ${[...groups].join(', ')}` : ' (no groups)'}`,
          `decision: ${d.effect}`,
          `rule: ${d.rule}`,
          ...('reason' in d ? [`reason: ${d.reason}`] : []),
          ...(d.effect === 'needs-approval' && d.approval
            ? [
                `approvers: ${d.approval.count}${d.approval.groups ? ` from ${d.approval.groups.join(' or ')}` : ''}, not ${person}`,
              ]
            : []),
        ];
        const identity = engine.kubeIdentity(principal);
        if (identity)
          lines.push(
            `kubernetes identity: ${identity.user} (groups ${identity.groups.join(', ') || 'none'})`,
          );
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
