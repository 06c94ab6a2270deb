import { type GuardSettings, globToRegExp, guardDecision } from './guard.js';
import { BUILTIN_ROLES, type Grant, isSystemGroup, type PolicyFile } from './policy-file.js';
import type {
  ApprovalCheck,
  ApprovalRequirement,
  Decision,
  PolicyEngine,
  Principal,
  ToolFacts,
  Verb,
} from './types.js';

/** What a call touches, from its arguments and the deployment's defaults. */
export interface CallScope {
  cluster: string;
  /** undefined: cluster-wide, or every namespace at once. */
  namespace: string | undefined;
}

export type RichDecision = Decision & { person?: string };

/** Approving is itself the approval act: tools of this toolset are never put behind an approval. */
export const APPROVALS_TOOLSET = 'approvals';

type Matcher = (value: string) => boolean;

/** Exact names become a set lookup and `prefix-*` a prefix test; only other globs need a regex. */
function anyGlob(globs: string[] | undefined): Matcher | undefined {
  if (!globs) return undefined;
  if (globs.includes('*')) return () => true;
  const exact = new Set(globs.filter((g) => !/[*?]/.test(g)));
  const prefixes = globs.filter((g) => /^[^*?]+\*$/.test(g)).map((g) => g.slice(0, -1));
  const res = globs.filter((g) => /[*?]/.test(g) && !/^[^*?]+\*$/.test(g)).map(globToRegExp);
  return (v) => exact.has(v) || prefixes.some((p) => v.startsWith(p)) || res.some((re) => re.test(v));
}

const IDENTITY_CACHE = 10_000;

function withoutSystemGroups(groups: readonly string[]): string[] {
  return [...new Set(groups.filter((g) => !isSystemGroup(g)))];
}

interface CompiledSelector {
  toolsets?: Matcher;
  tools?: Matcher;
  verbs?: Set<Verb>;
  clusters?: Matcher;
  namespaces?: Matcher;
}

function compileSelector(s: Grant): CompiledSelector {
  return {
    toolsets: anyGlob(s.toolsets),
    tools: anyGlob(s.tools),
    verbs: s.verbs ? new Set(s.verbs) : undefined,
    clusters: anyGlob(s.clusters),
    namespaces: anyGlob(s.namespaces),
  };
}

function matchesTool(sel: CompiledSelector, tool: ToolFacts): boolean {
  return (
    (!sel.toolsets || sel.toolsets(tool.permission.toolset)) &&
    (!sel.tools || sel.tools(tool.name)) &&
    (!sel.verbs || sel.verbs.has(tool.permission.verb))
  );
}

/**
 * Grants are read narrowly: a grant that names namespaces covers only calls inside them, never a
 * cluster-wide or all-namespaces call. Deny and approval rules are read broadly: one that names
 * namespaces also catches calls that span every namespace, since those touch the named ones too.
 */
function matchesScope(sel: CompiledSelector, scope: CallScope, broad: boolean): boolean {
  if (sel.clusters && !sel.clusters(scope.cluster)) return false;
  if (!sel.namespaces) return true;
  if (scope.namespace === undefined) return broad;
  return sel.namespaces(scope.namespace);
}

interface Subjects {
  any: boolean;
  people: Set<string>;
  groups: Set<string>;
}

function compileSubjects(list: string[]): Subjects {
  const s: Subjects = { any: false, people: new Set(), groups: new Set() };
  for (const item of list) {
    if (item === '*') s.any = true;
    else if (item.startsWith('group:')) s.groups.add(item.slice(6));
    else if (item.startsWith('user:')) s.people.add(item.slice(5));
    else s.people.add(item);
  }
  return s;
}

/** A subject names a person, one of their identities (`slack:U…`), or a group. */
function subjectMatches(s: Subjects, who: Identity): boolean {
  const { person, id, groups } = who;
  if (s.any || s.people.has(person) || s.people.has(id)) return true;
  for (const g of groups) if (s.groups.has(g)) return true;
  return false;
}

