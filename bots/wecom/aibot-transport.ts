import { createHash, randomBytes } from 'node:crypto';
import { toPlainText } from '../core/plain.js';
import { splitText } from '../core/split.js';
import { type ChatFile, type ChatTransport, type OutMessage, type Place, RetryLater } from '../core/types.js';
import { WecomAckError, type WsFrame } from './long-connection.js';
import { cardDetails, templateCard } from './render.js';

/** WeCom's limits for the intelligent robot (智能机器人长连接). */
const STREAM_BYTES = 20_480; // a stream reply's content
const MARKDOWN_BYTES = 4096; // a proactive markdown message
const STREAM_WINDOW_MS = 5.5 * 60_000; // a stream must be finished within 6 minutes
const REPLY_WINDOW_MS = 23.5 * 3600_000; // replies to a callback within 24 hours
const REPLIES_PER_CALLBACK = 30;
const PRESS_WINDOW_MS = 4500; // a card event's update within 5 seconds
/** Frequency limits: the minute has to pass. */
const RATE_CODES = new Set([45009, 45033, 45047]);

export interface FrameSender {
  request(cmd: string, reqId: string, body?: unknown): Promise<WsFrame>;
  /** Whether the connection is up and subscribed (replies can only go over it). */
  ready?(): boolean;
}

interface Callback {
  reqId: string;
  at: number;
  replies: number;
  dead?: boolean;
}

interface Stream {
  reqId: string;
  streamId: string;
  at: number;
  finished: boolean;
  /** The question it answers (to reply again there once the stream cannot be refreshed). */
  thread: string;
}

