import type { InvokeResult, ToolPipeline } from '../../tools/core/invoke.js';
import type { Asker, ChannelBinding } from './types.js';

export const HELP = [
  'Ask me anything about your clusters in plain words, or use a command:',
  '• `help`: this message',
  '• `pods NAMESPACE`: the pods of a namespace (the channel default when omitted)',
  '• `runbook QUESTION`: search the runbooks',
  '• `inspect [SCOPE…]`: a health inspection (host, cluster, app, database, certificates, models) with its summary',
  '• `approvals`: tickets waiting for a decision that you may see',
  '• `approve ID` / `reject ID [reason]`: decide a ticket (not your own)',
  'Changes I propose run only after another person approves them.',
].join('\n');

export type Command =
  | { name: 'help' }
  | { name: 'pods'; namespace?: string }
  | { name: 'runbook'; query: string }
  | { name: 'inspect'; scopes: string[] }
  | { name: 'approvals' }
  | { name: 'approve'; ticket: string }
  | { name: 'reject'; ticket: string; reason?: string };

/** A direct command, or undefined for a question to the agent. Chat text is data: only parsed, never run. */
export function parseCommand(text: string): Command | undefined {
  const words = text.trim().split(/\s+/);
  const head = (words[0] ?? '').toLowerCase();
  const rest = words.slice(1);
  switch (head) {
    case '':
    case 'help':
      return rest.length === 0 ? { name: 'help' } : undefined;
    case 'pods':
      return rest.length <= 1 ? { name: 'pods', ...(rest[0] ? { namespace: rest[0] } : {}) } : undefined;
    case 'runbook':
    case 'runbooks':
      return rest.length > 0 ? { name: 'runbook', query: rest.join(' ') } : undefined;
    case 'inspect':
      return { name: 'inspect', scopes: rest.flatMap((w) => w.split(',')).filter(Boolean) };
    case 'approvals':
      return rest.length === 0 ? { name: 'approvals' } : undefined;
    case 'approve':
      return rest.length === 1 ? { name: 'approve', ticket: rest[0]! } : undefined;
    case 'reject':
      return rest.length >= 1
        ? {
            name: 'reject',
            ticket: rest[0]!,
            ...(rest.length > 1 ? { reason: rest.slice(1).join(' ') } : {}),
          }
        : undefined;
    default:
      return undefined;
  }
}

function shown(result: InvokeResult): string {
  return result.isError ? `${result.status}: ${result.text}` : result.text;
}

/** Read-only commands, each one call through the pipeline as the asker. */
export async function runReadCommand(
  pipeline: ToolPipeline,
  asker: Asker,
  command: Extract<Command, { name: 'pods' | 'runbook' | 'inspect' | 'approvals' }>,
  binding: ChannelBinding,
): Promise<string> {
  const p = asker.principal;
  if (command.name === 'pods') {
    const namespace = command.namespace ?? binding.namespace;
    if (!namespace) return 'Which namespace? `pods NAMESPACE` (this channel has no default namespace).';
    const args = { namespace, ...(binding.cluster ? { cluster: binding.cluster } : {}) };
    return shown(await pipeline.invoke('pods_list', args, p));
  }
  if (command.name === 'inspect') {
    // The channel's cluster and namespace bound the inspection; the scopes are checked by the tool.
    const args = {
      ...(command.scopes.length ? { scopes: command.scopes } : {}),
      ...(binding.cluster ? { cluster: binding.cluster } : {}),
      ...(binding.namespace ? { namespace: binding.namespace } : {}),
    };
    return shown(await pipeline.invoke('inspection_run', args, p));
  }
  if (command.name === 'runbook')
    return shown(await pipeline.invoke('runbooks_search', { query: command.query }, p));
  return shown(await pipeline.invoke('approvals_list', { status: 'pending' }, p));
}
