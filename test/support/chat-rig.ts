import type { ChannelBinding } from '../../bots/core/types.js';
import { createSlackBot, type SlackBotOptions } from '../../bots/slack/bot.js';
import { ApprovalStore } from '../../policies/approvals.js';
import { approvalTools } from '../../tools/approvals/index.js';
import { silentLogger } from '../../tools/core/logger.js';
import type { ToolDef } from '../../tools/core/types.js';
import { makeAgent, ollamaAt, tempDir } from './agent-harness.js';
import { countingTools } from './fake-tools.js';
import type { ScriptedOllama } from './ollama-scripted.js';
import { testPipeline } from './pipeline.js';
import { engineFrom } from './policy.js';
import { APP_TOKEN, BOT_TOKEN, type SlackServer } from './slack-server.js';

export const SIGNING_SECRET = 'slack-signing-secret-for-unit-tests';

/** Alice and bob on Slack, both operators; `allow`: no approval rules, so granted writes run outright. */
export function chatPolicy(mode: 'approvals' | 'allow') {
  return `
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB, token:bob]
bindings:
  - subjects: [alice, bob]
    roles: [operator]
${mode === 'allow' ? 'approvals: []\n' : ''}`;
}

/**
 * The real Slack bot (Bolt, chat core, outbox) on the local Slack server, over a pipeline of counting
 * widget tools and the approval tools, with the scripted model behind the agent. No cluster needed.
 */
export function slackRig(opts: {
  slack: SlackServer;
  ollama?: ScriptedOllama;
  mode: 'http' | 'socket';
  policy?: 'approvals' | 'allow';
  channels?: ChannelBinding[];
  approvalTtlMs?: number;
  now?: () => number;
  extra?: Partial<SlackBotOptions>;
  /** More tools beside the counting widgets and the approval tools. */
  tools?: ToolDef[];
}) {
  const { tools, runs } = countingTools();
  const approvals = new ApprovalStore(':memory:', opts.approvalTtlMs ?? 60_000, opts.now);
  const { pipeline, audit } = testPipeline({
    tools: [...tools, ...approvalTools, ...(opts.tools ?? [])],
    policy: engineFrom(chatPolicy(opts.policy ?? 'approvals')),
    approvals,
  });
  let agent: ReturnType<typeof makeAgent>['agent'] | undefined;
  const bot = createSlackBot({
    mode: opts.mode,
    botToken: BOT_TOKEN,
    ...(opts.mode === 'http' ? { signingSecret: SIGNING_SECRET } : { appToken: APP_TOKEN }),
    apiUrl: opts.slack.apiUrl,
    channels: opts.channels ?? [],
    defaultAllowWrites: true,
    dataDir: tempDir('kubemate-chat-'),
    outbox: { perChannelIntervalMs: 0 },
    pipeline,
    // As in app/: the agent is built on the chat core's channel-guarded pipeline.
    agent: (guarded) => {
      agent ??= makeAgent({ pipeline: guarded, llm: opts.ollama ? ollamaAt(opts.ollama.url) : null }).agent;
      return agent;
    },
    audit,
    logger: silentLogger,
    ...opts.extra,
  });
  const settle = async () => {
    await bot.http?.idle();
    await bot.core.settled();
    await bot.outbox.drained();
  };
  return { bot, pipeline, audit, runs, approvals, settle };
}
