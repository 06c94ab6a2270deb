import { join } from 'node:path';
import { DEFAULT_OLLAMA_URL } from '../agent/config.js';
import { embeddedStoreDimension as storeDimension } from '../rag/store/embedded.js';
import type { ModelRequirement, OllamaInstanceOptions } from '../tools/clients/ollama.js';
import type { Config } from './config.js';

/** The dimension the embedded runbook store was built with, or undefined when it has none yet. */
export function embeddedStoreDimension(dataDir: string): number | undefined {
  return storeDimension(join(dataDir, 'runbooks.db'));
}

/** The models Kubemate itself uses from Ollama, with the server each is on and what it needs of it. */
export function modelRequirements(config: Config): Array<ModelRequirement & { url: string }> {
  const out: Array<ModelRequirement & { url: string }> = [];
  if (config.llm.provider === 'ollama') {
    out.push({
      role: 'chat',
      model: config.llm.model,
      url: config.llm.url ?? DEFAULT_OLLAMA_URL,
      needs: ['completion', 'tools'],
    });
  }
  const embed = config.runbooks.embedding;
  if (embed.enabled) {
    out.push({
      role: 'embedding',
      model: embed.model,
      url: embed.url,
      needs: ['embedding'],
      ...(config.runbooks.store.kind === 'embedded'
        ? { storeDimension: () => embeddedStoreDimension(config.dataDir) }
        : {}),
    });
  }
  return out;
}

/** Whether two URLs name the same server. */
export function sameServer(a: string, b: string): boolean {
  return origin(a) === origin(b);
}

/** The origin of a URL, for telling whether two settings name the same server. */
function origin(url: string): string {
  try {
    const u = new URL(url);
    // 127.0.0.1 and localhost are one server to the people configuring them.
    return `${u.protocol}//${u.hostname === 'localhost' ? '127.0.0.1' : u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

/**
 * The Ollama servers the models toolset manages, each with the models Kubemate itself needs from
 * it (the agent's chat model, the runbook embedding model), which model_delete refuses without force.
 */
export function ollamaInstances(config: Config): OllamaInstanceOptions[] {
  const llmUrl = config.llm.provider === 'ollama' ? (config.llm.url ?? DEFAULT_OLLAMA_URL) : undefined;
  const embed = config.runbooks.embedding;
  return config.models.ollama.map((o) => {
    const protect = o.protect.map((model) => ({
      model,
      why: 'listed under protect in this server’s configuration',
    }));
    if (llmUrl && origin(llmUrl) === origin(o.url)) {
      protect.push({ model: config.llm.model, why: 'the model the agent is configured to use (llm.model)' });
    }
    if (embed.enabled && origin(embed.url) === origin(o.url)) {
      protect.push({
        model: embed.model,
        why: 'the model runbook embeddings are configured to use (runbooks.embedding.model)',
      });
    }
    return {
      name: o.name,
      url: o.url,
      ...(o.cluster ? { cluster: o.cluster } : {}),
      ...(o.headers ? { headers: o.headers } : {}),
      timeoutSeconds: o.timeoutSeconds,
      pullTimeoutSeconds: o.pullTimeoutSeconds,
      allowedRegistries: o.allowedRegistries,
      insecureRegistries: o.insecureRegistries,
      ...(o.modelsDir ? { modelsDir: o.modelsDir } : {}),
      ...(o.importDir ? { importDir: o.importDir } : {}),
      protect,
      requires: modelRequirements(config)
        .filter((r) => origin(r.url) === origin(o.url))
        .map(({ url: _url, ...r }) => r),
    };
  });
}
