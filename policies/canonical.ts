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

/**
 * What a ticket is bound to: the call, and, for a tool that takes a cluster when the call names
 * none, the cluster it resolved to when the ticket was made. A change of default cluster then
 * cannot point a pending ticket at another cluster. A newline cannot occur in canonical JSON, so
 * the parts cannot be confused.
 */
export function ticketHash(tool: string, args: Record<string, unknown>, defaultCluster?: string): string {
  if (defaultCluster === undefined) return callHash(tool, args);
  return sha256(`${tool}\n${canonicalJson(args)}\ndefault-cluster=${defaultCluster}`);
}
