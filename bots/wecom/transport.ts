import { randomBytes } from 'node:crypto';
import { toPlainText } from '../core/plain.js';
import { splitText } from '../core/split.js';
import type { ChatFile, ChatTransport, OutMessage, Place } from '../core/types.js';
import type { WecomApi } from './api.js';
import { cardDetails, templateCard } from './render.js';

/** WeCom's limit for a text message's content. */
const TEXT_BYTES = 2048;

/**
 * WeCom's message API (应用消息) as the outbox's transport. A place is a person (their userid): an
 * app writes to people, not into threads. Text is split within WeCom's 2048 bytes. An approval card
 * is a `button_interaction` template card sent to the requester and to the configured approvers,
 * with its full text before it; it is updated in place with `update_template_card`, using the
 * response code of the last press (or of the send). WeCom cannot edit a text message, so updating
 * one recalls it and sends the new text.
 */
export class WecomTransport implements ChatTransport {
  readonly platform = 'wecom';
  /** Per card (task id): who received it and the response code that may update it next. */
  private readonly cards = new Map<string, { users: string[]; responseCode?: string }>();
  /** A text message that was replaced: the ids of its current parts. */
  private readonly replaced = new Map<string, string>();

  constructor(
    private readonly api: WecomApi,
    private readonly agentId: number,
    private readonly approvers: readonly string[],
  ) {}

  /** The response code of a press on a card, which the next update of that card uses. */
  noteResponseCode(taskId: string, code: string): void {
    const card = this.cards.get(taskId);
    if (card) card.responseCode = code;
  }

  private async sendText(users: string[], text: string): Promise<string[]> {
    const ids: string[] = [];
    for (const part of splitText(toPlainText(text), TEXT_BYTES)) {
      const r = await this.api.call('/cgi-bin/message/send', {
        touser: users.join('|'),
        msgtype: 'text',
        agentid: this.agentId,
        text: { content: part },
        enable_duplicate_check: 0,
      });
      ids.push(String(r.msgid ?? ''));
    }
    return ids;
  }

  async post(place: Place, message: OutMessage): Promise<{ messageId: string }> {
    const c = message.card;
    if (!c) return { messageId: (await this.sendText([place.channel], message.text)).join(',') };
    const users = [...new Set([place.channel, ...this.approvers])];
    await this.sendText(users, cardDetails(c));
    const taskId = `km-${c.ticketId}-${randomBytes(4).toString('hex')}`.slice(0, 128);
    const r = await this.api.call('/cgi-bin/message/send', {
      touser: users.join('|'),
      msgtype: 'template_card',
      agentid: this.agentId,
      template_card: templateCard(c, taskId),
    });
    this.cards.set(taskId, {
      users,
      ...(typeof r.response_code === 'string' ? { responseCode: r.response_code } : {}),
    });
    return { messageId: taskId };
  }

  async update(channel: string, messageId: string, message: OutMessage): Promise<void> {
    const c = message.card;
    if (c) {
      const card = this.cards.get(messageId);
      if (card?.responseCode) {
        const code = card.responseCode;
        delete card.responseCode; // a response code updates a card once
        await this.api.call('/cgi-bin/message/update_template_card', {
          userids: card.users,
          agentid: this.agentId,
          response_code: code,
          template_card: templateCard(c, messageId),
        });
        return;
      }
      // No code left to update this card with (a restart, or WeCom's 72 hours passed): say it in text.
      await this.sendText(card?.users ?? [channel], cardDetails(c));
      return;
    }
    const current = this.replaced.get(messageId) ?? messageId;
    for (const id of current.split(',').filter(Boolean)) {
      await this.api.call('/cgi-bin/message/recall', { msgid: id }).catch(() => undefined);
    }
    this.replaced.set(messageId, (await this.sendText([channel], message.text)).join(','));
  }

  /** Images (charts): uploaded as temporary media, then sent as an image message. */
  async upload(place: Place, file: ChatFile): Promise<void> {
    const form = new FormData();
    form.set('media', new Blob([Buffer.from(file.data, 'base64')], { type: file.mimeType }), file.name);
    const r = await this.api.upload('/cgi-bin/media/upload', { type: 'image' }, form);
    await this.api.call('/cgi-bin/message/send', {
      touser: place.channel,
      msgtype: 'image',
      agentid: this.agentId,
      image: { media_id: String(r.media_id ?? '') },
    });
  }
}
