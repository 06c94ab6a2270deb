import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { aesKeyOf, wecomEncrypt, wecomSignature } from '../../bots/wecom/crypto.js';
import { cdata } from '../../bots/wecom/xml.js';

/**
 * A local WeCom server API speaking the real wire format (`{errcode, errmsg}` JSON, access tokens
 * from corp id and secret as `?access_token=`, message send / recall / update_template_card, media
 * upload), and building callbacks exactly as WeCom sends them: XML messages and events encrypted
 * with the EncodingAESKey (corp id appended) and signed with `msg_signature` in the query.
 */
export const CORP_ID = 'ww0kubematetest01';
export const AGENT_ID = 1000002;
export const SECRET = 'wecom-app-secret-for-tests';
export const TOKEN = 'wecomCallbackToken4Tests';
export const AES_KEY = 'k8sKubemateWecomEncodingAesKeyForTests01234';

export interface WecomMessage {
  msgid: string;
  touser: string[];
  msgtype: string;
  text?: string;
  card?: Record<string, unknown>;
  taskId?: string;
  mediaId?: string;
  recalled: boolean;
  /** Every version of a card, oldest first (update_template_card appends). */
  history: Array<Record<string, unknown>>;
}

export interface WecomCall {
  path: string;
  errcode: number;
  at: number;
}

