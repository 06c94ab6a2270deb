// `kubemate bots check` as a user runs it (the built CLI), against the local Slack server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runKubemate } from '../support/cli.js';
import { BOT_TOKEN, type SlackServer, startSlackServer } from '../support/slack-server.js';

let slack: SlackServer;
beforeAll(async () => {
  slack = await startSlackServer();
});
afterAll(() => slack?.close());

const dir = () => mkdtempSync(path.join(tmpdir(), 'kubemate-bots-'));
const env = (extra: Record<string, string>) => ({
  ...baseEnv(),
  HOME: dir(),
  KUBEMATE_DATA_DIR: dir(),
  KUBEMATE_BOTS__SLACK__ENABLED: 'true',
  KUBEMATE_BOTS__SLACK__API_URL: slack.apiUrl,
  ...extra,
});
const SECRET = 'a-signing-secret-that-must-not-be-printed';

describe('kubemate bots check', { timeout: 60_000 }, () => {
  it('valid credentials: ok, with the bot and workspace auth.test names', async () => {
    const r = await runKubemate(
      ['bots', 'check'],
      env({ KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN, KUBEMATE_BOTS__SLACK__SIGNING_SECRET: SECRET }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'slack: auth.test ok: bot kubemate (UBOT) in workspace Kubemate Test (T0TEST)',
    );
    expect(r.stdout).not.toContain(BOT_TOKEN);
    expect(r.stdout).not.toContain(SECRET);
    expect(slack.calls.filter((c) => c.method === 'auth.test' && c.token === BOT_TOKEN)).toHaveLength(1);
  });

  it('a token Slack refuses (invalid_auth): says what to fix, exit 1, never echoes the token', async () => {
    const wrong = 'xoxb-not-the-right-token';
    const r = await runKubemate(
      ['bots', 'check'],
      env({ KUBEMATE_BOTS__SLACK__BOT_TOKEN: wrong, KUBEMATE_BOTS__SLACK__SIGNING_SECRET: SECRET }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'slack: auth.test failed: invalid_auth (Slack does not accept bots.slack.botToken; copy the Bot User OAuth Token (xoxb-…) again)',
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain(wrong);
  });

  it('HTTP mode without a signing secret: a configuration error naming the key, exit 2 (as every configuration error)', async () => {
    const r = await runKubemate(['bots', 'check'], env({ KUBEMATE_BOTS__SLACK__BOT_TOKEN: BOT_TOKEN }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    expect(r.stderr).toMatch(
      /bots\.slack\.signingSecret.*HTTP mode needs signingSecret or signingSecretFile/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
