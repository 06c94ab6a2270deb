import { describe, expect, it } from 'vitest';
import { wecomConfigSchema } from '../../app/bots-config.js';
import { checkWecom } from '../../app/commands/bots.js';
import { ConfigError, loadConfig } from '../../app/config.js';
import { normaliseAibotEvent, normaliseAibotMessage } from '../../bots/wecom/aibot-inbound.js';
import { BOT_ID, BOT_SECRET, startWecomAibotServer } from '../support/wecom-aibot-server.js';

const env = (vars: Record<string, string>) => ({ KUBEMATE_BOTS__WECOM__ENABLED: 'true', ...vars });
function errorOf(vars: Record<string, string>): string {
  try {
    loadConfig({ env: env(vars) });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('bots.wecom in long-connection mode', () => {
  it('takes the Bot ID and Secret, and the public gateway by default', () => {
    const c = loadConfig({
      env: env({
        KUBEMATE_BOTS__WECOM__MODE: 'long-connection',
        KUBEMATE_BOTS__WECOM__BOT_ID: 'aibKubemate01',
        KUBEMATE_BOTS__WECOM__SECRET: 's3cret',
      }),
    }).bots.wecom;
    expect([c.mode, c.botId, c.url]).toEqual([
      'long-connection',
      'aibKubemate01',
      'wss://openws.work.weixin.qq.com',
    ]);
  });

  it('says what is missing, and refuses keys of the other mode rather than ignore them', () => {
    const missing = errorOf({ KUBEMATE_BOTS__WECOM__MODE: 'long-connection' });
    expect(missing).toContain('bots.wecom.botId');
    expect(missing).toContain('set secret or secretFile');
    const mixed = errorOf({
      KUBEMATE_BOTS__WECOM__MODE: 'long-connection',
      KUBEMATE_BOTS__WECOM__BOT_ID: 'aibKubemate01',
      KUBEMATE_BOTS__WECOM__SECRET: 's3cret',
      KUBEMATE_BOTS__WECOM__CORP_ID: 'ww1436e0e65a779aee',
      KUBEMATE_BOTS__WECOM__APPROVERS: '["lisi"]',
    });
    expect(mixed).toContain('corpId belongs to callback mode');
    expect(mixed).toContain('approvers applies to callback mode only');
    expect(errorOf({ KUBEMATE_BOTS__WECOM__MODE: 'stream' })).toContain(
      'mode must be callback or long-connection',
    );
    expect(
      errorOf({ KUBEMATE_BOTS__WECOM__MODE: 'long-connection', KUBEMATE_BOTS__WECOM__URL: 'https://x' }),
    ).toContain('bots.wecom.url');
  });
});

describe('intelligent robot callbacks', () => {
  const message = (o: Record<string, unknown> = {}) => ({
    msgid: 'CAIQ1',
    aibotid: 'aibKubemate01',
    chattype: 'group',
    chatid: 'wrkGroup1',
    from: { userid: 'zhangsan' },
    msgtype: 'text',
    text: { content: '@Kubemate 帮助' },
    ...o,
  });

  it('a group message is a mention without the leading @, a single chat a direct message', () => {
    expect(normaliseAibotMessage(message(), 'aibKubemate01')).toEqual({
      event: {
        kind: 'mention',
        text: '帮助',
        eventId: 'msg:CAIQ1',
        messageId: 'CAIQ1',
        user: { platform: 'wecom', id: 'zhangsan' },
        place: { channel: 'wrkGroup1' },
      },
    });
    const single = normaliseAibotMessage(message({ chattype: 'single', chatid: undefined }), 'aibKubemate01');
    expect(single).toMatchObject({
      event: { kind: 'message', direct: true, place: { channel: 'zhangsan' } },
    });
  });

  it('refuses another robot, a group without chatid and malformed bodies; ignores images', () => {
    expect(normaliseAibotMessage(message(), 'aibOther')).toEqual({ refused: 'wrong bot id' });
    expect(normaliseAibotMessage(message({ chatid: undefined }), 'aibKubemate01')).toEqual({
      refused: 'group message without chatid',
    });
    expect(normaliseAibotMessage({ msgid: 3 }, 'aibKubemate01')).toEqual({ refused: 'not a robot message' });
    expect(normaliseAibotMessage(message({ msgtype: 'image', text: undefined }), 'aibKubemate01')).toEqual({
      ignored: 'msgtype image',
    });
  });

  it('reads a card press in the documented nested form and in the flat one', () => {
    const base = {
      msgid: 'CAIQ2',
      aibotid: 'aibKubemate01',
      chattype: 'single',
      from: { userid: 'lisi' },
      msgtype: 'event',
    };
    const nested = normaliseAibotEvent(
      {
        ...base,
        event: {
          eventtype: 'template_card_event',
          template_card_event: {
            card_type: 'button_interaction',
            event_key: 'approve:apr_1',
            task_id: 'km-apr_1-ab',
          },
        },
      },
      'aibKubemate01',
    );
    expect(nested).toEqual({
      press: {
        taskId: 'km-apr_1-ab',
        event: {
          kind: 'button',
          action: 'approve',
          ticketId: 'apr_1',
          cardMessageId: 'km-apr_1-ab',
          eventId: 'card:CAIQ2',
          user: { platform: 'wecom', id: 'lisi' },
          place: { channel: 'lisi' },
        },
      },
    });
    const flat = normaliseAibotEvent(
      {
        ...base,
        event: { eventtype: 'template_card_event', event_key: 'reject:apr_1', task_id: 'km-apr_1-ab' },
      },
      'aibKubemate01',
    );
    expect(flat).toMatchObject({ press: { event: { action: 'reject', ticketId: 'apr_1' } } });
    expect(normaliseAibotEvent({ ...base, event: { eventtype: 'enter_chat' } }, 'aibKubemate01')).toEqual({
      ignored: 'enter_chat',
    });
  });
});

describe('kubemate bots check in long-connection mode', () => {
  const config = (url: string) =>
    wecomConfigSchema.parse({
      enabled: true,
      mode: 'long-connection',
      botId: BOT_ID,
      secret: BOT_SECRET,
      url,
    });

  it('checks that the gateway opens a socket, without subscribing (that would take the robot from a running Kubemate)', async () => {
    const gw = await startWecomAibotServer();
    try {
      const ok = await checkWecom(config(gw.url));
      expect(ok.ok).toBe(true);
      expect(ok.lines[0]).toContain(`${gw.url} reachable`);
      expect(gw.opened()).toBe(1);
      expect(gw.subscribes).toEqual([]);
    } finally {
      await gw.close();
    }
    const down = await checkWecom(config(gw.url));
    expect(down.ok).toBe(false);
    expect(down.lines[0]).toContain('outbound wss:// to it must be allowed');
  });
});