const id = (prefix: string) => `${prefix}${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
/** task_id: letters, digits and `_-@`, at most 128 bytes, unique for the bot. */
const taskIdOf = (ticketId: string) =>
  `km-${ticketId.replace(/[^A-Za-z0-9_@-]/g, '_')}-${randomBytes(4).toString('hex')}`.slice(0, 128);

/**
 * The intelligent robot's replies as the outbox's transport. A place is a chat: a group's chatid or,
 * in a single chat, the person's userid; its thread is the message asked (its msgid). Text in the
 * thread of a message whose callback is fresh is a reply on that callback's `req_id`
 * (`aibot_respond_msg`), as a stream: the "working" reply is an unfinished stream that is refreshed
 * in place and finished by the answer, so the first reply shows at once and the answer replaces it.
 * Otherwise (no callback in this process, or past WeCom's windows) it is a proactive
 * `aibot_send_msg` as markdown to the chat, which WeCom limits more tightly. Approval cards are
 * `button_interaction` template cards after their full text; a press's `template_card_event` gives
 * five seconds to update the card with `aibot_respond_update_msg` on the press's `req_id`; later
 * the new state is sent as text.
 */
export class WecomBotTransport implements ChatTransport {
  readonly platform = 'wecom';
  private readonly callbacks = new Map<string, Callback>();
  private readonly presses = new Map<string, Array<{ reqId: string; at: number }>>();
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly socket: FrameSender,
    private readonly now: () => number = Date.now,
  ) {}

  ready(): boolean {
    return this.socket.ready?.() ?? true;
  }

  /** A message callback: replies in its thread go on its req_id while WeCom allows (a repeat keeps the first). */
  noteMessage(msgid: string, reqId: string): void {
    this.prune();
    if (!this.callbacks.has(msgid)) this.callbacks.set(msgid, { reqId, at: this.now(), replies: 0 });
  }

  /** A card event: the next update of that card goes on its req_id, within five seconds. */
  notePress(taskId: string, reqId: string): void {
    const list = (this.presses.get(taskId) ?? []).filter((p) => this.now() - p.at < PRESS_WINDOW_MS);
    list.push({ reqId, at: this.now() });
    this.presses.set(taskId, list);
  }

  private prune() {
    const t = this.now();
    for (const [k, c] of this.callbacks) if (t - c.at > REPLY_WINDOW_MS) this.callbacks.delete(k);
    for (const [k, s] of this.streams) if (t - s.at > REPLY_WINDOW_MS) this.streams.delete(k);
    for (const [k, p] of this.presses) if (p.every((x) => t - x.at > PRESS_WINDOW_MS)) this.presses.delete(k);
  }

  /** The callback a reply in this thread may use, if any. */
  private callback(thread: string | undefined): Callback | undefined {
    const c = thread ? this.callbacks.get(thread) : undefined;
    if (!c || c.dead || this.now() - c.at > REPLY_WINDOW_MS || c.replies >= REPLIES_PER_CALLBACK)
      return undefined;
    return c;
  }

  private async send(cmd: string, reqId: string, body: unknown, cb?: Callback): Promise<WsFrame> {
    try {
      return await this.socket.request(cmd, reqId, body);
    } catch (e) {
      if (e instanceof WecomAckError) {
        if (RATE_CODES.has(e.errcode)) throw new RetryLater(e.message, 60_000);
        // WeCom will not take replies on this callback any more: the retry goes out proactively.
        if (cb) cb.dead = true;
      }
      throw e;
    }
  }

  private async stream(cb: Callback, thread: string, content: string, finish: boolean): Promise<string> {
    const streamId = id('km');
    cb.replies++;
    await this.send(
      'aibot_respond_msg',
      cb.reqId,
      { msgtype: 'stream', stream: { id: streamId, finish, content } },
      cb,
    );
    this.streams.set(streamId, { reqId: cb.reqId, streamId, at: this.now(), finished: finish, thread });
    return streamId;
  }

  private async markdown(chat: string, content: string): Promise<string> {
    const reqId = id('aibot_send_msg_');
    await this.send('aibot_send_msg', reqId, { chatid: chat, msgtype: 'markdown', markdown: { content } });
    return reqId;
  }

  /** Says `text` in the place; the first part's id names the message. */
  private async say(place: Place, text: string, progress: boolean): Promise<string> {
    const plain = toPlainText(text);
    const cb = this.callback(place.thread);
    if (cb && place.thread) {
      const ids: string[] = [];
      const parts = splitText(plain, STREAM_BYTES);
      for (const [i, part] of parts.entries())
        ids.push(await this.stream(cb, place.thread, part, !(progress && i === parts.length - 1)));
      return ids[0]!;
    }
    const ids: string[] = [];
    for (const part of splitText(plain, MARKDOWN_BYTES)) ids.push(await this.markdown(place.channel, part));
    return ids[0]!;
  }

  async post(place: Place, message: OutMessage): Promise<{ messageId: string }> {
    const c = message.card;
    if (!c) return { messageId: await this.say(place, message.text, message.progress === true) };
    await this.say(place, cardDetails(c), false);
    const taskId = taskIdOf(c.ticketId);
    const card = templateCard(c, taskId);
    const cb = this.callback(place.thread);
    if (cb) {
      cb.replies++;
      await this.send('aibot_respond_msg', cb.reqId, { msgtype: 'template_card', template_card: card }, cb);
    } else {
      await this.send('aibot_send_msg', id('aibot_send_msg_'), {
        chatid: place.channel,
        msgtype: 'template_card',
        template_card: card,
      });
    }
    return { messageId: taskId };
  }

  async update(channel: string, messageId: string, message: OutMessage): Promise<void> {
    const c = message.card;
    if (c) {
      const fresh = (this.presses.get(messageId) ?? []).filter((p) => this.now() - p.at < PRESS_WINDOW_MS);
      const press = fresh.pop();
      this.presses.set(messageId, fresh);
      if (press) {
        await this.send('aibot_respond_update_msg', press.reqId, {
          response_type: 'update_template_card',
          template_card: templateCard(c, messageId),
        });
        return;
      }
      // No press within WeCom's five seconds (a sweep, a slow decision): say it as text.
      await this.markdown(channel, cardDetails(c));
      return;
    }
    const s = this.streams.get(messageId);
    const progress = message.progress === true;
    if (s && !s.finished && this.now() - s.at < STREAM_WINDOW_MS) {
      const parts = splitText(toPlainText(message.text), STREAM_BYTES);
      const finish = !progress || parts.length > 1;
      await this.send('aibot_respond_msg', s.reqId, {
        msgtype: 'stream',
        stream: { id: s.streamId, finish, content: parts[0] },
      });
      s.finished = finish;
      const cb = this.callback(s.thread);
      for (const part of parts.slice(1)) {
        if (cb) await this.stream(cb, s.thread, part, true);
        else await this.markdown(channel, part);
      }
      return;
    }
    // A stream that cannot be refreshed any more (finished, or past its window): say it anew.
    await this.say({ channel, ...(s ? { thread: s.thread } : {}) }, message.text, progress);
  }

  /** Charts: as an image in a finished stream reply (JPG/PNG, base64 and MD5), when a callback allows. */
  async upload(place: Place, file: ChatFile): Promise<void> {
    if (file.mimeType !== 'image/png' && file.mimeType !== 'image/jpeg') {
      // The robot's messages carry images only: a report (HTML) cannot be sent as a file here.
      await this.markdown(
        place.channel,
        `${file.title} (${file.name}): the intelligent robot cannot send files; open it in Kubemate (\`/reports\` under \`kubemate serve\`) or use WeCom's callback mode to receive it.`,
      );
      return;
    }
    const cb = this.callback(place.thread);
    if (!cb) {
      await this.markdown(place.channel, `${file.title}: charts are shown only in reply to a question.`);
      return;
    }
    const bytes = Buffer.from(file.data, 'base64');
    cb.replies++;
    await this.send(
      'aibot_respond_msg',
      cb.reqId,
      {
        msgtype: 'stream',
        stream: {
          id: id('km'),
          finish: true,
          content: file.title,
          msg_item: [
            {
              msgtype: 'image',
              image: { base64: file.data, md5: createHash('md5').update(bytes).digest('hex') },
            },
          ],
        },
      },
      cb,
    );
  }
}
