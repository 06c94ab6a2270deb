// `kubemate serve` as its own process (the built CLI), and MCP clients that reach it over Streamable
// HTTP with a bearer token, as an IDE would. For the replica tests and the HA benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { freePort } from '../env/prometheus.js';
import { baseEnv } from './cli.js';

export interface Served {
  child: ChildProcess;
  port: number;
  mcpUrl: string;
  /** What the process wrote to stderr so far (its JSON log lines). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `kubemate serve` with exactly `env` (plus PATH and HOME) and waits for /readyz. */
export async function startServe(env: Record<string, string>, timeoutMs = 60_000): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/app/main.js', 'serve', '--port', String(port)], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const served: Served = {
    child,
    port,
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`kubemate serve exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return served;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`kubemate serve did not become ready within ${timeoutMs} ms:\n${log}`);
}

/** An MCP client on a served replica, authenticated with `token`. */
export async function mcpOver(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'kubemate-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult & { text: string }> {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
  return { ...r, text };
}
