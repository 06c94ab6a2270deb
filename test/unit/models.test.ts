import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { ollamaInstances } from '../../app/models-config.js';
import { canonicalModel, OllamaSet } from '../../tools/clients/ollama.js';
import {
  diskTooSmall,
  formatBytes,
  manifestBytes,
  modelFacts,
  parseModelRef,
  registryAllowed,
  until,
} from '../../tools/models/facts.js';

const config = (env: Record<string, string>) =>
  loadConfig({ env: { KUBEMATE_DATA_DIR: '/nonexistent-kubemate-test', ...env } });

describe('model names', () => {
  it('reads registry, namespace, model and tag the way Ollama does', () => {
    expect(parseModelRef('llama3')).toEqual({
      registry: 'registry.ollama.ai',
      namespace: 'library',
      model: 'llama3',
      tag: 'latest',
    });
    expect(parseModelRef('team/m:1b')).toEqual({
      registry: 'registry.ollama.ai',
      namespace: 'team',
      model: 'm',
      tag: '1b',
    });
    expect(parseModelRef('registry.internal:5000/team/m:q4')).toEqual({
      registry: 'registry.internal:5000',
      namespace: 'team',
      model: 'm',
      tag: 'q4',
    });
    expect(canonicalModel('llama3')).toBe('llama3:latest');
    expect(canonicalModel('registry.internal:5000/team/m')).toBe('registry.internal:5000/team/m:latest');
  });

  it('spells one model one way, as Ollama resolves names (case-insensitive, default registry and namespace)', () => {
    // A copy or create to "Llama3.1:8B" would overwrite llama3.1:8b: the checks must see it as taken.
    for (const other of [
      'Llama3.1:8B',
      'library/llama3.1:8b',
      'registry.ollama.ai/library/llama3.1:8b',
      ' LLAMA3.1:8b ',
    ]) {
      expect(canonicalModel(other), other).toBe(canonicalModel('llama3.1:8b'));
    }
    expect(canonicalModel('Qwen2.5')).toBe('qwen2.5:latest');
    expect(canonicalModel('team/llama3.1:8b')).not.toBe(canonicalModel('llama3.1:8b'));
  });

  it('allows a registry only when listed with its exact port', () => {
    expect(registryAllowed('Registry.Internal:5000', ['registry.internal:5000'])).toBe(true);
    expect(registryAllowed('registry.internal:5001', ['registry.internal:5000'])).toBe(false);
    expect(registryAllowed('registry.ollama.ai', [])).toBe(false);
  });
});

describe('sizes and disk', () => {
  it('sums a manifest and refuses what does not fit with headroom', () => {
    expect(manifestBytes({ config: { digest: 'a', size: 100 }, layers: [{ digest: 'b', size: 900 }] })).toBe(
      1000,
    );
    expect(manifestBytes({})).toBeUndefined();
    expect(manifestBytes({ layers: [{ digest: 'b', size: -1 }] })).toBeUndefined();
    expect(diskTooSmall(1000, 1100)).toBe(false);
    expect(diskTooSmall(1000, 1099)).toBe(true);
    expect(formatBytes(253_000_000)).toBe('253 MB');
    expect(formatBytes(1_500_000_000)).toBe('1.5 GB');
    expect(formatBytes(10 ** 16)).toBe('10 PB');
  });

  it('says when a loaded model unloads', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(until('2026-12-07T10:04:00Z', now)).toBe('in 4m');
    expect(until('2026-12-07T09:59:30Z', now)).toBe('30s ago');
    expect(until('2318-08-30T00:00:00Z', now)).toBe('never');
  });
});

describe('model_show facts', () => {
  it('takes context and embedding length under the architecture prefix, and the first licence line', () => {
    const f = modelFacts({
      details: { family: 'bert', parameter_size: '23M', quantization_level: 'F16', format: 'gguf' },
      model_info: {
        'general.architecture': 'bert',
        'bert.context_length': 512,
        'bert.embedding_length': 384,
      },
      capabilities: ['embedding'],
      license: '\nApache License\nVersion 2.0',
      parameters: 'stop "<|end|>"\nstop "<eot>"\ntemperature 0',
    });
    expect(f).toMatchObject({
      family: 'bert',
      contextLength: 512,
      embeddingLength: 384,
      license: 'Apache License',
      parameters: { stop: ['<|end|>', '<eot>'], temperature: ['0'] },
    });
  });
});

describe('models.ollama configuration', () => {
  it('protects the agent and embedding models on the server they use, and only there', () => {
    const c = config({
      KUBEMATE_MODELS__OLLAMA: JSON.stringify([
        { name: 'a', url: 'http://localhost:11434', protect: ['keep:1'] },
        { name: 'b', url: 'http://gpu-2:11434' },
      ]),
      KUBEMATE_LLM__MODEL: 'qwen3:8b',
      KUBEMATE_RUNBOOKS__EMBEDDING__URL: 'http://gpu-2:11434',
    });
    const [a, b] = ollamaInstances(c);
    expect(a!.protect.map((p) => p.model)).toEqual(['keep:1', 'qwen3:8b']);
    expect(b!.protect.map((p) => p.model)).toEqual(['nomic-embed-text']);
    expect(a!.allowedRegistries).toEqual([]);
  });

  it('says what is wrong with a registry entry or a duplicate name', () => {
    expect(() =>
      config({
        KUBEMATE_MODELS__OLLAMA: JSON.stringify([
          { url: 'http://x:1', allowedRegistries: ['https://r:5000/v2'] },
        ]),
      }),
    ).toThrow(/registry host\[:port\] such as registry\.internal:5000/);
    expect(() =>
      config({ KUBEMATE_MODELS__OLLAMA: JSON.stringify([{ url: 'http://x:1' }, { url: 'http://y:1' }]) }),
    ).toThrow(/Ollama server names must be unique/);
    expect(() => config({ KUBEMATE_MODELS__OLLAMA: JSON.stringify([{ url: 'ftp://x' }]) })).toThrow(
      /http\(s\) URL/,
    );
  });

  it('picks a server by cluster or name and says what is configured otherwise', () => {
    const set = new OllamaSet(
      [
        {
          name: 'east',
          url: 'http://e:1',
          cluster: 'prod-east',
          timeoutSeconds: 1,
          pullTimeoutSeconds: 1,
          allowedRegistries: [],
          insecureRegistries: false,
          protect: [],
        },
        {
          name: 'lab',
          url: 'http://l:1',
          timeoutSeconds: 1,
          pullTimeoutSeconds: 1,
          allowedRegistries: [],
          insecureRegistries: false,
          protect: [],
        },
      ],
      () => 'lab-cluster',
    );
    expect(set.resolve().instance.name).toBe('lab');
    expect(set.resolve('prod-east')).toMatchObject({ cluster: 'prod-east' });
    expect(set.resolve('east').instance.name).toBe('east');
    expect(() => set.resolve('west')).toThrow(
      /no Ollama server is configured for 'west'; configured: east \(cluster prod-east\), lab/,
    );
    expect(() => new OllamaSet([]).resolve()).toThrow(/add one under models\.ollama/);
  });
});
