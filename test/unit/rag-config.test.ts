import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config.js';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('runbooks configuration', () => {
  it('defaults to the embedded store, the shipped runbooks and nomic-embed-text on the local Ollama', () => {
    expect(loadConfig({ env: {} }).runbooks).toEqual({
      dirs: [],
      includeShipped: true,
      store: { kind: 'embedded' },
      embedding: {
        enabled: true,
        url: 'http://127.0.0.1:11434',
        model: 'nomic-embed-text',
        batchSize: 32,
        timeoutSeconds: 60,
      },
    });
  });

  it('takes Milvus and folders with prefixes and teams', () => {
    const cfg = loadConfig({
      env: {
        KUBEMATE_RUNBOOKS__STORE:
          '{kind: milvus, address: "milvus.ops:19530", collection: runbooks, team: payments}',
        KUBEMATE_RUNBOOKS__DIRS:
          '[/srv/runbooks/platform, {path: /srv/other/runbooks, prefix: other, team: sre}]',
      },
    });
    expect(cfg.runbooks.store).toEqual({
      kind: 'milvus',
      address: 'milvus.ops:19530',
      collection: 'runbooks',
      team: 'payments',
    });
    expect(cfg.runbooks.dirs).toEqual([
      '/srv/runbooks/platform',
      { path: '/srv/other/runbooks', prefix: 'other', team: 'sre' },
    ]);
  });

  it('names the key and the expected form when a value is wrong', () => {
    expect(errorOf({ KUBEMATE_RUNBOOKS__STORE: '{kind: pinecone}' })).toContain(
      'runbooks.store.kind: expected { kind: embedded } or { kind: milvus, address: host:port, … }; given "pinecone"',
    );
    expect(errorOf({ KUBEMATE_RUNBOOKS__STORE: '{kind: milvus}' })).toContain(
      'runbooks.store.address: must be host:port or an http(s):// URL, e.g. 127.0.0.1:19530; given nothing',
    );
    expect(errorOf({ KUBEMATE_RUNBOOKS__EMBEDDING__URL: 'ftp://x' })).toContain(
      'runbooks.embedding.url: must be an http(s) URL such as http://127.0.0.1:11434; given "ftp://x" (from KUBEMATE_RUNBOOKS__EMBEDDING__URL)',
    );
    expect(errorOf({ KUBEMATE_RUNBOOKS__EMBEDDING__BATCH_SIZE: '0' })).toContain(
      'runbooks.embedding.batchSize',
    );
    expect(errorOf({ KUBEMATE_RUNBOOKS__DIRS: '[42]' })).toContain(
      'runbooks.dirs.0: expected a folder path, or { path, prefix?, team? }; given 42',
    );
  });

  it('refuses two folders with one source prefix, and the prefix reserved for shipped runbooks', () => {
    expect(errorOf({ KUBEMATE_RUNBOOKS__DIRS: '[/a/runbooks, /b/runbooks]' })).toContain(
      "runbooks.dirs.1: runbooks.dirs.0 already uses the source prefix 'runbooks'; give one of them { path, prefix }",
    );
    expect(errorOf({ KUBEMATE_RUNBOOKS__DIRS: '[{path: /x, prefix: kubemate}]' })).toContain(
      "runbooks.dirs.0.prefix: the source prefix 'kubemate' is reserved for the shipped runbooks",
    );
  });
});
