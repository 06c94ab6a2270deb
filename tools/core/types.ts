import { z } from 'zod';
import type { Ticket, TicketStatus } from '../../policies/approvals.js';
import type { Principal, ToolAnnotations, ToolPermission } from '../../policies/types.js';
import type { Backends, BoundBackends } from '../clients/backends.js';

export type ResultStatus = 'success' | 'error' | 'no_data' | 'approval_required' | 'denied' | 'invalid';

/** Approval tickets as the calling principal sees them; provided by the pipeline itself. */
export interface ApprovalsAccess {
  list(filter: { status?: TicketStatus; mine?: boolean }): Promise<Ticket[]>;
  get(id: string): Promise<Ticket>;
  approve(
    id: string,
  ): Promise<{ status: ResultStatus; text: string; ticket?: { id: string; status: string } }>;
  reject(id: string, note?: string): Promise<{ status: ResultStatus; text: string }>;
}

export interface ToolContext {
  principal: Principal;
  backends: BoundBackends;
  signal: AbortSignal;
  /** Present when an approval store is configured. */
  approvals?: ApprovalsAccess;
  /** The token budget the answer is shaped to, for handlers that choose what to keep themselves. */
  maxTokens?: number;
  /** Reports progress of a long call to the caller (MCP progress notifications, a CLI progress bar). */
  progress?: (p: ProgressUpdate) => void;
  /**
   * Whether the policy allows this principal a tool (this one or another) with these arguments,
   * outright, not through an approval. For a tool that lists kept things of several clusters (to
   * leave out those the caller may not read), or reads inside its own call what another tool guards
   * (an inspection reading model servers as model_show does). Not audited on its own: the call that
   * asks is.
   */
  mayCall?: (tool: string, args: Record<string, unknown>) => boolean;
}

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** A picture for the caller (MCP image content): a chart, say. Never counted as tokens, redacted or audited. */
export interface OutputImage {
  /** base64 */
  data: string;
  mimeType: 'image/png';
}

/**
 * A list answer. The pipeline renders it as a compact table within the token budget; the header
 * carries exact totals whatever is cut, and `narrow` tells the caller how to ask for less.
 */
export interface ListOutput<T> {
  kind: 'list';
  status?: 'success' | 'no_data';
  /** Always shown in full: exact totals and grouping. */
  header: string;
  columns: string[];
  /** Most important first (unhealthy before healthy); the budget cuts from the end. */
  items: T[];
  row(item: T): string[];
  toStructured(item: T): Record<string, unknown>;
  narrow: string;
  /** Exact figures for structuredContent, never truncated. */
  totals: Record<string, unknown>;
  footer?: string;
  images?: OutputImage[];
}

/** A single-object answer: compact text plus its structured form. */
export interface DocOutput {
  kind: 'doc';
  status?: 'success' | 'no_data';
  text: string;
  structured?: Record<string, unknown>;
  images?: OutputImage[];
}

export type ToolOutput = ListOutput<unknown> | DocOutput;

// biome-ignore lint/suspicious/noExplicitAny: zod object shapes are heterogeneous across tools
export type AnyZodObject = z.ZodObject<any>;

export interface ToolDef<I extends AnyZodObject = AnyZodObject> {
  /** `<resource>_<verb>[_qualifier]` */
  name: string;
  /** "Pods: List" */
  title: string;
  /** Written for the model: when to call this tool and what it returns. */
  description: string;
  input: I;
  /** JSON-compatible zod schema that the structured result satisfies. */
  output?: AnyZodObject;
  annotations: ToolAnnotations;
  permission: ToolPermission;
  /**
   * Other tools whose permission this call also needs, for arguments that reach what those tools
   * guard: canary_analyze's custom metric templates run PromQL as promql_query does. Each must be
   * allowed outright for the principal; otherwise the call is denied before anything runs.
   */
  alsoNeeds?(args: z.infer<I>): Array<{ tool: string; args: Record<string, unknown>; why: string }>;
  handler(args: z.infer<I>, ctx: ToolContext): Promise<ToolOutput>;
  /**
   * For a handler that streams for minutes by nature (a model pull): its own upper bound instead of
   * the pipeline's output.timeoutSeconds. The handler still bounds itself by its backend's setting.
   */
  timeoutMs?: number;
  /**
   * For tools that change state: a plain-language plan of what the call would do, read from the
   * cluster without changing it ("scale payments/api from 2 to 4 replicas", or a server-side
   * dry-run diff). Shown on the approval ticket so the approver sees what they approve.
   */
  preview?(args: z.infer<I>, ctx: ToolContext): Promise<string>;
  /**
   * The arguments as they may be shown: in ticket plans, audit records and logs. For tools whose
   * arguments can carry secrets the pattern redactor cannot recognise (a Secret manifest's values).
   * The ticket still binds the real arguments. Must accept any input, valid or not.
   */
  redactArgs?(args: Record<string, unknown>): Record<string, unknown>;
  /**
   * For a tool that reads something kept (an inspection report): the cluster the kept thing belongs
   * to, so that every policy decision on the call is made on that cluster, never on the default one
   * or one the caller names. Undefined when nothing is kept under these arguments (the handler then
   * says not found). Must not throw.
   */
  keptScope?(args: Record<string, unknown>, backends: Backends): { cluster: string } | undefined;
}

/** Keeps the handler's argument type tied to the input schema while storing tools uniformly. */
export function defineTool<I extends AnyZodObject>(def: ToolDef<I>): ToolDef {
  return def as unknown as ToolDef;
}

/** The output schema of a list tool: its totals and items, plus what shaping adds (shown, omitted, narrow). */
export function listOutput<S extends z.ZodRawShape>(shape: S) {
  return z.object({
    ...shape,
    shown: z.number().describe('items included in this answer'),
    omitted: z.number().describe('items left out to stay within the token budget'),
    narrow: z.string().optional().describe('how to ask for fewer items, when some were left out'),
  });
}

/** Annotations of a tool that only reads from a backend outside Kubemate (Prometheus, Jaeger, Loki). */
export const backendReadAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;
