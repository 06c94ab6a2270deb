import { createHash, randomBytes } from 'node:crypto';
import { toPlainText } from '../core/plain.js';
import { splitText } from '../core/split.js';
import type { ChatFile, ChatTransport, OutMessage, Place } from '../core/types.js';
import type { DingtalkApi } from './api.js';
import type { SessionWebhook } from './inbound.js';
import { actionCardParams, cardParams } from './render.js';

/** Bytes of one text message (DingTalk allows about 20,000 characters; Chinese is 3 bytes each). */
const TEXT_BYTES = 6000;
/** A session webhook is not used in its last minute: the message could arrive after it expired. */
const WEBHOOK_MARGIN_MS = 60_000;

export interface DingtalkTransportOptions {
  robotCode: string;
  cardTemplateId: string;
  /** The template of messages with buttons (alert summaries); unset, they go as text without them. */
  actionCardTemplateId?: string;
  /** Whether card buttons work: their callbacks arrive over Stream mode only. */
  buttons: boolean;
  /** The only origin a session webhook may have (https://oapi.dingtalk.com). */
  webhookOrigin: string;
  now?: () => number;
}

const isDm = (channel: string) => channel.startsWith('dm:');

/**
 * DingTalk as the outbox's transport. DingTalk has no threads: a place is a group conversation
 * (its openConversationId) or a one-to-one chat (`dm:<staffId>`). Text goes through the session
 * webhook of the conversation's last message while it is valid, else through the robot OpenAPI
 * (groupMessages/send, oToMessages/batchSend). A text message cannot be edited: an update recalls
 * what the OpenAPI sent and sends the new text. Approval cards are interactive cards created and
 * delivered with /v1.0/card/instances/createAndDeliver and updated in place with PUT
 * /v1.0/card/instances; their outTrackId is derived from the outbox key, so a retry names the same card.
 */
/** How many conversations' session webhooks, and sent texts' recall keys, are kept (oldest go first). */
const MAX_WEBHOOKS = 5_000;
const MAX_SENT = 2_000;

