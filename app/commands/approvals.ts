import type { Command } from 'commander';
import type { Principal } from '../../policies/types.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';

/** `kubemate approvals …`: the same approvals tools the MCP surface has, as the local principal. */
type Opened = { pipeline: ToolPipeline; principal: Principal; close(): unknown };

export function registerApprovalCommands(program: Command, open: () => Opened | Promise<Opened>): void {
  const approvals = program
    .command('approvals')
    .description('List, inspect, approve and reject approval tickets');
  const run = async (tool: string, args: Record<string, unknown>) => {
    const { pipeline, principal, close } = await open();
    try {
      const result = await pipeline.invoke(tool, args, principal);
      (result.isError ? process.stderr : process.stdout).write(`${result.text}\n`);
      process.exitCode = result.isError ? 1 : 0;
    } finally {
      await close();
    }
  };
  approvals
    .command('list')
    .description('List tickets')
    .option('--status <status>', 'pending, approved, executed, failed, rejected or expired')
    .option('--mine', 'only tickets you requested')
    .action((o: { status?: string; mine?: boolean }) =>
      run('approvals_list', { ...(o.status ? { status: o.status } : {}), ...(o.mine ? { mine: true } : {}) }),
    );
  approvals
    .command('get <ticket>')
    .description('Show one ticket')
    .action((ticket: string) => run('approvals_get', { ticket }));
  approvals
    .command('approve <ticket>')
    .description('Approve a ticket; the approved call runs once the quorum is reached')
    .action((ticket: string) => run('approvals_approve', { ticket }));
  approvals
    .command('reject <ticket>')
    .description('Reject (or withdraw) a ticket')
    .option('--reason <text>', 'why')
    .action((ticket: string, o: { reason?: string }) =>
      run('approvals_reject', { ticket, ...(o.reason ? { reason: o.reason } : {}) }),
    );
}