interface Identity {
  person: string;
  id: string;
  groups: Set<string>;
  /** Listed under `identities` (as a person or one of their identities). */
  mapped: boolean;
  bindings: CompiledBinding[];
}

interface ToolGrant {
  rule: string;
  sel: CompiledSelector;
}

/** Cache key of a principal: its id and the groups its surface reported. */
function key(principal: Principal): string {
  return principal.groups.length ? `${principal.id}\u0000${principal.groups.join('\u0000')}` : principal.id;
}

interface CompiledBinding {
  index: number;
  subjects: Subjects;
  grants: Array<{ role: string; index: number; sel: CompiledSelector }>;
}

/**
 * The policy engine: a pure function of the policy file, the principal, the tool and its
 * arguments. Order: guard switches, then deny rules (deny always wins), then grants from
 * bindings (nothing granted is denied), then approval rules.
 */
export class FilePolicyEngine implements PolicyEngine {
  private readonly personByIdentity = new Map<string, string>();
  private readonly memberOf = new Map<string, Set<string>>();
  private readonly bindings: CompiledBinding[];
  /** Bindings by the people and groups they name, so a decision reads only the bindings that apply. */
  private readonly bindingsByPerson = new Map<string, CompiledBinding[]>();
  private readonly bindingsByGroup = new Map<string, CompiledBinding[]>();
  private readonly toolGrants = new Map<string, ToolGrant[]>();
  /** Who a principal is, memoised: the policy is immutable, so the answer never changes. */
  private readonly identities = new Map<string, Identity>();
  private readonly denies: Array<{
    index: number;
    subjects: Subjects;
    sel: CompiledSelector;
    reason?: string;
  }>;
  private readonly approvals: Array<{
    index: number;
    subjects: Subjects;
    sel: CompiledSelector;
    req: ApprovalRequirement;
  }>;

  constructor(
    readonly policy: PolicyFile,
    private readonly guard: GuardSettings,
    private readonly defaultCluster: () => string | undefined = () => undefined,
  ) {
    for (const [person, ids] of Object.entries(policy.identities)) {
      this.personByIdentity.set(person, person);
      for (const id of ids) this.personByIdentity.set(id, person);
    }
    for (const [group, members] of Object.entries(policy.groups)) {
      for (const m of members) {
        const set = this.memberOf.get(m) ?? new Set();
        set.add(group);
        this.memberOf.set(m, set);
      }
    }
    const roles: Record<string, Grant[]> = { ...policy.roles, ...BUILTIN_ROLES };
    this.bindings = policy.bindings.map((b, index) => ({
      index,
      subjects: compileSubjects(b.subjects),
      grants: b.roles.flatMap((role) =>
        (roles[role] ?? []).map((g, i) => ({ role, index: i, sel: compileSelector(g) })),
      ),
    }));
    for (const b of this.bindings) {
      for (const p of b.subjects.people) this.index(this.bindingsByPerson, p, b);
      for (const g of b.subjects.groups) this.index(this.bindingsByGroup, g, b);
    }
    this.denies = policy.deny.map((d, index) => ({
      index,
      subjects: compileSubjects(d.subjects),
      sel: compileSelector(d),
      ...(d.reason ? { reason: d.reason } : {}),
    }));
    this.approvals = policy.approvals.map((a, index) => ({
      index,
      subjects: compileSubjects(a.subjects),
      sel: compileSelector(a),
      req: { count: a.approvers.count, ...(a.approvers.groups ? { groups: a.approvers.groups } : {}) },
    }));
  }

