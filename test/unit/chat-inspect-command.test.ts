import { describe, expect, it } from 'vitest';
import { HELP, parseCommand } from '../../bots/core/commands.js';

describe('the chat inspect command', () => {
  it('parses scopes given as words or comma lists, and none for every scope', () => {
    expect(parseCommand('inspect')).toEqual({ name: 'inspect', scopes: [] });
    expect(parseCommand('  Inspect cluster certificates ')).toEqual({
      name: 'inspect',
      scopes: ['cluster', 'certificates'],
    });
    expect(parseCommand('inspect host,database')).toEqual({ name: 'inspect', scopes: ['host', 'database'] });
    expect(HELP).toContain('`inspect [SCOPE…]`');
  });

  it('leaves a question that merely mentions inspections to the agent', () => {
    expect(parseCommand('why did the inspection fail?')).toBeUndefined();
  });
});
