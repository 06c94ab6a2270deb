import { createHash } from 'node:crypto';
import { canonicalJson } from './audit-chain.js';

export { canonicalJson };

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What an approval is bound to: the tool and its exact arguments. */
export function callHash(tool: string, args: Record<string, unknown>): string {
  return sha256(`${tool}\n${canonicalJson(args)}`);
}
