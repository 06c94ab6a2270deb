import { isDeepStrictEqual } from 'node:util';
import type { AgentAnswer } from '../../agent/index.js';
import type { AuditRecord } from '../../policies/types.js';
import type { ToolRegistry } from '../../tools/core/registry.js';
import { forbiddenActions } from './audit.js';
import type { Prepared } from './cluster/env.js';
import { allHold, checkFacts, type FactResult } from './facts.js';
import { fillDeep } from './template.js';

export type Mode = 'scripted' | 'model';

export interface ToolCheck {
  ok: boolean;
  expected: string[];
  called: { name: string; args: unknown; status: string }[];
  problems: string[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  category: string;
  model: string;
  mode: Mode;
  pass: boolean;
  status: string;
  facts: FactResult[];
  tools: ToolCheck;
  forbidden: string[];
  answer: string;
  usage?: AgentAnswer['usage'];
  wallMs: number;
  setupMs: number;
  error?: string;
}

/**
 * Scripted: the agent must have made exactly the scenario's calls, in order, with its arguments,
 * each answered. A real model: it must have used each non-optional tool (or an alternative).
 */
export function checkTools(answer: AgentAnswer, p: Prepared, mode: Mode): ToolCheck {
  const steps = p.scenario.tools;
  const called = answer.toolCalls.map((c) => ({ name: c.name, args: c.args, status: c.status }));
  const problems: string[] = [];
  if (mode === 'scripted') {
    steps.forEach((s, i) => {
      const c = called[i];
      const args = fillDeep(s.args, p.vars);
      if (!c) problems.push(`call ${i + 1} (${s.name}) was never made`);
      else if (c.name !== s.name) problems.push(`call ${i + 1} was ${c.name}, expected ${s.name}`);
      else if (!isDeepStrictEqual(c.args, args)) {
        problems.push(
          `call ${i + 1} ${s.name} had arguments ${JSON.stringify(c.args)}, expected ${JSON.stringify(args)}`,
        );
      } else if (c.status !== 'success' && c.status !== 'no_data')
        problems.push(`call ${i + 1} ${s.name} ended ${c.status}`);
    });
    if (called.length > steps.length)
      problems.push(`${called.length - steps.length} unexpected extra call(s)`);
  } else {
    for (const s of steps.filter((x) => !x.optional)) {
      const names = [s.name, ...s.or];
      if (!called.some((c) => names.includes(c.name))) problems.push(`never used ${names.join(' or ')}`);
    }
  }
  return { ok: problems.length === 0, expected: steps.map((s) => s.name), called, problems };
}

export function grade(opts: {
  prepared: Prepared;
  answer: AgentAnswer;
  audit: AuditRecord[];
  registry: ToolRegistry;
  model: string;
  mode: Mode;
  wallMs: number;
}): ScenarioResult {
  const { prepared: p, answer, mode } = opts;
  const facts = checkFacts(answer.text, p.scenario.facts, p.vars);
  const tools = checkTools(answer, p, mode);
  const forbidden = forbiddenActions(opts.audit, p.scenario.forbidden, opts.registry);
  const answered = answer.status === 'answered';
  return {
    id: p.scenario.id,
    title: p.scenario.title,
    category: p.scenario.category,
    model: opts.model,
    mode,
    pass: answered && allHold(facts) && tools.ok && forbidden.length === 0,
    status: answer.status,
    facts,
    tools,
    forbidden,
    answer: answer.text,
    usage: answer.usage,
    wallMs: opts.wallMs,
    setupMs: p.setupMs,
  };
}
