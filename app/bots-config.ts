import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DINGTALK_API, DINGTALK_OAPI } from '../bots/dingtalk/api.js';
import { FEISHU_DOMAINS } from '../bots/feishu/api.js';
import { WECOM_API } from '../bots/wecom/api.js';
import { WECOM_WS_URL } from '../bots/wecom/long-connection.js';

const channelSchema = z.strictObject({
  /** Slack channel id (C…, G… or D…). */
  id: z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123ABCD'),
  cluster: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  /** false: nothing may be changed, requested or approved from this channel (a public channel). */
  allowWrites: z.boolean().default(false),
});

/** bots.slack: secrets as values (best from environment variables) or as files; never logged. */
export const slackConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    mode: z.enum(['http', 'socket']).default('http'),
    botToken: z.string().min(1).optional(),
    botTokenFile: z.string().min(1).optional(),
    signingSecret: z.string().min(1).optional(),
    signingSecretFile: z.string().min(1).optional(),
    appToken: z.string().min(1).optional(),
    appTokenFile: z.string().min(1).optional(),
    /** Slack's Web API base URL; change only for an egress proxy. */
    apiUrl: z.url({ protocol: /^https?$/ }).default('https://slack.com/api/'),
    channels: z.array(channelSchema).default([]),
    /**
     * DMs and channels not listed under `channels`. Closed by default, like a listed channel: changes
     * are requested and approved only where an administrator allowed them (or set this to true).
     */
    defaultAllowWrites: z.boolean().default(false),
    /** Least seconds between two messages in one channel. */
    perChannelIntervalSeconds: z.number().min(0).max(60).default(1),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    if (!s.botToken && !s.botTokenFile)
      ctx.addIssue({ code: 'custom', path: ['botToken'], message: 'set botToken or botTokenFile' });
    if (s.mode === 'http' && !s.signingSecret && !s.signingSecretFile)
      ctx.addIssue({
        code: 'custom',
        path: ['signingSecret'],
        message: 'HTTP mode needs signingSecret or signingSecretFile',
      });
    if (s.mode === 'socket' && !s.appToken && !s.appTokenFile)
      ctx.addIssue({
        code: 'custom',
        path: ['appToken'],
        message: 'Socket Mode needs appToken or appTokenFile',
      });
  });

const feishuChatSchema = z.strictObject({
  /** Feishu chat id (oc_…). */
  id: z.string().regex(/^oc_[A-Za-z0-9]+$/, 'must be a Feishu chat id such as oc_5ad11d72b830411d72b836c20'),
  cluster: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  allowWrites: z.boolean().default(false),
});

/** bots.feishu: a Feishu or Lark self-built app in webhook mode; secrets as values or files. */
export const feishuConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /**
     * `webhook`: events and card callbacks at POST /feishu/events; `long-connection`: the SDK's
     * WebSocket client (长连接), no inbound URL needed.
     */
    mode: z
      .enum(['webhook', 'long-connection'], { error: 'mode must be webhook or long-connection' })
      .default('webhook'),
    /** `feishu` (open.feishu.cn) or `lark` (open.larksuite.com). */
    domain: z.enum(['feishu', 'lark']).default('feishu'),
    /** Open API base URL; overrides `domain` (an egress proxy). */
    apiUrl: z.url({ protocol: /^https?$/ }).optional(),
    appId: z
      .string()
      .regex(/^cli_[A-Za-z0-9]+$/, 'must be the app id, such as cli_a1b2c3d4e5f6')
      .optional(),
    appSecret: z.string().min(1).optional(),
    appSecretFile: z.string().min(1).optional(),
    encryptKey: z.string().min(1).optional(),
    encryptKeyFile: z.string().min(1).optional(),
    verificationToken: z.string().min(1).optional(),
    verificationTokenFile: z.string().min(1).optional(),
    chats: z.array(feishuChatSchema).default([]),
    defaultAllowWrites: z.boolean().default(false),
    perChatIntervalSeconds: z.number().min(0).max(60).default(0.2),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    if (!s.appId) ctx.addIssue({ code: 'custom', path: ['appId'], message: 'set appId (cli_…)' });
    if (s.mode === 'long-connection' && s.appId && !/^cli_[0-9a-fA-F]{16}$/.test(s.appId))
      ctx.addIssue({
        code: 'custom',
        path: ['appId'],
        message: 'the long connection needs the app id exactly as issued: cli_ and 16 hex digits',
      });
    const keys =
      s.mode === 'webhook'
        ? (['appSecret', 'encryptKey', 'verificationToken'] as const)
        : (['appSecret'] as const);
    for (const key of keys)
      if (!s[key] && !s[`${key}File`])
        ctx.addIssue({ code: 'custom', path: [key], message: `set ${key} or ${key}File` });
  });

