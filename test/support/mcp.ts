import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { buildMcpServer } from '../../mcp/server.js';
import type { Principal } from '../../policies/types.js';
import type { ToolPipeline } from '../../tools/core/invoke.js';

/** An MCP client connected in memory to a server built from the pipeline for one principal. */
export async function connectMcp(pipeline: ToolPipeline, principal: Principal): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await buildMcpServer(pipeline, principal).connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return client;
}

/** A tool result's text content, joined. */
export const resultText = (r: CallToolResult) =>
  (r.content as Array<{ text: string }>).map((c) => c.text).join('\n');
