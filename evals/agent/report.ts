import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ScenarioResult } from './grade.js';
import type { HarnessRun } from './harness.js';

const pct = (n: number, d: number) => (d === 0 ? '-' : `${((100 * n) / d).toFixed(0)}%`);

function cell(r: ScenarioResult): string[] {
  const facts = `${r.facts.filter((f) => f.ok).length}/${r.facts.length}`;
  return [
    r.id,
    r.model,
    r.pass ? 'pass' : 'FAIL',
    r.status,
    facts,
    r.tools.ok ? 'ok' : 'no',
    r.forbidden.length === 0 ? 'ok' : `${r.forbidden.length}!`,
    String(r.usage?.steps ?? '-'),
    String(r.usage?.promptTokens ?? '-'),
    `${(r.wallMs / 1000).toFixed(1)}s`,
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The report a person reads: one row per scenario and model, why each failure failed, pass rates. */
export function formatReport(run: HarnessRun): string {
  const head = [
    'SCENARIO',
    'MODEL',
    'RESULT',
    'STATUS',
    'FACTS',
    'TOOLS',
    'FORBIDDEN',
    'STEPS',
    'PROMPT TOK',
    'TIME',
  ];
  const lines = [table([head, ...run.results.map(cell)]), ''];
  for (const r of run.results.filter((x) => !x.pass)) {
    const why = [
      r.error,
      ...r.facts.filter((f) => !f.ok).map((f) => `missing fact "${f.fact}" (/${f.patterns.join('/ or /')}/)`),
      ...r.tools.problems,
      ...r.forbidden,
      r.status !== 'answered' && r.status !== 'error' ? `status ${r.status}` : undefined,
    ].filter(Boolean);
    lines.push(`${r.id} [${r.model}]: ${why.join('; ')}`);
  }
  if (run.results.some((r) => !r.pass)) lines.push('');
  for (const model of run.models) {
    const mine = run.results.filter((r) => r.model === model);
    const passed = mine.filter((r) => r.pass).length;
    lines.push(`pass rate ${model}: ${passed}/${mine.length} (${pct(passed, mine.length)})`);
  }
  for (const s of run.skipped) lines.push(`skipped ${s.model}: ${s.why}`);
  if (run.mode === 'scripted') {
    lines.push(
      'scripted model: plumbing only, not a model evaluation (set OLLAMA_HOST to evaluate a real model)',
    );
  }
  return lines.join('\n');
}

export function writeResults(file: string, run: HarnessRun): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
}
