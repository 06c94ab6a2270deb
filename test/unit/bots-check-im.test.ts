// `kubemate bots check` for Feishu, WeCom and DingTalk, against the local platform servers: credentials the
// platform accepts pass; refused ones fail with what to fix; no secret is ever printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dingtalkConfigSchema, feishuConfigSchema, wecomConfigSchema } from '../../app/bots-config.js';
import { checkDingtalk, checkFeishu, checkWecom } from '../../app/commands/bots.js';
import * as dingtalk from '../support/dingtalk-server.js';
import * as feishu from '../support/feishu-server.js';
import * as wecom from '../support/wecom-server.js';

let f: feishu.FeishuServer;
let w: wecom.WecomServer;
beforeAll(async () => {
  f = await feishu.startFeishuServer();
  w = await wecom.startWecomServer();
});
afterAll(async () => {
  await f?.close();
  await w?.close();
});

const feishuConfig = (appSecret: string) =>
  feishuConfigSchema.parse({
    enabled: true,
    apiUrl: f.apiUrl,
    appId: feishu.APP_ID,
    appSecret,
    encryptKey: feishu.ENCRYPT_KEY,
    verificationToken: feishu.VERIFICATION_TOKEN,
  });
const wecomConfig = (secret: string) =>
  wecomConfigSchema.parse({
    enabled: true,
    apiUrl: w.apiUrl,
    corpId: wecom.CORP_ID,
    agentId: wecom.AGENT_ID,
    secret,
    token: wecom.TOKEN,
    encodingAesKey: wecom.AES_KEY,
  });

describe('bots check for Feishu and WeCom', () => {
  it('Feishu: a token and the bot info when the app id and secret are right', async () => {
    const r = await checkFeishu(feishuConfig(feishu.APP_SECRET));
    expect(r.ok).toBe(true);
    expect(r.lines[0]).toBe(`feishu: token ok; bot kubemate (${feishu.BOT_OPEN_ID}) at ${f.apiUrl}`);
    expect(r.lines.join('\n')).not.toContain(feishu.APP_SECRET);
  });

  it('Feishu: a refused secret fails with the hint, without echoing it', async () => {
    const r = await checkFeishu(feishuConfig('wrong-secret-value'));
    expect(r.ok).toBe(false);
    expect(r.lines[0]).toMatch(/code 10003.*copy both from the app's credentials page again/);
    expect(r.lines.join('\n')).not.toContain('wrong-secret-value');
  });

  it('WeCom: an access token when the corp id and secret are right; a refused secret says what to fix', async () => {
    const ok = await checkWecom(wecomConfig(wecom.SECRET));
    expect(ok.ok).toBe(true);
    expect(ok.lines[0]).toBe(
      `wecom: access token ok for corp ${wecom.CORP_ID}, agent ${wecom.AGENT_ID} at ${w.apiUrl}`,
    );
    const bad = await checkWecom(wecomConfig('wrong-wecom-secret'));
    expect(bad.ok).toBe(false);
    expect(bad.lines[0]).toMatch(/errcode 40001.*copy the app's Secret again/);
    expect(bad.lines.join('\n')).not.toContain('wrong-wecom-secret');
  });

  it('config errors name the key: a missing secret, a malformed EncodingAESKey, an unsupported mode', () => {
    expect(() =>
      wecomConfigSchema.parse({
        enabled: true,
        corpId: wecom.CORP_ID,
        agentId: 1,
        token: 't',
        encodingAesKey: 'short',
      }),
    ).toThrow(/encodingAesKey[\s\S]*43-character|secret or secretFile/);
    const issues = (input: unknown) =>
      feishuConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ enabled: true, mode: 'ws', appId: feishu.APP_ID })).toEqual([
      'mode: mode must be webhook or long-connection',
    ]);
    // The long connection needs the app secret only (no inbound deliveries to decrypt), and the app
    // id exactly as Feishu issues it, which the SDK's client checks.
    expect(
      issues({ enabled: true, mode: 'long-connection', appId: feishu.APP_ID, appSecret: 's' }),
    ).toBeUndefined();
    expect(issues({ enabled: true, mode: 'long-connection', appId: 'cli_kubemate', appSecret: 's' })).toEqual(
      ['appId: the long connection needs the app id exactly as issued: cli_ and 16 hex digits'],
    );
    expect(issues({ enabled: true, appId: feishu.APP_ID, encryptKey: 'k', verificationToken: 't' })).toEqual([
      'appSecret: set appSecret or appSecretFile',
    ]);
  });
});

describe('bots check for DingTalk', () => {
  it('an access token when the Client ID and Secret are right; a refused secret fails with what to fix, never echoed', async () => {
    const d = await dingtalk.startDingtalkServer();
    try {
      const config = (clientSecret: string) =>
        dingtalkConfigSchema.parse({
          enabled: true,
          apiUrl: d.apiUrl,
          clientId: dingtalk.CLIENT_ID,
          clientSecret,
          cardTemplateId: dingtalk.CARD_TEMPLATE,
        });
      const ok = await checkDingtalk(config(dingtalk.CLIENT_SECRET));
      expect(ok.ok).toBe(true);
      expect(ok.lines[0]).toBe(`dingtalk: access token ok for ${dingtalk.CLIENT_ID} at ${d.apiUrl}`);
      const bad = await checkDingtalk(config('wrong-dingtalk-secret'));
      expect(bad.ok).toBe(false);
      expect(bad.lines[0]).toMatch(/check failed: .*appKeyOrSecret.*Client Secret/);
      expect(bad.lines.join('\n')).not.toContain('wrong-dingtalk-secret');
    } finally {
      await d.close();
    }
  });
});
