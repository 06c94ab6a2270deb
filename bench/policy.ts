/**
 * decide() with 200 roles and 5,000 bindings: decisions per second and p99 latency
 * (targets: over 100,000 per second, p99 under 100 µs).
 */
import { pathToFileURL } from 'node:url';
import { FilePolicyEngine } from '../policies/engine.js';
import { policyFileSchema } from '../policies/policy-file.js';
import type { Principal, ToolFacts } from '../policies/types.js';
import { percentile } from './stats.js';

const ROLES = 200;
const BINDINGS = 5000;
const PEOPLE = 2000;
const GROUPS = 100;
const DECISIONS = 200_000;

function policy() {
  const roles: Record<string, unknown[]> = {};
  for (let r = 0; r < ROLES; r++) {
    roles[`team-${r}`] = [
      {
        toolsets: ['cluster'],
        verbs: ['read', 'write'],
        namespaces: [`team-${r}`, `team-${r}-*`],
        clusters: ['prod-*'],
      },
      { toolsets: ['metrics', 'logs'], verbs: ['read'] },
    ];
  }
  const bindings = Array.from({ length: BINDINGS }, (_, i) =>
    i % 3 === 0
      ? { subjects: [`group:g${i % GROUPS}`], roles: [`team-${i % ROLES}`] }
      : { subjects: [`p${i % PEOPLE}`], roles: [`team-${(i * 7) % ROLES}`] },
  );
  const groups: Record<string, string[]> = {};
  for (let p = 0; p < PEOPLE; p++) {
    const g = `g${p % GROUPS}`;
    groups[g] = [...(groups[g] ?? []), `p${p}`];
  }
  const identities: Record<string, string[]> = {};
  for (let p = 0; p < PEOPLE; p++) identities[`p${p}`] = [`slack:U${p}`, `wecom:w${p}`];
  return policyFileSchema.parse({
    version: 1,
    identities,
    groups,
    roles,
    bindings,
    deny: [{ tools: ['pods_delete'], namespaces: ['kube-system'] }],
    approvals: [{ verbs: ['write', 'admin'], approvers: { count: 1 } }],
  });
}

export function benchPolicy(): string[] {
  const built = performance.now();
  const engine = new FilePolicyEngine(
    policy(),
    { readOnly: false, disableDestructive: false, allowTools: [], denyTools: [] },
    () => 'prod-east',
  );
  const compileMs = performance.now() - built;
  const tools: ToolFacts[] = [
    {
      name: 'pods_list',
      permission: { toolset: 'cluster', verb: 'read', namespaced: true },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    {
      name: 'deployment_scale',
      permission: { toolset: 'cluster', verb: 'write', namespaced: true },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    {
      name: 'promql_query',
      permission: { toolset: 'metrics', verb: 'read', namespaced: false },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
  ];
  const calls = Array.from({ length: 4096 }, (_, i) => ({
    principal: {
      id: i % 5 === 0 ? `unknown:${i}` : `slack:U${(i * 13) % PEOPLE}`,
      groups: [],
      source: 'chat',
    } as Principal,
    tool: tools[i % tools.length]!,
    args: { namespace: `team-${(i * 31) % ROLES}`, cluster: i % 2 ? 'prod-east' : 'dev' },
  }));
  const effects: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) {
    const c = calls[i % calls.length]!;
    engine.decide(c.principal, c.tool, c.args);
  }
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < DECISIONS; i++) {
    const c = calls[i % calls.length]!;
    const t0 = performance.now();
    const d = engine.decide(c.principal, c.tool, c.args);
    samples.push(performance.now() - t0);
    effects[d.effect] = (effects[d.effect] ?? 0) + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const perSecond = DECISIONS / seconds;
  const p99us = percentile(samples, 99) * 1000;
  return [
    `decide() with ${ROLES} roles and ${BINDINGS} bindings (${PEOPLE} people, ${GROUPS} groups); policy compiled in ${compileMs.toFixed(0)} ms`,
    `  ${Math.round(perSecond).toLocaleString('en')} decisions/s (target > 100,000: ${(perSecond / 100_000).toFixed(2)}×), p50 ${(percentile(samples, 50) * 1000).toFixed(1)} µs, p99 ${p99us.toFixed(1)} µs (target < 100 µs)`,
    `  outcomes: ${Object.entries(effects)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${benchPolicy().join('\n')}\n`);
}
