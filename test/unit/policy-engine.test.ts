import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineFrom, noSwitches, tool, who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  alice: [slack:UALICE, wecom:alice.w, token:vscode-alice]
  bob: [slack:UBOB]
  carol: [slack:UCAROL]
groups:
  sre: [alice, bob]
  leads: [carol]
roles:
  payments-operator:
    - toolsets: [cluster]
      verbs: [read, write]
      clusters: [prod-*]
      namespaces: [payments, "payments-*"]
bindings:
  - subjects: [group:sre]
    roles: [viewer]
  - subjects: [alice]
    roles: [payments-operator]
  - subjects: [carol]
    roles: [operator]
  - subjects: [system:alert-triage]
    roles: [viewer]
deny:
  - subjects: ["*"]
    tools: [pods_delete]
    namespaces: [kube-system]
    reason: nobody deletes pods in kube-system through chat
  - subjects: [bob]
    clusters: [prod-west]
approvals:
  - verbs: [write, admin]
    approvers: { groups: [leads, sre], count: 1 }
  - tools: [nodes_drain]
    approvers: { count: 2 }
`;

const engine = engineFrom(POLICY);
const podsList = tool('pods_list', 'read');
const scale = tool('deployment_scale', 'write');
const podsDelete = tool('pods_delete', 'write', { destructive: true });
const nodesList = tool('nodes_list', 'read', { namespaced: false });

describe('decide()', () => {
  it.each([
    [
      'a chat identity maps to its person and group: viewer may read',
      who('slack:UALICE'),
      podsList,
      { namespace: 'web' },
      'allow',
      'bindings[0] role viewer',
    ],
    [
      'the same person through a token',
      who('token:vscode-alice'),
      podsList,
      {},
      'allow',
      'bindings[0] role viewer',
    ],
    [
      'a write inside the role namespaces needs approval',
      who('slack:UALICE'),
      scale,
      { namespace: 'payments' },
      'needs-approval',
      'bindings[1] role payments-operator; approvals[0]',
    ],
    [
      'namespace globs match',
      who('slack:UALICE'),
      scale,
      { namespace: 'payments-batch' },
      'needs-approval',
      'bindings[1] role payments-operator; approvals[0]',
    ],
    [
      'a write outside the role namespaces is denied',
      who('slack:UALICE'),
      scale,
      { namespace: 'web' },
      'deny',
      'default-deny',
    ],
    [
      'a write on a cluster the role does not name is denied',
      who('slack:UALICE'),
      scale,
      { namespace: 'payments', cluster: 'dev' },
      'deny',
      'default-deny',
    ],
    [
      'a namespace-scoped role never covers an all-namespaces write',
      who('slack:UALICE'),
      scale,
      {},
      'deny',
      'default-deny',
    ],
    [
      'no write verb without a rule granting it',
      who('slack:UBOB'),
      scale,
      { namespace: 'payments' },
      'deny',
      'default-deny',
    ],
    [
      'deny beats allow: operator cannot delete in kube-system',
      who('slack:UCAROL'),
      podsDelete,
      { namespace: 'kube-system' },
      'deny',
      'deny[0]',
    ],
    [
      'a namespace deny also catches the all-namespaces call',
      who('slack:UCAROL'),
      podsDelete,
      {},
      'deny',
      'deny[0]',
    ],
    [
      'a deny for one person and cluster',
      who('slack:UBOB'),
      podsList,
      { cluster: 'prod-west' },
      'deny',
      'deny[1]',
    ],
    [
      'the same person elsewhere is allowed',
      who('slack:UBOB'),
      podsList,
      { cluster: 'prod-east' },
      'allow',
      'bindings[0] role viewer',
    ],
    ['an unknown principal is denied', who('slack:UNOBODY'), podsList, {}, 'deny', 'default-deny'],
    [
      'groups claimed by a surface count',
      who('token:ci', ['sre']),
      nodesList,
      {},
      'allow',
      'bindings[0] role viewer',
    ],
    [
      'the alert-triage system principal may read',
      who('system:alert-triage', [], 'alert'),
      podsList,
      {},
      'allow',
      'bindings[3] role viewer',
    ],
  ])('%s', (_label, principal, t, args, effect, rule) => {
    const d = engine.decide(principal, t, args);
    expect(d.effect).toBe(effect);
    expect(d.rule).toBe(rule);
  });

  it('says who must approve and how many', () => {
    const d = engine.decide(who('slack:UCAROL'), tool('nodes_drain', 'write', { namespaced: false }), {});
    expect(d).toMatchObject({ effect: 'needs-approval', approval: { count: 1, groups: ['leads', 'sre'] } });
    expect((d as { reason: string }).reason).toContain('by someone other than carol');
  });

  it('guard switches apply before the policy', () => {
    const ro = engineFrom(POLICY, 'prod-east', { ...noSwitches, readOnly: true });
    expect(ro.decide(who('slack:UCAROL'), scale, { namespace: 'x' })).toMatchObject({
      effect: 'deny',
      rule: 'readOnly',
    });
    expect(ro.mayEverCall(who('slack:UCAROL'), scale)).toBe(false);
  });

  it('tools/list shows only what a principal may ever call', () => {
    expect(engine.mayEverCall(who('slack:UBOB'), scale)).toBe(false);
    expect(engine.mayEverCall(who('slack:UALICE'), scale)).toBe(true);
    expect(
      engine.mayEverCall(who('slack:UALICE'), tool('nodes_cordon', 'write', { namespaced: false })),
    ).toBe(false);
    expect(engine.mayEverCall(who('slack:UNOBODY'), podsList)).toBe(false);
  });

  it('never runs approval rules on the approvals tools themselves', () => {
    const approve = tool('approvals_approve', 'write', { toolset: 'approvals', namespaced: false });
    expect(engine.decide(who('slack:UCAROL'), approve, {}).effect).toBe('allow');
  });

  it('may-approve: four eyes, approver group and the approver’s own permission', () => {
    const req = { count: 1, groups: ['leads', 'sre'] };
    const args = { namespace: 'payments' };
    expect(engine.mayApprove(who('wecom:alice.w'), who('slack:UALICE'), scale, args, req)).toMatchObject({
      ok: false,
    });
    expect(engine.mayApprove(who('slack:UCAROL'), who('slack:UALICE'), scale, args, req)).toEqual({
      ok: true,
      person: 'carol',
    });
    const bob = engine.mayApprove(who('slack:UBOB'), who('slack:UALICE'), scale, args, req);
    expect(bob).toMatchObject({ ok: false });
    expect((bob as { reason: string }).reason).toContain('bob may not run deployment_scale');
  });
});

describe('decide() properties', () => {
  const people = ['alice', 'bob', 'carol', 'dave'];
  const namespaces = ['payments', 'payments-a', 'web', 'kube-system', 'team-x'];
  const verbs = ['read', 'write', 'admin'] as const;
  const arbGrant = fc.record(
    {
      verbs: fc.subarray([...verbs], { minLength: 1 }),
      namespaces: fc.option(fc.subarray(['payments', 'payments-*', 'web', 'team-*'], { minLength: 1 }), {
        nil: undefined,
      }),
    },
    { requiredKeys: ['verbs'] },
  );
  const arbPolicy = fc.record({
    roles: fc.array(arbGrant, { minLength: 1, maxLength: 3 }),
    bindings: fc.array(fc.record({ who: fc.constantFrom(...people), role: fc.nat(2) }), { maxLength: 6 }),
    deny: fc.array(fc.record({ who: fc.constantFrom('*', ...people), ns: fc.constantFrom(...namespaces) }), {
      maxLength: 3,
    }),
  });
  const arbCall = fc.record({
    person: fc.constantFrom(...people, 'mallory'),
    verb: fc.constantFrom(...verbs),
    namespace: fc.option(fc.constantFrom(...namespaces), { nil: undefined }),
  });

  function build(p: {
    roles: unknown[];
    bindings: Array<{ who: string; role: number }>;
    deny: Array<{ who: string; ns: string }>;
  }) {
    const roles = Object.fromEntries(p.roles.map((g, i) => [`r${i}`, [g]]));
    const bindings = p.bindings.map((b) => ({ subjects: [b.who], roles: [`r${b.role % p.roles.length}`] }));
    const deny = p.deny.map((d) => ({ subjects: [d.who], namespaces: [d.ns] }));
    return engineFrom(JSON.stringify({ version: 1, roles, bindings, deny, approvals: [] }));
  }

  it('a matching deny always wins, whatever the grants', () => {
    fc.assert(
      fc.property(arbPolicy, arbCall, (p, c) => {
        const e = build(p);
        const denied = p.deny.some(
          (d) => (d.who === '*' || d.who === c.person) && (c.namespace === undefined || c.namespace === d.ns),
        );
        const d = e.decide(
          who(c.person),
          tool('thing_do', c.verb),
          c.namespace ? { namespace: c.namespace } : {},
        );
        if (denied) expect(d.effect).toBe('deny');
      }),
    );
  });

  it('nothing is allowed without a binding whose role grants the verb', () => {
    fc.assert(
      fc.property(arbPolicy, arbCall, (p, c) => {
        const e = build(p);
        const d = e.decide(
          who(c.person),
          tool('thing_do', c.verb),
          c.namespace ? { namespace: c.namespace } : {},
        );
        if (d.effect === 'deny') return;
        const granting = p.bindings.some((b) => {
          const g = p.roles[b.role % p.roles.length] as { verbs: string[] };
          return b.who === c.person && g.verbs.includes(c.verb);
        });
        expect(granting).toBe(true);
        expect(c.person).not.toBe('mallory');
      }),
    );
  });
});

describe('identities and four eyes, hardened', () => {
  const e = engineFrom(`
