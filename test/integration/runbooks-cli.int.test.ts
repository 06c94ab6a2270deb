// `kubemate runbooks …` as a user runs it: the built CLI in a fresh data dir, with no embedding
// server listening (a fresh machine without Ollama).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runKubemate } from '../support/cli.js';

const kubemate = runKubemate;

/** A loopback port nothing listens on: the embedding server is simply not there. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

let ollama: string;
beforeAll(async () => {
  ollama = `http://127.0.0.1:${await closedPort()}`;
});

function freshMachine(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'kubemate-home-'));
  return {
    ...baseEnv(),
    HOME: home,
    KUBEMATE_DATA_DIR: join(home, '.kubemate'),
    KUBEMATE_RUNBOOKS__EMBEDDING__URL: ollama,
    KUBEMATE_LOG__LEVEL: 'silent',
  };
}

describe('kubemate runbooks', () => {
  it('searches the shipped runbooks on a fresh machine with no Ollama, by keyword, and says so', async () => {
    const env = freshMachine();
    const run = await kubemate(
      ['runbooks', 'search', 'container', 'OOMKilled', 'exit code 137', '--limit', '2'],
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^2 runbook passages for "container OOMKilled exit code 137" \(keyword retrieval\)\./,
    );
    expect(run.stdout).toContain(
      `Notice: embedding server ${ollama} is unreachable (ECONNREFUSED): keyword retrieval only.`,
    );
    expect(run.stdout).toMatch(/^\[1\] kubemate\/[a-z-]+\.md › .+ \(lines \d+–\d+\)$/m);
    expect(run.stdout).toMatch(/^ {4}\| /m);

    const json = await kubemate(
      ['runbooks', 'search', 'what to check', '--alert', 'KubeNodeNotReady', '--tag', 'nodes', '--json'],
      env,
    );
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as {
      status: string;
      mode: string;
      passages: { source: string }[];
    };
    expect(result).toMatchObject({ status: 'success', mode: 'keyword' });
    expect(result.passages.length).toBeGreaterThan(0);
    expect(result.passages.every((p) => p.source === 'kubemate/node-notready.md')).toBe(true);
  });

  it('ingests a folder with plain progress lines and a summary, reports bad files, and lists documents', async () => {
    const env = freshMachine();
    const dir = join(mkdtempSync(join(tmpdir(), 'kubemate-cli-')), 'platform');
    mkdirSync(join(dir, 'network'), { recursive: true });
    writeFileSync(
      join(dir, 'network', 'mtu.md'),
      '---\ntitle: MTU black holes\ntags: [network]\n---\n# MTU black holes\n\nLarge packets vanish across the overlay; lower the CNI MTU below the underlay MTU.\n',
    );
    writeFileSync(join(dir, 'bad.md'), '---\ntags: {oops: 1}\n---\n# Bad\n');

    const first = await kubemate(['runbooks', 'ingest', dir, '--team', 'sre'], env);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(
      `note: embedding server ${ollama} is unreachable (ECONNREFUSED): keyword retrieval only`,
    );
    expect(first.stderr).toContain('added     platform/network/mtu.md');
    expect(first.stderr).toContain(
      'failed    platform/bad.md: invalid front matter: tags: expected a list of strings',
    );
    expect(first.stdout).toMatch(
      /^platform\/ from .+platform: 2 files: 1 added, 0 updated, 0 unchanged, 0 removed, 1 failed; 1 chunks written in [\d.]+ s \(embedding 0\.0 s, the rest [\d.]+ s\); keyword-only \(no embeddings\)$/m,
    );

    writeFileSync(join(dir, 'bad.md'), '# Fixed\n\nNow a fine runbook about conntrack table exhaustion.\n');
    const second = await kubemate(['runbooks', 'ingest', dir], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('2 files: 1 added, 0 updated, 1 unchanged, 0 removed, 0 failed');

    const found = await kubemate(['runbooks', 'search', 'overlay MTU packets', '--limit', '1'], env);
    expect(found.stdout).toContain('[1] platform/network/mtu.md › MTU black holes (lines 5–7)');

    const list = await kubemate(['runbooks', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^platform\/network\/mtu\.md +1 +\(keyword only\) +MTU black holes$/m);
    expect(list.stdout).toMatch(/^kubemate\/oomkilled\.md +\d+ +\(keyword only\) +OOMKilled$/m);

    const missing = await kubemate(['runbooks', 'ingest', join(dir, 'nope')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/kubemate: runbook folder .+nope does not exist/);
  });

  it('lists sources, searches one copy of a folder ingested under two prefixes, and removes a source', async () => {
    const env = freshMachine();
    const dir = join(mkdtempSync(join(tmpdir(), 'kubemate-cli-')), 'storage');
    mkdirSync(dir, { recursive: true });
    const word = `zq${Math.random().toString(36).slice(2, 8)}`;
    writeFileSync(
      join(dir, 'ceph.md'),
      `# Ceph OSD nearfull\n\nWhen the ${word} pool reports nearfull, rebalance before it reaches full.\n`,
    );
    expect((await kubemate(['runbooks', 'ingest', dir, '--prefix', 'team-a'], env)).code).toBe(0);
    expect((await kubemate(['runbooks', 'ingest', dir, '--prefix', 'team-b'], env)).code).toBe(0);

    const found = await kubemate(['runbooks', 'search', word, 'nearfull', '--json'], env);
    const passages = JSON.parse(found.stdout).passages as Array<{ source: string }>;
    expect(passages.filter((p) => /^team-[ab]\/ceph\.md$/.test(p.source))).toHaveLength(1);

    const sources = await kubemate(['runbooks', 'sources'], env);
    expect(sources.code).toBe(0);
    expect(sources.stdout).toMatch(/^team-a +1 +1 +0 +\d{4}-\d\d-\d\dT\S+ +\(ingested by hand\)$/m);
    expect(sources.stdout).toMatch(/^kubemate +\d+ +\d+ +0 +\S+ +shipped$/m);
    const json = JSON.parse((await kubemate(['runbooks', 'sources', '--json'], env)).stdout);
    expect(json.map((s: { prefix: string }) => s.prefix)).toEqual(['kubemate', 'team-a', 'team-b']);

    const removed = await kubemate(['runbooks', 'remove', 'team-a'], env);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed 1 document under team-a/\n' });
    const after = JSON.parse((await kubemate(['runbooks', 'sources', '--json'], env)).stdout);
    expect(after.map((s: { prefix: string }) => s.prefix)).toEqual(['kubemate', 'team-b']);

    const shipped = await kubemate(['runbooks', 'remove', 'kubemate'], env);
    expect(shipped.code).toBe(1);
    expect(shipped.stderr).toContain(
      "'kubemate' holds the runbooks Kubemate ships; set runbooks.includeShipped: false",
    );
    const unknown = await kubemate(['runbooks', 'remove', 'team-a'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      "no runbooks under the source 'team-a'; the sources are: kubemate, team-b",
    );
  });
});
