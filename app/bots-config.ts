import { readFileSync } from 'node:fs';
import { z } from 'zod';

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

export const botsConfigSchema = z.strictObject({ slack: slackConfigSchema.prefault({}) });
export type SlackConfig = z.infer<typeof slackConfigSchema>;

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
