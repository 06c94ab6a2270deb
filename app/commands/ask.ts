import type { Command } from 'commander';
import {
  type Agent,
  type AgentAnswer,
  type AgentEvent,
  AgentInputError,
  AgentStoreError,
  createLlmProvider,
} from '../../agent/index.js';
import type { Principal } from '../../policies/types.js';
import type { Config } from '../config.js';
import type { ModelCheck } from '../model-check.js';

interface AskOptions {
  thread?: string;
  json?: boolean;
  resume?: string;
  check?: boolean;
}

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

function oneLine(v: unknown, max = 140): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Answer text on stdout as it streams; progress (tool calls, notices) on stderr. */
function printer(json: boolean) {
  let endsWithNewline = true;
  return (e: AgentEvent) => {
    switch (e.type) {
      case 'text':
        if (!json) {
          out(e.delta);
          endsWithNewline = e.delta.endsWith('\n');
        }
        return;
      case 'tool_call':
        err(`· ${e.name} ${oneLine(e.args)}\n`);
        return;
      case 'tool_result':
        err(`  → ${e.status}: ${oneLine(e.summary)}\n`);
        return;
      case 'notice':
        err(`! ${e.message}\n`);
        return;
      case 'approval_required':
        err(`⏸ approval required, ticket ${e.ticketId}: ${e.plan}\n`);
        return;
      case 'done':
        if (!json && !endsWithNewline) out('\n');
        return;
    }
  };
}

function summary(a: AgentAnswer) {
  const u = a.usage;
  err(
    `\n[${a.status}] thread ${a.threadId} · run ${a.runId} · ${u.steps} model calls · ${u.promptTokens} prompt tokens · model ${Math.round(u.modelMs)} ms, tools ${Math.round(u.toolMs)} ms\n`,
  );
  if (a.status !== 'paused') err(`follow up with: kubemate ask --thread ${a.threadId} "…"\n`);
}

async function check(config: Config, json: boolean, models?: () => Promise<ModelCheck[]>): Promise<number> {
  const provider = createLlmProvider(config.llm);
  if (!provider) {
    const message =
      'llm.provider is none: the agent runs in degraded mode (runbooks and direct commands only).';
    if (json) out(`${JSON.stringify({ ok: false, provider: 'none', message }, null, 2)}\n`);
    else out(`${message}\n`);
    return 1;
  }
  const health = await provider.check();
  // The models Kubemate needs, on servers under models.ollama, through the models tools.
  const checks = models ? await models() : [];
  const ok = health.ok && checks.every((c) => c.ok);
  if (json) out(`${JSON.stringify(checks.length ? { ...health, ok, models: checks } : health, null, 2)}\n`);
  else {
    out(`${health.ok ? 'ok' : 'problem'}: ${health.message}\n`);
    if (health.fix && !health.ok) out(`fix: ${health.fix}\n`);
    for (const c of checks) out(`${c.ok ? 'ok' : 'problem'}: ${c.message}\n`);
  }
  return ok ? 0 : 1;
}

/**
 * `kubemate ask "…"`: the agent as the local principal. `--check` tells whether the model is
 * there (and the exact `ollama pull` when it is not); `--resume RUN` continues a paused run.
 * Exit codes: 0 answered (or degraded, or paused on a ticket), 1 failed, 2 bad input.
 */
type OpenedAgent = { agent: Agent; principal: Principal; close(): unknown };

export function registerAskCommands(
  program: Command,
  config: () => Config,
  open: () => OpenedAgent | Promise<OpenedAgent>,
  models?: () => Promise<ModelCheck[]>,
): void {
  program
    .command('ask')
    .description('Ask the ops agent a question; it uses the tools you may use, through the same policy')
    .argument('[question...]', 'the question, e.g. "why is payments/api restarting?"')
    .option('--thread <id>', 'continue a conversation (the thread id an earlier answer printed)')
    .option('--json', 'print the whole answer as JSON at the end instead of streaming text')
    .option('--resume <run>', 'continue a run that paused for approval, once its ticket is decided')
    .option(
      '--check',
      'check that the model server answers and has the configured models (and, for servers under models.ollama, that they are loaded and capable)',
    )
    .action(async (words: string[], opts: AskOptions) => {
      if (opts.check) {
        process.exitCode = await check(config(), !!opts.json, models);
        return;
      }
      const question = words.join(' ').trim();
      if (!opts.resume && !question) {
        err(
          'kubemate: give a question, e.g. kubemate ask "why is payments/api restarting?", or --resume RUN\n',
        );
        process.exitCode = 2;
        return;
      }
      const { agent, principal, close } = await open();
      const controller = new AbortController();
      const onSigint = () => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      try {
        const onEvent = printer(!!opts.json);
        const answer = opts.resume
          ? await agent.resume(opts.resume, principal, { signal: controller.signal, onEvent })
          : await agent.ask({
              question,
              principal,
              ...(opts.thread ? { threadId: opts.thread } : {}),
              signal: controller.signal,
              onEvent,
            });
        if (opts.json) out(`${JSON.stringify(answer, null, 2)}\n`);
        else summary(answer);
        process.exitCode = answer.status === 'failed' ? 1 : 0;
      } catch (e) {
        if (e instanceof AgentInputError || e instanceof AgentStoreError) {
          err(`kubemate: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      } finally {
        process.removeListener('SIGINT', onSigint);
        await close();
      }
    });
}
