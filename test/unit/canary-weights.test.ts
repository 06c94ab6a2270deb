import { describe, expect, it } from 'vitest';
import { percentages, plan, rolesOf } from '../../tools/canary/weights.js';
import { ToolError } from '../../tools/core/errors.js';

const roles = { stable: 'api-stable', canaries: ['api-canary'] };
const now = { 'api-stable': 90, 'api-canary': 10 };

function refused(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ToolError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('canary weights', () => {
  it('relative weights become whole percentages that add up to 100', () => {
    expect(
      percentages([
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
        { name: 'c', weight: 1 },
      ]),
    ).toEqual({ a: 34, b: 33, c: 33 });
    expect(
      percentages([
        { name: 'a', weight: 900 },
        { name: 'b', weight: 100 },
      ]),
    ).toEqual({ a: 90, b: 10 });
    expect(
      percentages([
        { name: 'a', weight: 0 },
        { name: 'b', weight: 0 },
      ]),
    ).toEqual({ a: 0, b: 0 });
  });

  it('sets weights, filling in 0 for backends left out', () => {
    expect(plan(now, roles, { kind: 'set', weights: { 'api-stable': 50, 'api-canary': 50 } })).toEqual({
      'api-stable': 50,
      'api-canary': 50,
    });
    expect(plan(now, roles, { kind: 'set', weights: { 'api-canary': 100 } })).toEqual({
      'api-stable': 0,
      'api-canary': 100,
    });
  });

  it('refuses weights that do not add up, naming the sum', () => {
    expect(
      refused(() => plan(now, roles, { kind: 'set', weights: { 'api-stable': 50, 'api-canary': 40 } })),
    ).toContain('weights must add up to 100 (percent); these add up to 90');
  });

  it('refuses unknown backends, with the known ones and a suggestion', () => {
    const m = refused(() =>
      plan(now, roles, { kind: 'set', weights: { 'api-canry': 50, 'api-stable': 50 } }),
    );
    expect(m).toContain("'api-canry'; did you mean 'api-canary'?");
    expect(m).toContain('its backends are api-stable, api-canary');
  });

  it('steps the canary and refuses a step past 0 or 100', () => {
    expect(plan(now, roles, { kind: 'step', by: 40 })).toEqual({ 'api-stable': 50, 'api-canary': 50 });
    expect(plan(now, roles, { kind: 'step', by: -10 })).toEqual({ 'api-stable': 100, 'api-canary': 0 });
    expect(refused(() => plan(now, roles, { kind: 'step', by: 95 }))).toContain(
      'would put api-canary at 105%',
    );
  });

  it('promotes to the canary and rolls back to stable', () => {
    expect(plan(now, roles, { kind: 'promote' })).toEqual({ 'api-stable': 0, 'api-canary': 100 });
    expect(plan(now, roles, { kind: 'rollback' })).toEqual({ 'api-stable': 100, 'api-canary': 0 });
  });

  it('a step with two canaries is ambiguous', () => {
    const three = { a: 80, b: 10, c: 10 };
    expect(
      refused(() => plan(three, { stable: 'a', canaries: ['b', 'c'] }, { kind: 'step', by: 5 })),
    ).toContain('has 2 canaries');
  });

  it('tells stable from canary by name, by declaration, or asks', () => {
    expect(rolesOf(['podinfo-primary', 'podinfo-canary'])).toEqual({
      stable: 'podinfo-primary',
      canaries: ['podinfo-canary'],
    });
    expect(rolesOf(['api', 'api-canary'])).toEqual({ stable: 'api', canaries: ['api-canary'] });
    expect(rolesOf(['blue', 'green'], undefined, 'green')).toEqual({ stable: 'green', canaries: ['blue'] });
    expect(refused(() => rolesOf(['blue', 'green']))).toContain("pass stable: '<backend name>'");
    expect(refused(() => rolesOf(['blue', 'green'], 'red'))).toContain(
      "stable backend 'red' is not a backend",
    );
    expect(rolesOf(['blue', 'green'], 'blue')).toEqual({ stable: 'blue', canaries: ['green'] });
  });

  it('refuses to call the canary stable where the split says otherwise (a rollback must not promote)', () => {
    expect(refused(() => rolesOf(['api-stable', 'api-canary'], 'api-canary'))).toContain(
      "'api-canary' is not the stable backend of this split: its names make 'api-stable' the stable one",
    );
    expect(refused(() => rolesOf(['api', 'api-canary'], 'api-canary'))).toContain(
      'is not the stable backend',
    );
    expect(refused(() => rolesOf(['blue', 'green'], 'blue', 'green'))).toContain("it declares 'green'");
    expect(rolesOf(['api-stable', 'api-canary'], 'api-stable')).toEqual({
      stable: 'api-stable',
      canaries: ['api-canary'],
    });
  });
});
