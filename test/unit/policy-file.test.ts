import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parsePolicy } from '../../policies/policy-file.js';
import { engineFrom, tool, who } from '../support/policy.js';

const parse = (text: string) => parsePolicy(text, 'policy.yaml', parseYaml);

describe('policy file', () => {
  it('the shipped example is valid and means what its comments say', () => {
    const text = readFileSync(new URL('../../policy.example.yaml', import.meta.url), 'utf8');
    expect(() => parse(text)).not.toThrow();
    const e = engineFrom(text);
    const drain = tool('nodes_drain', 'write', { namespaced: false });
    expect(e.decide(who('slack:U0789CAROL'), drain, {})).toMatchObject({
      effect: 'needs-approval',
      approval: { count: 2, groups: ['change-approvers'] },
    });
    expect(
      e.decide(who('vscode-alice'), tool('deployment_scale', 'write'), {
        namespace: 'payments',
        cluster: 'prod-east',
      }),
    ).toMatchObject({
      effect: 'needs-approval',
      rule: 'bindings[1] role payments-operator; approvals[3]',
    });
    // On-call (alice) rolls a canary back without approval; carol, not on call, still asks.
    const rollback = tool('canary_rollback', 'write', { toolset: 'canary' });
    expect(
      e.decide(who('slack:U0123ALICE'), rollback, { namespace: 'payments', cluster: 'prod-east' }),
    ).toMatchObject({
      effect: 'allow',
      rule: 'bindings[1] role payments-operator; approvals[1] (none needed)',
    });
    expect(e.decide(who('slack:U0789CAROL'), rollback, { namespace: 'payments' })).toMatchObject({
      effect: 'needs-approval',
      rule: 'bindings[2] role operator; approvals[3]',
    });
  });

  it('says which key is wrong and what was given', () => {
    expect(() => parse('version: 1\nbindings:\n  - subjects: [alice]\n    roles: [operater]\n')).toThrow(
      "bindings.0.roles: unknown role 'operater' (known: viewer, operator, admin)",
    );
    expect(() => parse('version: 1\nroles:\n  x:\n    - verbs: [delete]\n')).toThrow(
      /roles\.x\.0\.verbs\.0: .*; given "delete"/,
    );
    expect(() => parse('version: 1\nbindngs: []\n')).toThrow(/Unrecognized key.*\(bindngs\)/);
    expect(() => parse('version: 2\n')).toThrow(/version: .*given 2/);
    expect(() => parse('version: 1\nbindings:\n  - subjects: ["*"]\n    roles: [admin]\n')).toThrow(
      'bindings must name people or groups, not *',
    );
    expect(() => parse('version: 1\nidentities:\n  a: [slack:U1]\n  b: [slack:U1]\n')).toThrow(
      "identities: 'slack:U1' is mapped to both 'a' and 'b'",
    );
    expect(() => parse('version: 1\nroles:\n  admin: [{verbs: [read]}]\n')).toThrow('built-in role');
  });
});
