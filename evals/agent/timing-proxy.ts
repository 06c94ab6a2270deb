import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  path: string;
  /** performance.now() when the request arrived and when the response was finished. */
  start: number;
  end: number;
  /** The prompt tokens the server reported (`prompt_eval_count`), when it did. */
  promptTokens?: number;
}

export interface TimingProxy {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

/** The last `prompt_eval_count` in a JSON or NDJSON body (Ollama reports it on the final chunk). */
function promptTokensOf(body: string): number | undefined {
  const all = [...body.matchAll(/"prompt_eval_count":(\d+)/g)];
  const last = all.at(-1);
  return last ? Number(last[1]) : undefined;
}

/**
 * Sits between the agent and the model server and times every exchange at the HTTP boundary:
 * from the request's arrival to the response's last byte. That is the model time as the agent
 * sees it (plus one loopback hop), to subtract from the agent's wall time.
 */
export async function startTimingProxy(target: string): Promise<TimingProxy> {
  const upstream = new URL(target);
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const start = performance.now();
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => {
          chunks.push(c);
          res.write(c);
        });
        up.on('end', () => {
          res.end();
          const promptTokens = promptTokensOf(Buffer.concat(chunks).toString('utf8'));
          exchanges.push({
            path: (req.url ?? '').split('?')[0]!,
            start,
            end: performance.now(),
            ...(promptTokens !== undefined ? { promptTokens } : {}),
          });
        });
      },
    );
    forward.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `timing proxy: ${e.message}` }));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
