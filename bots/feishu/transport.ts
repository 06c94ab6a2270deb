import type { ChatFile, ChatTransport, OutMessage, Place } from '../core/types.js';
import type { FeishuApi } from './api.js';
import { renderCard } from './render.js';

const cardContent = (message: OutMessage) => JSON.stringify(renderCard(message));

/**
 * Feishu's message API as the outbox's transport. A message in a thread is a reply to the thread's
 * root message (`/im/v1/messages/:root/reply`); a message at the top of a chat is created with
 * `receive_id_type=chat_id`. Updates patch the card in place; files are uploaded first (images as images).
 */
export class FeishuTransport implements ChatTransport {
  readonly platform = 'feishu';

  constructor(private readonly api: FeishuApi) {}

  private async send(place: Place, msgType: string, content: string): Promise<{ messageId: string }> {
    const data = place.thread
      ? await this.api.call('POST', `/open-apis/im/v1/messages/${encodeURIComponent(place.thread)}/reply`, {
          msg_type: msgType,
          content,
        })
      : await this.api.call('POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
          receive_id: place.channel,
          msg_type: msgType,
          content,
        });
    const id = data.message_id;
    if (typeof id !== 'string' || !id) throw new Error('Feishu answered without a message_id');
    return { messageId: id };
  }

  post(place: Place, message: OutMessage): Promise<{ messageId: string }> {
    return this.send(place, 'interactive', cardContent(message));
  }

  async update(_channel: string, messageId: string, message: OutMessage): Promise<void> {
    await this.api.call('PATCH', `/open-apis/im/v1/messages/${encodeURIComponent(messageId)}`, {
      content: cardContent(message),
    });
  }

  /**
   * Images (charts): `/im/v1/images` gives an image_key, then an image message in the thread. Other
   * files (an HTML report): `/im/v1/files` gives a file_key, then a file message.
   */
  async upload(place: Place, file: ChatFile): Promise<void> {
    const bytes = new Blob([Buffer.from(file.data, 'base64')], { type: file.mimeType });
    const form = new FormData();
    if (!file.mimeType.startsWith('image/')) {
      form.set('file_type', 'stream');
      form.set('file_name', file.name);
      form.set('file', bytes, file.name);
      const key = (await this.api.upload('/open-apis/im/v1/files', form)).file_key;
      if (typeof key !== 'string' || !key) throw new Error('Feishu answered without a file_key');
      await this.send(place, 'file', JSON.stringify({ file_key: key }));
      return;
    }
    form.set('image_type', 'message');
    form.set('image', bytes, file.name);
    const data = await this.api.upload('/open-apis/im/v1/images', form);
    const key = data.image_key;
    if (typeof key !== 'string' || !key) throw new Error('Feishu answered without an image_key');
    await this.send(place, 'image', JSON.stringify({ image_key: key }));
  }
}
