import { DEFAULT_OLLAMA_URL } from '../agent/config.js';
import type { OllamaInstanceOptions } from '../tools/clients/ollama.js';
import type { Config } from './config.js';

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
    };
  });
}
