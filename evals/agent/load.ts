import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { allHold, checkFacts, compileFact } from './facts.js';
import { type Scenario, scenarioSchema } from './schema.js';
import { placeholders } from './template.js';

// Compiled benchmarks run from dist/; the scenarios stay beside the source.
const here = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist([\\/]evals[\\/]agent)$/, '$1');
export const SCENARIOS_DIR = path.join(here, 'scenarios');

export class ScenarioError extends Error {}

function describe(file: string, error: z.ZodError): string {
  const lines = error.issues.map((i) => `  - ${i.path.join('.') || '(top)'}: ${i.message}`);
  return `${file}: invalid scenario\n${lines.join('\n')}`;
}

/** Variables a scenario's setup will define, for checking its placeholders before anything runs. */
function declaredVars(s: Scenario): (name: string) => boolean {
  const exact = new Set(['namespace']);
  for (const c of s.setup.certificates) exact.add(`${c.secret}.notAfter`).add(`${c.secret}.notAfterDate`);
  const pods = s.setup.podStatus.flatMap((p) => (p.as ? [p.as] : []));
  return (name) =>
    exact.has(name) || pods.some((a) => name === a || new RegExp(`^${a}\\.(\\d+|node)$`).test(name));
}

function checkOne(s: Scenario, knownTools: ReadonlySet<string> | undefined): string[] {
  const problems: string[] = [];
  const declared = declaredVars(s);
  for (const name of placeholders([s.tools, s.facts, s.setup.status, s.setup.manifests])) {
    if (!declared(name)) problems.push(`placeholder \${${name}} is never defined by the setup`);
  }
  // Event messages may also name the object the event is about.
  for (const name of placeholders(s.setup.events)) {
    if (!declared(name) && name !== 'object')
      problems.push(`events: placeholder \${${name}} is never defined by the setup`);
  }
  if (knownTools) {
    for (const t of s.tools.flatMap((t) => [t.name, ...t.or])) {
      if (!knownTools.has(t))
        problems.push(`tools: no tool named ${t} (known: ${[...knownTools].sort().join(', ')})`);
    }
  }
  const dummy = Object.fromEntries(placeholders(s.facts).map((n) => [n, `\u0000${n}\u0000`]));
  for (const f of s.facts) {
    try {
      compileFact(f, dummy);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length === 0) {
    for (const r of checkFacts(s.question, s.facts, dummy)) {
      if (r.ok) problems.push(`facts: "${r.fact}" already holds for the question itself (/${r.matched}/)`);
    }
    if (allHold(checkFacts(`${s.question}\n${JSON.stringify(s.tools)}`, s.facts, dummy))) {
      problems.push(
        'facts: every fact holds for the question and tool arguments alone; at least one must need the cluster',
      );
    }
  }
  return problems;
}

/**
 * Loads every `<dir>/<id>/scenario.yaml`, validated, optionally only the ids given. Errors name the
 * file and the key. `knownTools` (the registry's names) checks the tool steps.
 */
export function loadScenarios(
  opts: { dir?: string; only?: string[]; knownTools?: Iterable<string> } = {},
): Scenario[] {
  const dir = opts.dir ?? SCENARIOS_DIR;
  const known = opts.knownTools ? new Set(opts.knownTools) : undefined;
  const ids = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'scenario.yaml')))
    .map((d) => d.name)
    .sort();
  const errors: string[] = [];
  const scenarios: Scenario[] = [];
  for (const id of ids) {
    const file = path.join(id, 'scenario.yaml');
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path.join(dir, file), 'utf8'));
    } catch (e) {
      errors.push(`${file}: not valid YAML: ${(e as Error).message}`);
      continue;
    }
    const parsed = scenarioSchema.safeParse(raw);
    if (!parsed.success) {
      errors.push(describe(file, parsed.error));
      continue;
    }
    if (!/^[a-z0-9][a-z0-9-]*$/.test(id))
      errors.push(`${file}: folder name must be lower-case letters, digits and dashes`);
    const s: Scenario = { ...parsed.data, id, file };
    for (const p of checkOne(s, known)) errors.push(`${file}: ${p}`);
    scenarios.push(s);
  }
  const seen = (key: (s: Scenario) => string[], what: string) => {
    const owner = new Map<string, string>();
    for (const s of scenarios) {
      for (const k of key(s)) {
        const other = owner.get(k);
        if (other) errors.push(`${s.file}: ${what} '${k}' is also used by ${other}`);
        else owner.set(k, s.id);
      }
    }
  };
  seen((s) => [s.namespace], 'namespace');
  seen((s) => s.setup.nodes.map((n) => n.name), 'node');
  seen((s) => [s.question.toLowerCase()], 'question');
  for (const a of scenarios) {
    for (const b of scenarios) {
      if (a !== b && b.question.toLowerCase().includes(a.question.toLowerCase())) {
        errors.push(
          `${b.file}: its question contains ${a.file}'s whole question; the scripted model could not tell them apart`,
        );
      }
    }
  }
  if (errors.length > 0)
    throw new ScenarioError(`${errors.length} problem(s) in ${dir}:\n${errors.join('\n')}`);
  if (opts.only && opts.only.length > 0) {
    const missing = opts.only.filter((id) => !ids.includes(id));
    if (missing.length > 0)
      throw new ScenarioError(`no scenario ${missing.join(', ')} (known: ${ids.join(', ')})`);
    return scenarios.filter((s) => opts.only!.includes(s.id));
  }
  return scenarios;
}
