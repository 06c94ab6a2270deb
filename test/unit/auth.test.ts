import { describe, expect, it } from 'vitest';
import { checkOrigin, hashToken, TokenAuthenticator } from '../../mcp/auth.js';

describe('HTTP authentication', () => {
  const auth = new TokenAuthenticator([
    { name: 'ci', sha256: hashToken('kmt_secret'), principal: { id: 'ci-bot', groups: ['automation'] } },
  ]);

  it('maps a bearer token to its principal by hash', () => {
    expect(auth.authenticate('Bearer kmt_secret')).toEqual({
      id: 'ci-bot',
      groups: ['automation'],
      source: 'mcp-http',
    });
  });

  it.each([undefined, '', 'Bearer', 'Bearer wrong', 'Basic a210X3NlY3JldA==', 'kmt_secret'])(
    'refuses %j',
    (h) => {
      expect(auth.authenticate(h)).toBeUndefined();
    },
  );

  it('checks Host and Origin against the allow lists', () => {
    const policy = {
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      allowedOrigins: ['https://ide.example'],
    };
    expect(checkOrigin(policy, '127.0.0.1:8080', undefined)).toBeUndefined();
    expect(checkOrigin(policy, '[::1]:8080', 'https://ide.example')).toBeUndefined();
    expect(checkOrigin(policy, 'evil.example:8080', undefined)).toContain(
      "Host 'evil.example:8080' is not allowed",
    );
    expect(checkOrigin(policy, 'localhost:8080', 'https://evil.example')).toContain(
      "Origin 'https://evil.example' is not allowed",
    );
  });
});
