import type { Principal } from '../policies/types.js';
import type { Citation } from '../rag/types.js';
import type { OutputImage, ResultStatus } from '../tools/core/types.js';

/** What a run reports while it works, in order; `done` comes last, exactly once. */
export type AgentEvent =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; name: string; args: unknown }
  | {
      type: 'tool_result';
      name: string;
      status: ResultStatus;
      summary: string;
      /** Images the tool returned (charts, base64 PNG), for surfaces that can show them. */
      images?: OutputImage[];
    }
  | { type: 'approval_required'; ticketId: string; plan: string }
  | { type: 'notice'; message: string }
  | { type: 'done'; answer: AgentAnswer };

export type AnswerStatus = 'answered' | 'paused' | 'failed' | 'degraded';

export interface AgentToolCall {
  name: string;
  args: unknown;
  status: ResultStatus;
}

/** A change the agent refused to run on its own: the user had not asked for it (see agent/guard.ts). */
export interface BlockedWrite {
  name: string;
  args: unknown;
  reason: string;
  /** Where the idea came from: the untrusted data read before it was proposed. */
  origin: string;
  /** The call as the answer shows it (see proposal.ts). */
  shown?: string;
  /** Present when `shown` is the whole call: the digest a yes confirms ("yes 3f9a2c"). */
  digest?: string;
  /** Why a yes cannot confirm it (too long to show, secret values masked). */
  notConfirmable?: string;
}

export interface AgentUsage {
  /** Model calls. */
  steps: number;
  promptTokens: number;
  completionTokens: number;
  /** Time spent waiting for the model. */
  modelMs: number;
  /** Time spent in tool calls (the pipeline and its backends). */
  toolMs: number;
  /** Everything else: the agent's own work (prompt building, budgeting, persistence). */
  overheadMs: number;
}

export interface AgentAnswer {
  runId: string;
  threadId: string;
  status: AnswerStatus;
  /** The whole answer as a person reads it, with the tool calls and runbooks it rests on. */
  text: string;
  /** Runbook passages the answer rests on: those it cites first, then the others it was shown. */
  citations: Citation[];
  toolCalls: AgentToolCall[];
  /** Present when the run paused on an approval ticket; `resume(runId)` continues it once decided. */
  pendingTicket?: { id: string; plan: string };
  /** Changes proposed but not run because the user did not ask for them. */
  blockedWrites?: BlockedWrite[];
  /** Degraded mode, retrieval trouble, trimmed context: what the reader should know. */
  notices: string[];
  usage: AgentUsage;
}

export interface AskInput {
  question: string;
  principal: Principal;
  /** Continue this thread (its last turns are remembered); a new thread when omitted. */
  threadId?: string;
  signal?: AbortSignal;
  onEvent?: (e: AgentEvent) => void;
}

export interface ResumeOptions {
  signal?: AbortSignal;
  onEvent?: (e: AgentEvent) => void;
}