  /** The grants, in file order, that name this tool and verb; scope is checked per call. */
  private grantsFor(who: string, bindings: CompiledBinding[], tool: ToolFacts): ToolGrant[] {
    const k = `${who}\u0001${tool.name}\u0001${tool.permission.toolset}\u0001${tool.permission.verb}`;
    let list = this.toolGrants.get(k);
    if (!list) {
      list = bindings.flatMap((b) =>
        b.grants
          .filter((g) => matchesTool(g.sel, tool))
          .map((g) => ({ rule: `bindings[${b.index}] role ${g.role}`, sel: g.sel })),
      );
      if (this.toolGrants.size >= IDENTITY_CACHE * 4) this.toolGrants.clear();
      this.toolGrants.set(k, list);
    }
    return list;
  }

  private index(map: Map<string, CompiledBinding[]>, key: string, b: CompiledBinding): void {
    const list = map.get(key) ?? [];
    list.push(b);
    map.set(key, list);
  }

  /** The bindings naming this person or one of their groups, in file order (the first grant wins). */
  private bindingsFor(person: string, id: string, groups: Set<string>): CompiledBinding[] {
    const own = this.bindingsByPerson.get(person) ?? [];
    const lists = [own];
    if (id !== person) lists.push(this.bindingsByPerson.get(id) ?? []);
    for (const g of groups) {
      const l = this.bindingsByGroup.get(g);
      if (l) lists.push(l);
    }
    if (lists.length === 1 || lists.slice(1).every((l) => l.length === 0)) return own;
    return [...new Set(lists.flat())].sort((a, b) => a.index - b.index);
  }

  /** The Kubernetes identity to impersonate for this principal, when impersonation is on. */
  kubeIdentity(principal: Principal): { user: string; groups: string[] } | undefined {
    if (!this.policy.impersonation.enabled) return undefined;
    const { person, id } = this.identify(principal);
    // Only groups this policy file gives the person are forwarded: groups a surface reports are not
    // trusted to name Kubernetes groups. system: groups are never impersonated, whatever their source
    // (an `impersonation.users` override included): they are the cluster's own (system:masters).
    const mapped = this.policy.impersonation.users[person];
    if (mapped) return { user: mapped.user, groups: withoutSystemGroups(mapped.groups) };
    const groups = new Set([...(this.memberOf.get(person) ?? []), ...(this.memberOf.get(id) ?? [])]);
    return { user: person, groups: withoutSystemGroups([...groups]).sort() };
  }

  personOf(principal: Principal): string {
    return this.identify(principal).person;
  }

  /** The person behind a principal (chat and token identities map to one person) and their groups. */
  identify(principal: Principal): Identity {
    const k = key(principal);
    let known = this.identities.get(k);
    if (!known) {
      const mapped = this.personByIdentity.has(principal.id);
      const person = this.personByIdentity.get(principal.id) ?? principal.id;
      const groups = new Set(principal.groups);
      for (const g of this.memberOf.get(person) ?? []) groups.add(g);
      for (const g of this.memberOf.get(principal.id) ?? []) groups.add(g);
      known = {
        person,
        id: principal.id,
        groups,
        mapped,
        bindings: this.bindingsFor(person, principal.id, groups),
      };
      if (this.identities.size >= IDENTITY_CACHE) this.identities.clear();
      this.identities.set(k, known);
    }
    return known;
  }

  scopeOf(tool: ToolFacts, args: Record<string, unknown>): CallScope {
    const cluster = typeof args.cluster === 'string' ? args.cluster : (this.defaultCluster() ?? '');
    const namespace =
      tool.permission.namespaced && typeof args.namespace === 'string' && args.namespace !== ''
        ? args.namespace
        : undefined;
    return { cluster, namespace };
  }

