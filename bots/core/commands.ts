import type { InvokeResult, ToolPipeline } from '../../tools/core/invoke.js';
import type { Asker, ChannelBinding } from './types.js';

export const HELP = [
  'Ask me anything about your clusters in plain words, or use a command:',
  '• `help`: this message',
  '• `pods NAMESPACE`: the pods of a namespace (the channel default when omitted)',
  '• `runbook QUESTION`: search the runbooks',
  '• `chart [LOOKBACK] PROMQL`: a chart of a PromQL query over the last hour (or LOOKBACK: 15m, 6h, 2d)',
  '• `inspect [SCOPE…]`: a health inspection (host, cluster, app, database, certificates, models) with its summary',
  '• `approvals`: tickets waiting for a decision that you may see',
  '• `approve ID` / `reject ID [reason]`: decide a ticket (not your own)',
  '• 中文: `帮助`, `容器组 NAMESPACE`, `手册 QUESTION`, `图表 PROMQL`, `待审批`, `批准 ID`, `拒绝 ID [原因]`',
  'Changes I propose run only after another person approves them.',
].join('\n');

export type Command =
  | { name: 'help' }
  | { name: 'pods'; namespace?: string }
  | { name: 'runbook'; query: string }
  | { name: 'chart'; query: string; lookback?: string }
  | { name: 'inspect'; scopes: string[] }
  | { name: 'approvals' }
  | { name: 'approve'; ticket: string }
  | { name: 'reject'; ticket: string; reason?: string };

/** A direct command, or undefined for a question to the agent. Chat text is data: only parsed, never run. */
/** The command words an operator types in Chinese (WeCom, DingTalk, Feishu), as the English ones. */
const ALIASES: Record<string, string> = {
  帮助: 'help',
  容器组: 'pods',
  手册: 'runbook',
  运行手册: 'runbook',
  图表: 'chart',
  审批列表: 'approvals',
  待审批: 'approvals',
  批准: 'approve',
  同意: 'approve',
  拒绝: 'reject',
  驳回: 'reject',
};

export function parseCommand(text: string): Command | undefined {
  const words = text.trim().split(/\s+/);
  const first = (words[0] ?? '').toLowerCase();
  const head = ALIASES[first] ?? first;
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
    case 'chart':
    case 'graph': {
      const lookback = rest.length > 1 && /^\d+[smhdw]$/.test(rest[0]!) ? rest[0] : undefined;
      const query = (lookback ? rest.slice(1) : rest).join(' ');
      return query ? { name: 'chart', query, ...(lookback ? { lookback } : {}) } : undefined;
    }
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

export interface CommandReply {
  text: string;
  /** Charts the call drew (base64 PNG), shared in the thread after the text. */
  images?: InvokeResult['images'];
}

const reply = (result: InvokeResult): CommandReply => ({
  text: shown(result),
  ...(result.images?.length ? { images: result.images } : {}),
});

/** Read-only commands, each one call through the pipeline as the asker. */
export async function runReadCommand(
  pipeline: ToolPipeline,
  asker: Asker,
  command: Extract<Command, { name: 'pods' | 'runbook' | 'chart' | 'inspect' | 'approvals' }>,
  binding: ChannelBinding,
): Promise<CommandReply> {
  const p = asker.principal;
  const cluster = binding.cluster ? { cluster: binding.cluster } : {};
  switch (command.name) {
    case 'pods': {
      const namespace = command.namespace ?? binding.namespace;
      if (!namespace)
        return { text: 'Which namespace? `pods NAMESPACE` (this channel has no default namespace).' };
      return reply(await pipeline.invoke('pods_list', { namespace, ...cluster }, p));
    }
    case 'runbook':
      return reply(await pipeline.invoke('runbooks_search', { query: command.query }, p));
    case 'chart':
      return reply(
        await pipeline.invoke(
          'promql_query_range',
          {
            query: command.query,
            chart: true,
            ...(command.lookback ? { lookback: command.lookback } : {}),
            ...cluster,
          },
          p,
        ),
      );
    case 'inspect': {
      // The channel's cluster and namespace bound the inspection; the scopes are checked by the tool.
      const args = {
        ...(command.scopes.length ? { scopes: command.scopes } : {}),
        ...cluster,
        ...(binding.namespace ? { namespace: binding.namespace } : {}),
      };
      return reply(await pipeline.invoke('inspection_run', args, p));
    }
    case 'approvals':
      return reply(await pipeline.invoke('approvals_list', { status: 'pending' }, p));
  }
}
