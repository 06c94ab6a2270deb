import { webApi } from '@slack/bolt';
import type { Command } from 'commander';
import { WebSocket } from 'undici';
import { DingtalkApi } from '../../bots/dingtalk/api.js';
import { FeishuApi, FeishuApiError } from '../../bots/feishu/api.js';
import { WecomApi } from '../../bots/wecom/api.js';
import { aesKeyOf } from '../../bots/wecom/crypto.js';
import {
  type DingtalkConfig,
  dingtalkSecrets,
  type FeishuConfig,
  feishuSecrets,
  type SlackConfig,
  slackSecrets,
  type WecomConfig,
  wecomRobotSecrets,
  wecomSecrets,
} from '../bots-config.js';
import type { Config } from '../config.js';

/** What to do about the auth.test errors a misconfiguration causes. */
const AUTH_HINTS: Record<string, string> = {
  invalid_auth: 'Slack does not accept bots.slack.botToken; copy the Bot User OAuth Token (xoxb-…) again',
  not_authed: 'no token reached Slack; set bots.slack.botToken or botTokenFile',
  token_revoked: 'bots.slack.botToken was revoked; reinstall the app and use its new bot token',
  account_inactive: 'the app or its workspace is deactivated; reinstall the app',
};

/** Checks the Slack configuration and credentials; every line says what is wrong, never a secret. */
export async function checkSlack(c: SlackConfig): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  if (!c.enabled) return { ok: true, lines: ['slack: disabled (bots.slack.enabled is false)'] };
  let secrets: ReturnType<typeof slackSecrets>;
  try {
    secrets = slackSecrets(c);
  } catch (e) {
    return { ok: false, lines: [`slack: ${(e as Error).message}`] };
  }
  let ok = true;
  if (!secrets.botToken.startsWith('xoxb-')) {
    ok = false;
    lines.push('slack: bots.slack.botToken is not a bot token (it should start with xoxb-)');
  }
  if (c.mode === 'socket' && !secrets.appToken?.startsWith('xapp-')) {
    ok = false;
    lines.push('slack: bots.slack.appToken is not an app-level token (it should start with xapp-)');
  }
  const client = new webApi.WebClient(secrets.botToken, {
    slackApiUrl: c.apiUrl,
    retryConfig: { retries: 0 },
  });
  try {
    const r = await client.auth.test();
    lines.push(
      `slack: auth.test ok: bot ${r.user ?? '?'} (${r.user_id ?? '?'}) in workspace ${r.team ?? '?'} (${r.team_id ?? '?'})`,
    );
  } catch (e) {
    ok = false;
    const err = e as { data?: { error?: string }; message?: string };
    const code = err.data?.error;
    const hint = code ? AUTH_HINTS[code] : undefined;
    lines.push(
      `slack: auth.test failed: ${code ?? err.message ?? 'unknown error'}${hint ? ` (${hint})` : ''}`,
    );
  }
  lines.push(`slack: mode ${c.mode}, ${c.channels.length} channel binding(s)`);
  return { ok, lines };
}

/** What to do about the Open API codes a misconfiguration causes. */
const FEISHU_HINTS: Record<number, string> = {
  10003:
    "Feishu does not accept bots.feishu.appId with this appSecret; copy both from the app's credentials page again",
  10014: 'Feishu does not accept bots.feishu.appSecret; copy the App Secret again',
};

/**
 * Checks the Feishu/Lark configuration and credentials: a tenant access token from the app id and
 * secret, then the bot's own info (the app must have the bot ability). Never prints a secret.
 */
export async function checkFeishu(c: FeishuConfig): Promise<{ ok: boolean; lines: string[] }> {
  if (!c.enabled) return { ok: true, lines: ['feishu: disabled (bots.feishu.enabled is false)'] };
  let secrets: ReturnType<typeof feishuSecrets>;
  try {
    secrets = feishuSecrets(c);
  } catch (e) {
    return { ok: false, lines: [`feishu: ${(e as Error).message}`] };
  }
  const lines: string[] = [];
  let ok = true;
  try {
    const bot = await new FeishuApi(secrets.apiUrl, secrets.appId, secrets.appSecret).botInfo();
    lines.push(`feishu: token ok; bot ${bot.name} (${bot.openId || '?'}) at ${secrets.apiUrl}`);
  } catch (e) {
    ok = false;
    // A final refusal comes as Undeliverable; its message still carries Feishu's code.
    const code =
      e instanceof FeishuApiError
        ? e.code
        : Number(/code (\d+)/.exec((e as Error).message)?.[1] ?? Number.NaN);
    const hint = code !== undefined && !Number.isNaN(code) ? FEISHU_HINTS[code] : undefined;
    lines.push(`feishu: check failed: ${(e as Error).message}${hint ? ` (${hint})` : ''}`);
  }
  lines.push(`feishu: mode ${c.mode}, domain ${c.domain}, ${c.chats.length} chat binding(s)`);
  return { ok, lines };
}

/** What to do about the errcodes a WeCom misconfiguration causes. */
const WECOM_HINTS: Record<number, string> = {
  40013: 'WeCom does not know bots.wecom.corpId; copy the corp id (企业ID) from My Company again',
  40001: "WeCom does not accept bots.wecom.secret; copy the app's Secret again",
  40091: "WeCom does not accept bots.wecom.secret; copy the app's Secret again",
  60020: "this server's IP is not among the app's trusted IPs (企业可信IP)",
};

