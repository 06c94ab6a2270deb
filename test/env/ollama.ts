// A real Ollama (built pinned by test/env/ollama.sh) on a free loopback port, with its own models
// folder under the test cache, and the two small models created over the HTTP API the way an
// operator brings a model into an air-gapped host: blobs first, then /api/create with `files`.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { testenvCacheRoot } from './prepare.js';

const here = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist([\\/]test[\\/]env)$/, '$1');

/** The chat model the tests use: Gemma 3 270M (Q4_K_M) with a template that offers tools. */
export const TEST_CHAT_MODEL = 'kubemate-gemma3:270m';
/** The embedding model: all-MiniLM-L6-v2, 384 dimensions. */
export const TEST_EMBED_MODEL = 'all-minilm:l6-v2';
export const TEST_EMBED_DIMENSIONS = 384;

/**
 * Gemma 270M is a small base model: it follows a plain "Question/Answer" layout, and two worked
 * examples of a tool call in the prompt are enough for it to answer with a call Ollama parses into
 * `tool_calls` (the template uses `.Tools`, which is what makes Ollama offer tools at all).
 */
export const GEMMA_TOOLS_TEMPLATE = readFileSync(path.join(here, 'ollama', 'gemma-tools.tmpl'), 'utf8');

export interface TestOllama {
  /** http://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

function run(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1);
      if (code === 0 && last) resolve(last);
      else reject(new Error(`test/env/${script} ${args.join(' ')} failed (exit ${code})`));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function api(url: string, p: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`ollama ${p} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Uploads a file as a blob unless the server has it; returns its digest. */
export async function pushBlob(url: string, file: string): Promise<string> {
  const digest = `sha256:${await sha256File(file)}`;
  const head = await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return digest;
  const res = await fetch(`${url}/api/blobs/${digest}`, {
    method: 'POST',
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    headers: { 'content-length': String(statSync(file).size) },
    duplex: 'half',
  } as RequestInit);
  if (!res.ok) throw new Error(`uploading ${path.basename(file)} failed: ${res.status} ${await res.text()}`);
  return digest;
}

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, path.join(prefix, e.name)) : [path.join(prefix, e.name)],
  );
}

/** Creates the two test models (instant when they exist: blobs are checked by digest first). */
export async function createTestModels(url: string, modelsDir: string): Promise<void> {
  const have = (await (await fetch(`${url}/api/tags`)).json()) as { models: Array<{ name: string }> };
  const names = new Set(have.models.map((m) => m.name));
  if (!names.has(TEST_CHAT_MODEL)) {
    const gguf = path.join(modelsDir, 'gemma-3-270m-q4_k_m.gguf');
    await api(url, '/api/create', {
      model: TEST_CHAT_MODEL,
      files: { 'gemma-3-270m-q4_k_m.gguf': await pushBlob(url, gguf) },
      template: GEMMA_TOOLS_TEMPLATE,
      parameters: { temperature: 0, num_ctx: 2048, stop: ['\nQuestion:', '\nResult:'] },
      license: 'Gemma Terms of Use (https://ai.google.dev/gemma/terms)',
      stream: false,
    });
  }
  if (!names.has(TEST_EMBED_MODEL)) {
    const dir = path.join(modelsDir, 'all-minilm');
    const files: Record<string, string> = {};
    // Keep 1_Pooling/config.json as a path: flattened, Ollama cannot tell the architecture.
    for (const rel of filesUnder(dir))
      files[rel.split(path.sep).join('/')] = await pushBlob(url, path.join(dir, rel));
    await api(url, '/api/create', { model: TEST_EMBED_MODEL, files, stream: false });
  }
}

/** Builds Ollama and prepares the model files if not cached; returns the binary and the model folder. */
export async function ollamaInstall(): Promise<{ binary: string; modelsDir: string }> {
  const binary = await run('ollama.sh', ['build']);
  const modelsDir = await run('ollama.sh', ['models']);
  return { binary, modelsDir };
}

/**
 * Starts `ollama serve` on a free loopback port. Its models folder is shared by runs on this machine
 * (blobs are content-addressed; tests name their own copies), so the models are created once.
 */
export async function startOllama(opts: { timeoutMs?: number } = {}): Promise<TestOllama> {
  const { binary, modelsDir } = await ollamaInstall();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const home = path.join(testenvCacheRoot(), 'ollama-home');
  const models = path.join(testenvCacheRoot(), 'ollama-store');
  mkdirSync(home, { recursive: true });
  mkdirSync(models, { recursive: true });
  const logDir = path.join(testenvCacheRoot(), 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, `ollama-${port}.log`), 'w');
  const child: ChildProcess = spawn(binary, ['serve'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      OLLAMA_HOST: `127.0.0.1:${port}`,
      OLLAMA_MODELS: models,
      OLLAMA_NUM_PARALLEL: '1',
      OLLAMA_MAX_LOADED_MODELS: '2',
      OLLAMA_KEEP_ALIVE: '10m',
      // Never reach out: no update checks, and pulls only where a test points them (loopback).
      OLLAMA_NOPRUNE: '1',
    },
    stdio: ['ignore', log, log],
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited)
      throw new Error(`ollama serve exited at start; see ${path.join(logDir, `ollama-${port}.log`)}`);
    try {
      const res = await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ollama serve did not answer on ${url} within ${opts.timeoutMs ?? 60_000} ms`);
    }
    await sleep(200);
  }
  await createTestModels(url, modelsDir);
  return {
    url,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