/**
 * bots.wecom: a WeCom self-built application (自建应用) with its callback URL (`mode: callback`), or an
 * intelligent robot (智能机器人) over its long connection (`mode: long-connection`, no inbound URL);
 * secrets as values or files.
 */
export const wecomConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    mode: z
      .enum(['callback', 'long-connection'], { error: 'mode must be callback or long-connection' })
      .default('callback'),
    corpId: z
      .string()
      .regex(/^w[wx][A-Za-z0-9]+$/, 'must be the corp id, such as ww1436e0e65a779aee')
      .optional(),
    agentId: z.number().int().positive().optional(),
    /** The app's Secret (callback mode) or the intelligent robot's Secret (long-connection mode). */
    secret: z.string().min(1).optional(),
    secretFile: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    encodingAesKey: z
      .string()
      .regex(/^[A-Za-z0-9]{43}$/, 'must be the 43-character EncodingAESKey from the admin console')
      .optional(),
    encodingAesKeyFile: z.string().min(1).optional(),
    /** The intelligent robot's Bot ID (long-connection mode). */
    botId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{4,128}$/, "must be the intelligent robot's Bot ID, letters and digits")
      .optional(),
    /** The long connection's gateway; change only for an egress proxy. */
    url: z.url({ protocol: /^wss?$/ }).default(WECOM_WS_URL),
    /** The server API base (callback mode); change only for an egress proxy. */
    apiUrl: z.url({ protocol: /^https?$/ }).default(WECOM_API),
    /** Userids who receive every approval card besides the requester (WeCom has no shared threads for apps). */
    approvers: z.array(z.string().min(1)).default([]),
    /** Whether changes may be requested and approved in chats with the app (closed by default). */
    allowWrites: z.boolean().default(false),
    perUserIntervalSeconds: z.number().min(0).max(60).default(0.2),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    if (s.mode === 'long-connection') {
      if (!s.botId)
        ctx.addIssue({
          code: 'custom',
          path: ['botId'],
          message: "set botId: the intelligent robot's Bot ID (its API settings, 长连接 mode)",
        });
      if (!s.secret && !s.secretFile)
        ctx.addIssue({
          code: 'custom',
          path: ['secret'],
          message: "set secret or secretFile: the intelligent robot's Secret",
        });
      // Keys of the other mode would silently do nothing: say so rather than half-apply the block.
      for (const key of [
        'corpId',
        'agentId',
        'token',
        'tokenFile',
        'encodingAesKey',
        'encodingAesKeyFile',
      ] as const)
        if (s[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} belongs to callback mode; remove it, or set mode: callback`,
          });
      if (s.approvers.length)
        ctx.addIssue({
          code: 'custom',
          path: ['approvers'],
          message:
            'approvers applies to callback mode only; with the long connection the card goes to the chat where the change was asked (ask in a group with the approvers)',
        });
      return;
    }
    if (!s.corpId) ctx.addIssue({ code: 'custom', path: ['corpId'], message: 'set corpId (ww…)' });
    if (!s.agentId)
      ctx.addIssue({ code: 'custom', path: ['agentId'], message: "set agentId (the app's AgentId)" });
    for (const key of ['secret', 'token', 'encodingAesKey'] as const)
      if (!s[key] && !s[`${key}File`])
        ctx.addIssue({ code: 'custom', path: [key], message: `set ${key} or ${key}File` });
    if (s.botId)
      ctx.addIssue({
        code: 'custom',
        path: ['botId'],
        message: 'botId belongs to long-connection mode; remove it, or set mode: long-connection',
      });
  });

const dingtalkChatSchema = z.strictObject({
  /** A group's openConversationId (cid…), as a robot message names it in `conversationId`. */
  id: z
    .string()
    .regex(/^cid[A-Za-z0-9+/=_-]+$/, 'must be a DingTalk openConversationId such as cidXXXXXXXX=='),
  cluster: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  allowWrites: z.boolean().default(false),
});

/** bots.dingtalk: an enterprise internal app with a robot, in Stream mode or HTTP mode; secrets as values or files. */
export const dingtalkConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** `stream`: an outbound WebSocket, no inbound URL needed (card buttons work only here); `http`: POST /dingtalk/callback. */
    mode: z.enum(['stream', 'http']).default('stream'),
    /** AppKey (Client ID). */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{6,64}$/, 'must be the AppKey (Client ID), such as dingabc123xyz')
      .optional(),
    clientSecret: z.string().min(1).optional(),
    clientSecretFile: z.string().min(1).optional(),
    /** The robot's code; defaults to the AppKey, which it is for an enterprise internal app's robot. */
    robotCode: z.string().min(1).optional(),
    /** The interactive card template id (ending in .schema) built for approval cards, see docs/chat-dingtalk.md. */
    cardTemplateId: z.string().min(1).optional(),
    /**
     * The interactive card template for messages with buttons (an alert group's summary), see
     * docs/chat-dingtalk.md; Stream mode only. Unset: such messages are sent as text, without buttons.
     */
    actionCardTemplateId: z.string().min(1).optional(),
    /** OpenAPI base (and Stream gateway); change only for an egress proxy. */
    apiUrl: z.url({ protocol: /^https?$/ }).default(DINGTALK_API),
    /** The origin session webhooks must have; a reply is never sent to a webhook elsewhere. */
    webhookOrigin: z.url({ protocol: /^https?$/ }).default(DINGTALK_OAPI),
    chats: z.array(dingtalkChatSchema).default([]),
    defaultAllowWrites: z.boolean().default(false),
    perChatIntervalSeconds: z.number().min(0).max(60).default(0.2),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    if (!s.clientId)
      ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'set clientId (the AppKey)' });
    if (!s.clientSecret && !s.clientSecretFile)
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'set clientSecret or clientSecretFile',
      });
    if (!s.cardTemplateId)
      ctx.addIssue({
        code: 'custom',
        path: ['cardTemplateId'],
        message:
          'set cardTemplateId: the interactive card template for approval cards (docs/chat-dingtalk.md)',
      });
  });

export const botsConfigSchema = z.strictObject({
  dingtalk: dingtalkConfigSchema.prefault({}),
  wecom: wecomConfigSchema.prefault({}),
  slack: slackConfigSchema.prefault({}),
  feishu: feishuConfigSchema.prefault({}),
});
export type SlackConfig = z.infer<typeof slackConfigSchema>;
export type FeishuConfig = z.infer<typeof feishuConfigSchema>;
export type WecomConfig = z.infer<typeof wecomConfigSchema>;
export type DingtalkConfig = z.infer<typeof dingtalkConfigSchema>;

/** A secret from its value or its file (trailing newline dropped); the message names the key, never the value. */
export function secret(
  value: string | undefined,
  file: string | undefined,
  key: string,
  section = 'bots.slack',
): string | undefined {
  if (value) return value;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(
      `cannot read ${section}.${key}File ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

export interface SlackSecrets {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
}

export function slackSecrets(c: SlackConfig): SlackSecrets {
  const botToken = secret(c.botToken, c.botTokenFile, 'botToken');
  if (!botToken) throw new Error('bots.slack: set botToken or botTokenFile');
  const signingSecret = secret(c.signingSecret, c.signingSecretFile, 'signingSecret');
  const appToken = secret(c.appToken, c.appTokenFile, 'appToken');
  return { botToken, ...(signingSecret ? { signingSecret } : {}), ...(appToken ? { appToken } : {}) };
}

export interface FeishuSecrets {
  apiUrl: string;
  appId: string;
  appSecret: string;
  encryptKey: string;
  verificationToken: string;
}

export function feishuSecrets(c: FeishuConfig): FeishuSecrets {
  const get = (key: 'appSecret' | 'encryptKey' | 'verificationToken') => {
    const v = secret(c[key], c[`${key}File`], key, 'bots.feishu');
    // The long connection needs neither key: its events arrive unencrypted over the authenticated socket.
    if (!v && (key === 'appSecret' || c.mode === 'webhook'))
      throw new Error(`bots.feishu: set ${key} or ${key}File`);
    return v ?? '';
  };
  if (!c.appId) throw new Error('bots.feishu: set appId (cli_…)');
  return {
    apiUrl: (c.apiUrl ?? FEISHU_DOMAINS[c.domain]).replace(/\/+$/, ''),
    appId: c.appId,
    appSecret: get('appSecret'),
    encryptKey: get('encryptKey'),
    verificationToken: get('verificationToken'),
  };
}

export interface WecomSecrets {
  apiUrl: string;
  corpId: string;
  agentId: number;
  secret: string;
  token: string;
  encodingAesKey: string;
}

export function wecomSecrets(c: WecomConfig): WecomSecrets {
  const get = (key: 'secret' | 'token' | 'encodingAesKey') => {
    const v = secret(c[key], c[`${key}File`], key, 'bots.wecom');
    if (!v) throw new Error(`bots.wecom: set ${key} or ${key}File`);
    return v;
  };
  if (!c.corpId || !c.agentId) throw new Error('bots.wecom: set corpId and agentId');
  const encodingAesKey = get('encodingAesKey');
  if (!/^[A-Za-z0-9]{43}$/.test(encodingAesKey))
    throw new Error('bots.wecom.encodingAesKeyFile: must hold the 43-character EncodingAESKey');
  return {
    apiUrl: c.apiUrl.replace(/\/+$/, ''),
    corpId: c.corpId,
    agentId: c.agentId,
    secret: get('secret'),
    token: get('token'),
    encodingAesKey,
  };
}

export interface WecomRobotSecrets {
  url: string;
  botId: string;
  secret: string;
}

/** The long-connection mode's settings: the intelligent robot's Bot ID and Secret. */
export function wecomRobotSecrets(c: WecomConfig): WecomRobotSecrets {
  const value = secret(c.secret, c.secretFile, 'secret', 'bots.wecom');
  if (!c.botId || !value)
    throw new Error('bots.wecom: set botId and secret (or secretFile) for the long connection');
  return { url: c.url, botId: c.botId, secret: value };
}

export interface DingtalkSecrets {
  apiUrl: string;
  webhookOrigin: string;
  clientId: string;
  clientSecret: string;
  robotCode: string;
  cardTemplateId: string;
  actionCardTemplateId?: string;
}

export function dingtalkSecrets(c: DingtalkConfig): DingtalkSecrets {
  const clientSecret = secret(c.clientSecret, c.clientSecretFile, 'clientSecret', 'bots.dingtalk');
  if (!c.clientId || !clientSecret)
    throw new Error('bots.dingtalk: set clientId and clientSecret (or clientSecretFile)');
  if (!c.cardTemplateId) throw new Error('bots.dingtalk: set cardTemplateId');
  return {
    apiUrl: c.apiUrl.replace(/\/+$/, ''),
    webhookOrigin: new URL(c.webhookOrigin).origin,
    clientId: c.clientId,
    clientSecret,
    robotCode: c.robotCode ?? c.clientId,
    cardTemplateId: c.cardTemplateId,
    ...(c.actionCardTemplateId ? { actionCardTemplateId: c.actionCardTemplateId } : {}),
  };
}
