import type { Principal } from '../policies/types.js';
import type { Citation } from '../rag/types.js';
import type { ChatMessage, ToolCall } from './providers/types.js';
import type { AgentToolCall, AgentUsage, BlockedWrite } from './types.js';

/** A tool call that waits on an approval ticket; the run resumes from here. */
export interface PendingCall {
  call: ToolCall;
  ticketId: string;
  plan: string;
  /** Calls the model asked for in the same turn after the paused one: answered as not run on resume. */
  skipped: ToolCall[];
}

/** Everything needed to continue a run in another process: persisted as JSON in the agent store. */
export interface RunState {
  version: 1;
  runId: string;
  threadId: string;
  principal: Principal;
  question: string;
  /** The per-run nonce of the untrusted-data delimiters. */
  nonce: string;
  /** The user's own words in this thread (earlier questions and this one): what may ground a change. */
  userWords: string[];
  messages: ChatMessage[];
  toolCalls: AgentToolCall[];
  /** Runbook passages shown to the model, in order. */
  consulted: Citation[];
  /** Labels of the untrusted data read so far ("pods_logs payments/api-x"), for provenance. */
  reads: string[];
  blocked: BlockedWrite[];
  notices: string[];
  /** Lines the answer must carry whatever the model says (ticket outcomes after a resume). */
  facts: string[];
  usage: AgentUsage;
  /** Wall time of this run so far (ask and every resume), for usage.overheadMs. */
  wallMs: number;
  /** No model: the run is a direct command or a runbook answer. */
  degraded: boolean;
  /** A confirmed proposal ran without the model (confirm.ts); a resume reports the ticket without it. */
  direct?: boolean;
  pending?: PendingCall;
}

export function emptyUsage(): AgentUsage {
  return { steps: 0, promptTokens: 0, completionTokens: 0, modelMs: 0, toolMs: 0, overheadMs: 0 };
}