version: 1
identities:
  alice: [slack:UALICE]
  bob: [slack:UBOB]
groups:
  ops: [alice, bob]
bindings:
  - subjects: [group:ops]
    roles: [operator]
  - subjects: [token:ci]
    roles: [operator]
deny:
  - subjects: [slack:UALICE]
    tools: [deployment_scale]
impersonation:
  enabled: true
`);
  const scale = tool('deployment_scale', 'write');

  it('a rule may name one identity of a person, and it applies to that identity', () => {
    expect(e.decide(who('slack:UALICE'), scale, { namespace: 'x' })).toMatchObject({
      effect: 'deny',
      rule: 'deny[0]',
    });
    expect(e.decide(who('alice'), scale, { namespace: 'x' }).effect).toBe('needs-approval');
    expect(e.decide(who('token:ci'), tool('pods_list', 'read'), {}).effect).toBe('allow');
  });

  it('an identity not listed under identities can neither request a change nor approve one', () => {
    expect(e.decide(who('token:ci'), scale, { namespace: 'x' })).toMatchObject({
      effect: 'deny',
      rule: expect.stringContaining('unmapped-identity'),
    });
    const check = e.mayApprove(
      who('token:alice-laptop', ['ops']),
      who('slack:UBOB'),
      scale,
      { namespace: 'x' },
      { count: 1 },
    );
    expect(check).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not listed under identities'),
    });
  });

  it('impersonates only the groups the policy gives a person, never surface-reported or system: groups', () => {
    expect(e.kubeIdentity(who('slack:UBOB', ['system:masters', 'cluster-admins']))).toEqual({
      user: 'bob',
      groups: ['ops'],
    });
  });
});
