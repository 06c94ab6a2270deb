import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { buildMcpServer } from './server.js';

/** Serves MCP over stdin/stdout for one local principal until stdin closes. */
export async function serveStdio(pipeline: ToolPipeline, principal: Principal): Promise<void> {
  const server = buildMcpServer(pipeline, principal);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