export async function startWecomServer() {
  const messages: WecomMessage[] = [];
  const calls: WecomCall[] = [];
  const tokens = new Set<string>();
  /** Response codes issued and not yet used, per card task id. */
  const codes = new Map<string, string>();
  const media = new Map<string, Buffer>();
  const mediaInfo = new Map<string, { type: string; name: string }>();
  const watchers: Array<(m: WecomMessage) => void> = [];
  let counter = 0;

  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
  const issue = (taskId: string) => {
    const code = `rc-${randomBytes(8).toString('hex')}`;
    codes.set(code, taskId);
    return code;
  };

  const server = createServer(async (req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const raw = await readBody(req);
    const answer = (errcode: number, errmsg: string, extra: Record<string, unknown> = {}) => {
      calls.push({ path: url.pathname, errcode, at: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errcode, errmsg, ...extra }));
    };
    if (url.pathname === '/cgi-bin/gettoken') {
      if (url.searchParams.get('corpid') !== CORP_ID) return answer(40013, 'invalid corpid');
      if (url.searchParams.get('corpsecret') !== SECRET) return answer(40001, 'invalid credential');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      return answer(0, 'ok', { access_token: token, expires_in: 7200 });
    }
    const token = url.searchParams.get('access_token');
    if (!token) return answer(41001, 'access_token missing');
    if (!tokens.has(token)) return answer(40014, 'invalid access_token');
    if (url.pathname === '/cgi-bin/media/upload') {
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const file = form.get('media');
      const type = url.searchParams.get('type') ?? '';
      if (!['image', 'file'].includes(type) || !(file instanceof Blob))
        return answer(40004, 'invalid media type');
      // WeCom takes JPG and PNG as images, and any file of 5 bytes to 20 MB as a file.
      if (type === 'image' && !/^image\/(png|jpeg)$/.test(file.type))
        return answer(40005, 'invalid file type');
      if (type === 'file' && (file.size < 5 || file.size > 20 * 1024 * 1024))
        return answer(40006, 'invalid file size');
      const id = `media-${randomBytes(6).toString('hex')}`;
      media.set(id, Buffer.from(await file.arrayBuffer()));
      mediaInfo.set(id, { type, name: (file as File).name });
      return answer(0, 'ok', {
        type,
        media_id: id,
        created_at: String(Math.floor(Date.now() / 1000)),
      });
    }
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return answer(47001, 'data format error');
    }
    if (url.pathname === '/cgi-bin/message/send') {
      if (b.agentid !== AGENT_ID) return answer(40056, 'invalid agentid');
      const touser = String(b.touser ?? '')
        .split('|')
        .filter(Boolean);
      if (touser.length === 0) return answer(40003, 'invalid userid');
      const m: WecomMessage = {
        msgid: `msg${++counter}_${randomBytes(4).toString('hex')}`,
        touser,
        msgtype: String(b.msgtype),
        recalled: false,
        history: [],
      };
      if (m.msgtype === 'text') {
        const content = String((b.text as { content?: string } | undefined)?.content ?? '');
        if (Buffer.byteLength(content) > 2048) return answer(45002, 'content size out of limit');
        m.text = content;
      } else if (m.msgtype === 'template_card') {
        const card = b.template_card as Record<string, unknown>;
        if (card?.card_type !== 'button_interaction' || typeof card.task_id !== 'string')
          return answer(40008, 'invalid template_card');
        if (messages.some((x) => x.taskId === card.task_id)) return answer(40008, 'task_id already used');
        m.card = card;
        m.taskId = card.task_id;
        m.history.push(card);
      } else if (m.msgtype === 'image' || m.msgtype === 'file') {
        m.mediaId = String((b[m.msgtype] as { media_id?: string } | undefined)?.media_id);
        if (mediaInfo.get(m.mediaId)?.type !== m.msgtype) return answer(40007, 'invalid media_id');
      } else return answer(40008, 'invalid message type');
      messages.push(m);
      for (const w of watchers) w(m);
      return answer(0, 'ok', {
        invaliduser: '',
        msgid: m.msgid,
        ...(m.taskId ? { response_code: issue(m.taskId) } : {}),
      });
    }
    if (url.pathname === '/cgi-bin/message/update_template_card') {
      const code = String(b.response_code ?? '');
      const taskId = codes.get(code);
      if (!taskId) return answer(40016, 'invalid response_code');
      codes.delete(code); // a code updates a card once
      const card = b.template_card as Record<string, unknown>;
      const m = messages.find((x) => x.taskId === taskId)!;
      if (card?.task_id !== taskId) return answer(40008, 'task_id does not match the response_code');
      m.card = card;
      m.history.push(card);
      return answer(0, 'ok', { invaliduser: [] });
    }
    if (url.pathname === '/cgi-bin/message/recall') {
      const m = messages.find((x) => x.msgid === b.msgid);
      if (!m || m.recalled) return answer(40068, 'invalid msgid');
      m.recalled = true;
      return answer(0, 'ok');
    }
    return answer(404, 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    messages,
    calls,
    media,
    /** What each media id was uploaded as: its type (image, file) and file name. */
    mediaInfo,
    /** Every token issued so far stops working (as when the platform expires them early). */
    revokeTokens: () => tokens.clear(),
    /** Calls `fn` with each message the app sends (benchmarks). */
    watch: (fn: (m: WecomMessage) => void) => watchers.push(fn),
    /** What a person sees now: messages to them, recalled ones left out. */
    inbox: (user: string) => messages.filter((m) => m.touser.includes(user) && !m.recalled),
    /** A press on a card's button: the event WeCom sends, with a fresh response code for that card. */
    press: (user: string, card: WecomMessage, key: string) =>
      cardEvent({ user, taskId: card.taskId!, key, responseCode: issue(card.taskId!) }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type WecomServer = Awaited<ReturnType<typeof startWecomServer>>;

/** The buttons a card offers now (their keys). */
export const buttonKeys = (card: Record<string, unknown> | undefined) =>
  ((card?.button_list ?? []) as Array<{ key: string }>)
    .map((b) => b.key)
    .filter((k) => !k.startsWith('done:'));

/** The text a template card shows (titles, sub-title and its key-value lines). */
export function cardVisibleText(card: Record<string, unknown> | undefined): string {
  if (!card) return '';
  const title = card.main_title as { title?: string; desc?: string } | undefined;
  const rows = (card.horizontal_content_list ?? []) as Array<{ keyname: string; value?: string }>;
  return [title?.title, title?.desc, card.sub_title_text, ...rows.map((r) => `${r.keyname} ${r.value ?? ''}`)]
    .filter(Boolean)
    .join('\n');
}

let msgCounter = 7_000_000_000_000_000_000n;

/** A text message from a person, as the decrypted callback XML. */
export function textMessage(o: { user: string; text: string; msgId?: string; agentId?: number }): string {
  const now = Math.floor(Date.now() / 1000);
  return `<xml><ToUserName>${cdata(CORP_ID)}</ToUserName><FromUserName>${cdata(o.user)}</FromUserName><CreateTime>${now}</CreateTime><MsgType>${cdata('text')}</MsgType><Content>${cdata(o.text)}</Content><MsgId>${o.msgId ?? String(++msgCounter)}</MsgId><AgentID>${o.agentId ?? AGENT_ID}</AgentID></xml>`;
}

/** A `template_card_event` (a press on a button_interaction card), as the decrypted callback XML. */
export function cardEvent(o: {
  user: string;
  taskId: string;
  key: string;
  responseCode: string;
  createTime?: number;
}): string {
  return `<xml><ToUserName>${cdata(CORP_ID)}</ToUserName><FromUserName>${cdata(o.user)}</FromUserName><CreateTime>${o.createTime ?? Math.floor(Date.now() / 1000)}</CreateTime><MsgType>${cdata('event')}</MsgType><Event>${cdata('template_card_event')}</Event><EventKey>${cdata(o.key)}</EventKey><TaskId>${cdata(o.taskId)}</TaskId><CardType>${cdata('button_interaction')}</CardType><ResponseCode>${cdata(o.responseCode)}</ResponseCode><AgentID>${AGENT_ID}</AgentID></xml>`;
}

/** The POST WeCom makes for a message: encrypted XML body, msg_signature, timestamp and nonce in the query. */
export function wecomCallback(
  inner: string,
  o: { token?: string; timestamp?: number; aesKey?: string; corpId?: string } = {},
): { query: Record<string, string>; body: string } {
  const encrypted = wecomEncrypt(aesKeyOf(o.aesKey ?? AES_KEY), inner, o.corpId ?? CORP_ID);
  const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e10));
  return {
    query: {
      msg_signature: wecomSignature(o.token ?? TOKEN, timestamp, nonce, encrypted),
      timestamp,
      nonce,
    },
    body: `<xml><ToUserName>${cdata(o.corpId ?? CORP_ID)}</ToUserName><Encrypt>${cdata(encrypted)}</Encrypt><AgentID>${cdata(String(AGENT_ID))}</AgentID></xml>`,
  };
}
