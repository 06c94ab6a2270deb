/** Who is asking. Every surface turns its caller into one of these before invoking a tool. */
export type PrincipalSource = 'cli' | 'mcp-stdio' | 'mcp-http' | 'chat' | 'alert' | 'agent' | 'schedule';

export interface Principal {
  /** Stable identifier, e.g. `local:alice`, `token:ci-bot`, `slack:U123`. */
  id: string;
  groups: string[];
  source: PrincipalSource;
  /**
   * For the agent acting for someone: the surface they asked through (`chat`, `cli`, `mcp-http`…),
   * so the audit shows "agent via chat", not only "agent".
   */
  via?: PrincipalSource;
}

export type Verb = 'read' | 'write' | 'admin';

/** What a tool needs, declared by the tool and read by the policy. */
export interface ToolPermission {
  toolset: string;
  verb: Verb;
  /** True when the tool acts inside one namespace (taken from its `namespace` argument). */
  namespaced: boolean;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** The part of a tool definition the policy may look at; policies never see handlers. */
export interface ToolFacts {
  name: string;
  permission: ToolPermission;
  annotations: ToolAnnotations;
}

export type Decision =
  | { effect: 'allow'; rule: string }
  | { effect: 'deny'; reason: string; rule: string }
  | {
      effect: 'needs-approval';
      reason: string;
      rule: string;
      /** How many approvals, and from which groups; default one approval from anyone allowed. */
      approval?: ApprovalRequirement;
    };

export interface ApprovalRequirement {
  count: number;
  groups?: string[];
}

export type ApprovalCheck = { ok: true; person: string } | { ok: false; reason: string };

export interface PolicyEngine {
  /** The single place a permission is decided, for one call with its arguments. */
  decide(principal: Principal, tool: ToolFacts, args: Record<string, unknown>): Decision;
  /** Whether the principal could ever call the tool (used to filter `tools/list`). */
  mayEverCall(principal: Principal, tool: ToolFacts): boolean;
  /** The person behind a principal: chat, token and CLI identities of one person map to one name. */
  personOf(principal: Principal): string;
  /** Whether `approver` may approve `requester`'s exact call (four eyes, groups, own permission). */
  mayApprove(
    approver: Principal,
    requester: Principal,
    tool: ToolFacts,
    args: Record<string, unknown>,
    requirement: ApprovalRequirement,
  ): ApprovalCheck;
}

/** One audited event. The tamper-evident store arrives with the policy engine; the hook is here now. */
export interface AuditRecord {
  at: string;
  kind: 'decision' | 'result' | 'approval';
  principal: Principal;
  tool: string;
  args: Record<string, unknown>;
  /** Set when the arguments were too large or too deep to keep whole: what was left out. */
  argsCut?: string;
  decision?: Decision;
  outcome?: 'success' | 'error' | 'no_data' | 'approval_required' | 'denied' | 'invalid';
  durationMs?: number;
  error?: string;
  /** The person behind the principal, when the policy maps identities. */
  person?: string;
  /** Approval ticket this record belongs to. */
  ticketId?: string;
  /** How many images (charts) the result carried; the images themselves are never stored. */
  images?: number;
}

/**
 * Where audit records go. A synchronous sink (the SQLite log) has written the record when `record`
 * returns; an asynchronous one (PostgreSQL) returns a promise that settles once the record is
 * committed or refused. The tool pipeline awaits it: a decision is on the record before its call
 * runs, and a result before the caller sees it.
 */
export interface AuditSink {
  record(entry: AuditRecord): unknown;
}
