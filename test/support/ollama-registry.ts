// A loopback model registry for pull tests: never an outside host.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A loopback registry speaking the protocol Ollama pulls with (OCI distribution: a manifest, then
 * blobs by digest, with Range requests). It serves the MiniLM model the test Ollama already holds
 * (as kubemate/minilm:<tag>) and one manifest whose layers no disk could hold.
 */
export function startRegistry(store: string, hits: string[] = []): Promise<{ server: Server; port: number }> {
  const manifest = readFileSync(
    join(store, 'manifests', 'registry.ollama.ai', 'library', 'all-minilm', 'l6-v2'),
    'utf8',
  );
  const huge = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: `sha256:${'0'.repeat(64)}`,
      size: 100,
    },
    layers: [
      { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${'1'.repeat(64)}`, size: 10 ** 16 },
    ],
  });
  const registry = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const m = /^\/v2\/kubemate\/(minilm|huge)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    const [, name, kind, ref] = m;
    const type = 'application/vnd.docker.distribution.manifest.v2+json';
    if (kind === 'manifests') {
      const body = name === 'huge' ? huge : manifest;
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    const file = join(store, 'blobs', ref!.replace(':', '-'));
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return void res.writeHead(404).end();
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    res.writeHead(range ? 206 : 200, {
      'content-length': end - start + 1,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((r) =>
    registry.listen(0, '127.0.0.1', () =>
      r({ server: registry, port: (registry.address() as AddressInfo).port }),
    ),
  );
}
