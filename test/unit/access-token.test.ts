// The IM platforms' app tokens: one fetch for callers that ask at once, reused until five minutes
// before expiry, fetched again after the platform refused it.
import { describe, expect, it } from 'vitest';
import { AccessToken } from '../../bots/core/access-token.js';

describe('AccessToken', () => {
  it('shares one fetch, reuses the token until five minutes before expiry, and fetches again after drop', async () => {
    let now = 0;
    let fetches = 0;
    const token = new AccessToken(
      async () => ({ value: `t${++fetches}`, expiresInSeconds: 7200 }),
      () => now,
    );
    expect(await Promise.all([token.get(), token.get(), token.get()])).toEqual(['t1', 't1', 't1']);
    now = (7200 - 301) * 1000;
    expect(await token.get()).toBe('t1');
    now = (7200 - 300) * 1000;
    expect(await token.get()).toBe('t2');
    token.drop();
    expect(await token.get()).toBe('t3');
    expect(fetches).toBe(3);
  });

  it('keeps nothing from a failed fetch: the next call tries again', async () => {
    let fail = true;
    const token = new AccessToken(async () => {
      if (fail) throw new Error('refused');
      return { value: 'ok', expiresInSeconds: 60 };
    });
    await expect(token.get()).rejects.toThrow('refused');
    fail = false;
    expect(await token.get()).toBe('ok');
  });
});
