/** Text for people and models: a canary's weights, backends, controller and analysis. */
import { type Check, describeCheck, fmt } from './analysis.js';
import { CONTROLLER_LABEL, type ControllerView } from './controllers.js';
import type { BackendInfo } from './inventory.js';
import type { AnalysisResult } from './run-analysis.js';
import { describeSplit, type Split } from './splits.js';
import { formatWeights, percentages } from './weights.js';

export function controllerLine(c: ControllerView): string {
  const parts = [`${CONTROLLER_LABEL[c.kind]} ${c.name}: phase ${c.phase}`];
  if (c.canaryWeight !== undefined) parts.push(`canary weight ${c.canaryWeight}%`);
  if (c.progress) parts.push(c.progress);
  if (c.paused) parts.push('paused');
  return parts.join(', ') + (c.message ? ` (${c.message})` : '');
}

export function splitLines(s: Split): string[] {
  if (s.weighted.length === 0) return [`${describeSplit(s)}: no weighted backends (no rule splits traffic)`];
  return s.weighted.map(
    (r) =>
      `${describeSplit(s)}${s.kind === 'trafficsplit' ? '' : ` rule ${r.index}`}: ${formatWeights(percentages(r.backends))}`,
  );
}

export function backendLines(infos: BackendInfo[]): string[] {
  return infos.map((b) => {
    if (!b.deployments.length) return `  ${b.name}: ${b.problem}`;
    return `  ${b.name}: ${b.deployments
      .map((d) => `Deployment ${d.name} ${d.ready}/${d.replicas} ready, ${d.images.join(', ')}`)
      .join('; ')}`;
  });
}

export function analysisLines(a: AnalysisResult): string[] {
  const head = `analysis of ${a.namespace}/${a.canary}${a.stable ? ` against ${a.stable}` : ''} over ${a.window}: ${a.verdict.toUpperCase()} (${a.reason})`;
  return [
    head,
    `  requests ${fmt(a.requests)}: ${a.requestsQuery}`,
    ...a.checks.map((c: Check) => `  ${describeCheck(c)}: ${c.query}`),
  ];
}