/** Sets `key` as the newest entry, dropping the oldest beyond `max`: memory stays bounded. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}

export class DingtalkTransport implements ChatTransport {
  readonly platform = 'dingtalk';
  /** Kept in memory only: after a restart replies go through the OpenAPI until a new message comes. */
  private readonly webhooks = new Map<string, SessionWebhook>();
  /** A text message sent through the OpenAPI: its processQueryKeys, which recall it. */
  private readonly sent = new Map<string, string[]>();

  constructor(
    private readonly api: DingtalkApi,
    private readonly o: DingtalkTransportOptions,
  ) {}

  /** Remembers where a conversation can be answered; a webhook outside DingTalk's origin is ignored. */
  noteWebhook(w: SessionWebhook): boolean {
    let origin: string;
    try {
      origin = new URL(w.url).origin;
    } catch {
      return false;
    }
    if (origin !== new URL(this.o.webhookOrigin).origin) return false;
    // DingTalk's session webhooks live about two hours; a later expiry is not believed.
    const latest = (this.o.now ?? Date.now)() + 2 * 3600_000;
    if (w.expiresAt > latest) w = { ...w, expiresAt: latest };
    remember(this.webhooks, w.channel, w, MAX_WEBHOOKS);
    return true;
  }

  private webhookFor(channel: string): string | undefined {
    const w = this.webhooks.get(channel);
    if (!w) return undefined;
    if (w.expiresAt - WEBHOOK_MARGIN_MS > (this.o.now ?? Date.now)()) return w.url;
    this.webhooks.delete(channel);
    return undefined;
  }

  private async sendText(channel: string, text: string): Promise<string[]> {
    const keys: string[] = [];
    for (const content of splitText(toPlainText(text), TEXT_BYTES)) {
      const hook = this.webhookFor(channel);
      if (hook) {
        try {
          await this.api.webhook(hook, { msgtype: 'text', text: { content } });
          continue;
        } catch {
          this.webhooks.delete(channel); // expired or refused: the OpenAPI takes over
        }
      }
      const msgParam = JSON.stringify({ content });
      const r = isDm(channel)
        ? await this.api.call('POST', '/v1.0/robot/oToMessages/batchSend', {
            robotCode: this.o.robotCode,
            userIds: [channel.slice(3)],
            msgKey: 'sampleText',
            msgParam,
          })
        : await this.api.call('POST', '/v1.0/robot/groupMessages/send', {
            robotCode: this.o.robotCode,
            openConversationId: channel,
            msgKey: 'sampleText',
            msgParam,
          });
      if (typeof r.processQueryKey === 'string') keys.push(r.processQueryKey);
    }
    return keys;
  }

  /** The action card template, when this message has buttons and they can work here. */
  private actionTemplate(message: OutMessage): string | undefined {
    return !message.card && message.actions?.length && this.o.buttons
      ? this.o.actionCardTemplateId
      : undefined;
  }

  async post(place: Place, message: OutMessage, key?: string): Promise<{ messageId: string }> {
    const c = message.card;
    const actionTemplate = this.actionTemplate(message);
    if (actionTemplate) return this.deliverCard(place, actionTemplate, actionCardParams(message), key);
    if (!c) {
      const id = `txt_${randomBytes(8).toString('hex')}`;
      remember(this.sent, id, await this.sendText(place.channel, message.text), MAX_SENT);
      return { messageId: id };
    }
    return this.deliverCard(place, this.o.cardTemplateId, cardParams(c, this.o.buttons), key);
  }

  private async deliverCard(
    place: Place,
    cardTemplateId: string,
    cardParamMap: Record<string, string>,
    key?: string,
  ): Promise<{ messageId: string }> {
    const outTrackId = `km_${createHash('sha256')
      .update(key ?? randomBytes(16))
      .digest('hex')
      .slice(0, 40)}`;
    const dm = isDm(place.channel);
    const r = await this.api.call('POST', '/v1.0/card/instances/createAndDeliver', {
      cardTemplateId,
      outTrackId,
      ...(this.o.buttons ? { callbackType: 'STREAM' } : {}),
      cardData: { cardParamMap },
      ...(dm
        ? {
            openSpaceId: `dtv1.card//IM_ROBOT.${place.channel.slice(3)}`,
            imRobotOpenSpaceModel: { supportForward: false },
            imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: this.o.robotCode },
          }
        : {
            openSpaceId: `dtv1.card//IM_GROUP.${place.channel}`,
            imGroupOpenSpaceModel: { supportForward: false },
            imGroupOpenDeliverModel: { robotCode: this.o.robotCode },
          }),
    });
    if (r.success !== true)
      throw new Error(`DingTalk did not deliver the card: ${JSON.stringify(r).slice(0, 300)}`);
    return { messageId: outTrackId };
  }

  async update(channel: string, messageId: string, message: OutMessage): Promise<void> {
    const c = message.card;
    // A card posted from the action template (its id is an outTrackId, not a text's) is updated in place.
    const actions =
      this.actionTemplate(message) && !this.sent.has(messageId) && !messageId.startsWith('txt_');
    if (c || actions) {
      const r = await this.api.call('PUT', '/v1.0/card/instances', {
        outTrackId: messageId,
        cardData: { cardParamMap: c ? cardParams(c, this.o.buttons) : actionCardParams(message) },
        cardUpdateOptions: { updateCardDataByKey: true },
      });
      if (r.success !== true)
        throw new Error(`DingTalk did not update the card: ${JSON.stringify(r).slice(0, 300)}`);
      return;
    }
    const keys = this.sent.get(messageId);
    if (keys?.length) {
      const path = isDm(channel) ? '/v1.0/robot/otoMessages/batchRecall' : '/v1.0/robot/groupMessages/recall';
      await this.api
        .call('POST', path, {
          robotCode: this.o.robotCode,
          processQueryKeys: keys,
          ...(isDm(channel) ? {} : { openConversationId: channel }),
        })
        .catch(() => undefined); // too old to recall: the new text follows anyway
    }
    remember(this.sent, messageId, await this.sendText(channel, message.text), MAX_SENT);
  }

  /** Charts: DingTalk's robot image message needs a public photo URL; the chart's title is sent instead. */
  async upload(place: Place, file: ChatFile): Promise<void> {
    await this.sendText(place.channel, `[${file.title}: DingTalk robots cannot show this chart here]`);
  }
}
