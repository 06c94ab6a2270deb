// The on-call fast path for rollbacks: an approvals rule with count 0 lets matching calls run
// without approval, first match winning, while everyone else still needs a second person.
import { describe, expect, it } from 'vitest';
import { engineFrom, tool, who } from '../support/policy.js';

const POLICY = `
version: 1
identities:
  olga: [slack:UOLGA]
  dev: [slack:UDEV]
groups:
  oncall: [olga]
bindings:
  - subjects: [olga, dev]
    roles: [operator]
approvals:
  - tools: [canary_rollback]
    subjects: [group:oncall]
    approvers: { count: 0 }
  - verbs: [write, admin]
`;

describe('approvals fast path (count 0)', () => {
  const engine = engineFrom(POLICY);
  const rollback = tool('canary_rollback', 'write', { toolset: 'canary' });
  const shift = tool('canary_shift', 'write', { toolset: 'canary' });
  const args = { namespace: 'payments', name: 'api' };

  it('lets on-call roll back without approval', () => {
    expect(engine.decide(who('slack:UOLGA'), rollback, args)).toMatchObject({
      effect: 'allow',
      rule: expect.stringContaining('approvals[0] (none needed)'),
    });
  });

  it('still asks approval of everyone else, and of on-call for other writes', () => {
    expect(engine.decide(who('slack:UDEV'), rollback, args).effect).toBe('needs-approval');
    expect(engine.decide(who('slack:UOLGA'), shift, args).effect).toBe('needs-approval');
  });
});