  decide(principal: Principal, tool: ToolFacts, args: Record<string, unknown>): RichDecision {
    const switched = guardDecision(this.guard, tool);
    if (switched) return switched;
    const who = this.identify(principal);
    const { person, bindings } = who;
    const scope = this.scopeOf(tool, args);
    const where = () =>
      `${scope.cluster || 'default cluster'}${scope.namespace ? `/${scope.namespace}` : tool.permission.namespaced ? ' (all namespaces)' : ''}`;

    for (const d of this.denies) {
      if (subjectMatches(d.subjects, who) && matchesTool(d.sel, tool) && matchesScope(d.sel, scope, true)) {
        return {
          effect: 'deny',
          rule: `deny[${d.index}]`,
          reason: d.reason ?? `${tool.name} on ${where()} is denied for ${person}`,
          person,
        };
      }
    }

    let granted: string | undefined;
    for (const g of this.grantsFor(key(principal), bindings, tool)) {
      if (matchesScope(g.sel, scope, false)) {
        granted = g.rule;
        break;
      }
    }
    if (!granted) {
      return {
        effect: 'deny',
        rule: 'default-deny',
        reason: `no role grants ${person} the ${tool.permission.verb} verb on ${tool.name} in ${where()}`,
        person,
      };
    }

    for (const a of tool.permission.toolset === APPROVALS_TOOLSET ? [] : this.approvals) {
      if (subjectMatches(a.subjects, who) && matchesTool(a.sel, tool) && matchesScope(a.sel, scope, true)) {
        // A fast path (count 0): the first matching rule says no approval is needed.
        if (a.req.count === 0)
          return { effect: 'allow', rule: `${granted}; approvals[${a.index}] (none needed)`, person };
        // Four eyes only mean something when every identity of a person is known to be theirs.
        if (!who.mapped) {
          return {
            effect: 'deny',
            rule: `${granted}; approvals[${a.index}]; unmapped-identity`,
            reason: `${tool.name} needs approval, and '${principal.id}' is not listed under identities; only identities mapped to a person may request changes`,
            person,
          };
        }
        const by = a.req.groups ? ` from ${a.req.groups.map((g) => `group ${g}`).join(' or ')}` : '';
        return {
          effect: 'needs-approval',
          rule: `${granted}; approvals[${a.index}]`,
          reason: `${tool.name} on ${where()} needs ${a.req.count} approval${a.req.count > 1 ? 's' : ''}${by} by someone other than ${person}`,
          approval: a.req,
          person,
        };
      }
    }
    return { effect: 'allow', rule: granted, person };
  }

  /** Whether some call of this tool could be allowed (or approved) for the principal. */
  mayEverCall(principal: Principal, tool: ToolFacts): boolean {
    if (guardDecision(this.guard, tool)) return false;
    const who = this.identify(principal);
    const unconditionalDeny = this.denies.some(
      (d) =>
        subjectMatches(d.subjects, who) && matchesTool(d.sel, tool) && !d.sel.clusters && !d.sel.namespaces,
    );
    if (unconditionalDeny) return false;
    return who.bindings.some((b) =>
      b.grants.some((g) => matchesTool(g.sel, tool) && !(g.sel.namespaces && !tool.permission.namespaced)),
    );
  }

  /**
   * Whether `approver` may approve this exact call: a different person, in a required group when
   * the rule names groups, and granted the call themselves (approval may be required of them too).
   */
  mayApprove(
    approver: Principal,
    requester: Principal,
    tool: ToolFacts,
    args: Record<string, unknown>,
    requirement: ApprovalRequirement,
  ): ApprovalCheck {
    const a = this.identify(approver);
    const r = this.identify(requester);
    if (!a.mapped) {
      return {
        ok: false,
        reason: `'${approver.id}' is not listed under identities; only identities mapped to a person may approve`,
      };
    }
    if (a.person === r.person)
      return { ok: false, reason: `${a.person} requested this call and cannot approve it` };
    if (requirement.groups && !requirement.groups.some((g) => a.groups.has(g))) {
      return {
        ok: false,
        reason: `${a.person} is not in ${requirement.groups.map((g) => `group ${g}`).join(' or ')}`,
      };
    }
    const own = this.decide(approver, tool, args);
    if (own.effect === 'deny')
      return { ok: false, reason: `${a.person} may not run ${tool.name} here: ${own.reason}` };
    return { ok: true, person: a.person };
  }
}