/** Checks the WeCom configuration: the EncodingAESKey decodes, and an access token is granted. */
export async function checkWecom(c: WecomConfig): Promise<{ ok: boolean; lines: string[] }> {
  if (!c.enabled) return { ok: true, lines: ['wecom: disabled (bots.wecom.enabled is false)'] };
  if (c.mode === 'long-connection') return checkWecomRobot(c);
  let secrets: ReturnType<typeof wecomSecrets>;
  try {
    secrets = wecomSecrets(c);
    aesKeyOf(secrets.encodingAesKey);
  } catch (e) {
    return { ok: false, lines: [`wecom: ${(e as Error).message}`] };
  }
  const lines: string[] = [];
  let ok = true;
  try {
    await new WecomApi(secrets.apiUrl, secrets.corpId, secrets.secret).accessToken();
    lines.push(
      `wecom: access token ok for corp ${secrets.corpId}, agent ${secrets.agentId} at ${secrets.apiUrl}`,
    );
  } catch (e) {
    ok = false;
    const code = Number(/errcode (\d+)/.exec((e as Error).message)?.[1] ?? Number.NaN);
    const hint = Number.isNaN(code) ? undefined : WECOM_HINTS[code];
    lines.push(`wecom: check failed: ${(e as Error).message}${hint ? ` (${hint})` : ''}`);
  }
  lines.push(
    `wecom: ${c.approvers.length} approver(s) receive cards; writes ${c.allowWrites ? 'allowed' : 'not allowed'}`,
  );
  return { ok, lines };
}

/**
 * Checks the DingTalk configuration: an app access token from the AppKey and AppSecret. Never prints
 * a secret. The Stream connection and the card template are not tried: they would need a live robot.
 */
export async function checkDingtalk(c: DingtalkConfig): Promise<{ ok: boolean; lines: string[] }> {
  if (!c.enabled) return { ok: true, lines: ['dingtalk: disabled (bots.dingtalk.enabled is false)'] };
  let secrets: ReturnType<typeof dingtalkSecrets>;
  try {
    secrets = dingtalkSecrets(c);
  } catch (e) {
    return { ok: false, lines: [`dingtalk: ${(e as Error).message}`] };
  }
  const lines: string[] = [];
  let ok = true;
  try {
    await new DingtalkApi(secrets.apiUrl, secrets.clientId, secrets.clientSecret).checkCredentials();
    lines.push(`dingtalk: access token ok for ${secrets.clientId} at ${secrets.apiUrl}`);
  } catch (e) {
    ok = false;
    lines.push(
      `dingtalk: check failed: ${(e as Error).message} (copy the Client ID and Client Secret from the app's 凭证与基础信息 page again)`,
    );
  }
  lines.push(
    `dingtalk: mode ${c.mode}, ${c.chats.length} chat binding(s), card template ${secrets.cardTemplateId}`,
  );
  return { ok, lines };
}

export function registerBotCommands(program: Command, config: () => Config): void {
  const bots = program.command('bots').description('Chat bots');
  bots
    .command('check')
    .description(
      'Validate the chat bots configuration and credentials (Slack: auth.test; Feishu: token and bot info; WeCom: access token; DingTalk: access token)',
    )
    .action(async () => {
      const c = config().bots;
      const results = [
        await checkSlack(c.slack),
        await checkFeishu(c.feishu),
        await checkWecom(c.wecom),
        await checkDingtalk(c.dingtalk),
      ];
      process.stdout.write(`${results.flatMap((r) => r.lines).join('\n')}\n`);
      process.exitCode = results.every((r) => r.ok) ? 0 : 1;
    });
}

/**
 * Long-connection mode: checks that the gateway can be reached (a socket opens). It does not subscribe:
 * WeCom keeps one connection per robot, so subscribing here would take the robot from a running
 * Kubemate. The Bot ID and Secret are checked when `kubemate serve` subscribes (a refusal stops it
 * with an error naming them).
 */
async function checkWecomRobot(c: WecomConfig): Promise<{ ok: boolean; lines: string[] }> {
  let robot: ReturnType<typeof wecomRobotSecrets>;
  try {
    robot = wecomRobotSecrets(c);
  } catch (e) {
    return { ok: false, lines: [`wecom: ${(e as Error).message}`] };
  }
  const reached = await new Promise<string | undefined>((resolve) => {
    const ws = new WebSocket(robot.url);
    const timer = setTimeout(() => {
      ws.close();
      resolve('no answer within 10 s');
    }, 10_000);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      ws.close(1000);
      resolve(undefined);
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      resolve('the socket could not be opened');
    });
  });
  return reached
    ? {
        ok: false,
        lines: [`wecom: check failed: ${robot.url}: ${reached} (outbound wss:// to it must be allowed)`],
      }
    : {
        ok: true,
        lines: [
          `wecom: long-connection gateway ${robot.url} reachable; bot ${robot.botId} and its secret are checked when kubemate serve subscribes`,
        ],
      };
}
