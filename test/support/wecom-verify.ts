import { wecomSignature } from '../../bots/wecom/crypto.js';
import { TOKEN } from './wecom-server.js';

/** The GET WeCom makes when the callback URL is saved: the encrypted echostr, signed. */
export function verify(echostr: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestamp);
  const nonce = String(Math.floor(Math.random() * 1e9));
  return { msg_signature: wecomSignature(TOKEN, ts, nonce, echostr), timestamp: ts, nonce, echostr };
}
