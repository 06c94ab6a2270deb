import { describe, expect, it } from 'vitest';
import { normaliseCardPress } from '../../bots/dingtalk/inbound.js';
import { actionCardParams } from '../../bots/dingtalk/render.js';

describe('DingTalk action cards (alert summaries)', () => {
  const press = (params: Record<string, string>, outTrackId = 'km_summary1') => ({
    type: 'actionCallback',
    outTrackId,
    userId: 'bob02',
    content: JSON.stringify({ cardPrivateData: { actionIds: ['button_4'], params } }),
  });
  const noTicket = () => undefined;
  const posted = (out: string) => (out === 'km_summary1' ? 'cidG==' : undefined);

  it('a press on a card Kubemate posted is an action in its channel; on any other card, or a bad action, nothing', async () => {
    expect(
      await normaliseCardPress(
        press({ kubemate: 'act', action: 'alert_ack', arg: 'ag_0123' }),
        'd1',
        noTicket,
        posted,
      ),
    ).toMatchObject({
      kind: 'action',
      action: 'alert_ack',
      value: 'ag_0123',
      place: { channel: 'cidG==' },
      user: { platform: 'dingtalk', id: 'bob02' },
    });
    expect(
      await normaliseCardPress(
        press({ kubemate: 'act', action: 'alert_ack', arg: 'ag_0123' }, 'km_forged'),
        'd2',
        noTicket,
        posted,
      ),
    ).toBeUndefined();
    expect(
      await normaliseCardPress(
        press({ kubemate: 'act', action: 'Alert ACK!', arg: 'ag_0123' }),
        'd3',
        noTicket,
        posted,
      ),
    ).toBeUndefined();
    expect(
      await normaliseCardPress(
        press({ kubemate: 'act', action: 'alert_ack', arg: 'a b' }),
        'd4',
        noTicket,
        posted,
      ),
    ).toBeUndefined();
  });

  it('fills five button slots from the message, hiding the unused ones, text as plain text', () => {
    const params = actionCardParams({
      text: '*[FIRING]* CRITICAL X',
      actions: [
        { action: 'alert_investigate', value: 'ag_1', label: 'Investigate further' },
        { action: 'alert_runbook', value: 'ag_1', label: 'Runbook' },
      ],
    });
    expect(Object.values(params).every((v) => typeof v === 'string')).toBe(true);
    expect(params).toMatchObject({
      label_1: 'Investigate further',
      action_1: 'alert_investigate',
      arg_1: 'ag_1',
      show_1: 'true',
      action_2: 'alert_runbook',
      show_2: 'true',
      show_3: 'false',
      action_5: '',
      show_5: 'false',
    });
    expect(params.text).not.toContain('*');
  });
});
