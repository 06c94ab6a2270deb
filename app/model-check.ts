import { join } from 'node:path';
import { DEFAULT_OLLAMA_URL } from '../agent/config.js';
import type { Principal } from '../policies/types.js';
import { embeddedStoreDimension as storeDimension } from '../rag/store/embedded.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import type { Config } from './config.js';
import { sameServer } from './models-config.js';

/** One line of `kubemate ask --check` about a model Kubemate needs, found with the models tools. */
export interface ModelCheck {
  role: 'chat' | 'embedding';
  model: string;
  server: string;
  ok: boolean;
  present?: boolean;
  loaded?: boolean;
  capabilities?: string[];
  embeddingLength?: number;
  storeDimension?: number;
  message: string;
}

/** The dimension the embedded runbook store was built with, or undefined when it has none yet. */
export function embeddedStoreDimension(dataDir: string): number | undefined {
  return storeDimension(join(dataDir, 'runbooks.db'));
}

/**
 * Checks the agent's chat model and the runbook embedding model on the servers configured under
 * models.ollama, through the same tools (and policy, and audit) as everyone: there, loaded,
 * capable of what Kubemate asks of them, and, for embeddings, of the dimension the runbook store holds.
 * A model whose server is not under models.ollama is left to the provider's own check.
 */
export async function modelChecks(
  pipeline: ToolPipeline,
  principal: Principal,
  config: Config,
): Promise<ModelCheck[]> {
  const wanted: Array<{ role: ModelCheck['role']; model: string; url: string; needs: string[] }> = [];
  if (config.llm.provider === 'ollama') {
    wanted.push({
      role: 'chat',
      model: config.llm.model,
      url: config.llm.url ?? DEFAULT_OLLAMA_URL,
      needs: ['completion', 'tools'],
    });
  }
  const embed = config.runbooks.embedding;
  if (embed.enabled)
    wanted.push({ role: 'embedding', model: embed.model, url: embed.url, needs: ['embedding'] });
  const out: ModelCheck[] = [];
  for (const w of wanted) {
    const server = config.models.ollama.find((o) => sameServer(o.url, w.url));
    if (!server) continue;
    const base = { role: w.role, model: w.model, server: server.name };
    const shown = await pipeline.invoke('model_show', { cluster: server.name, model: w.model }, principal);
    if (shown.status !== 'success') {
      out.push({
        ...base,
        ok: false,
        present: shown.errorCode === 'not_found' ? false : undefined,
        message: `${w.role} model ${w.model} on Ollama '${server.name}': ${shown.text}`,
      } as ModelCheck);
      continue;
    }
    const s = shown.structured as { capabilities: string[]; embeddingLength?: number };
    const running = await pipeline.invoke('models_running', { cluster: server.name }, principal);
    const names = ((running.structured as { items?: Array<{ name: string }> } | undefined)?.items ?? []).map(
      (m) => m.name,
    );
    const loaded =
      running.status === 'success' || running.status === 'no_data'
        ? names.some((n) => n === w.model || n === `${w.model}:latest`)
        : undefined;
    const missing = w.needs.filter((c) => !s.capabilities.includes(c));
    const problems: string[] = [];
    if (missing.length)
      problems.push(
        `it cannot do ${missing.join(', ')} (capabilities: ${s.capabilities.join(', ') || 'none'})`,
      );
    let storeDimension: number | undefined;
    if (w.role === 'embedding' && config.runbooks.store.kind === 'embedded') {
      storeDimension = embeddedStoreDimension(config.dataDir);
      if (
        storeDimension !== undefined &&
        s.embeddingLength !== undefined &&
        storeDimension !== s.embeddingLength
      ) {
        problems.push(
          `it gives ${s.embeddingLength}-dimension vectors but the runbook store holds ${storeDimension}; re-ingest the runbooks (kubemate runbooks ingest) after changing models`,
        );
      }
    }
    out.push({
      ...base,
      ok: problems.length === 0,
      present: true,
      ...(loaded !== undefined ? { loaded } : {}),
      capabilities: s.capabilities,
      ...(s.embeddingLength !== undefined ? { embeddingLength: s.embeddingLength } : {}),
      ...(storeDimension !== undefined ? { storeDimension } : {}),
      message: `${w.role} model ${w.model} on Ollama '${server.name}': ${
        problems.length
          ? problems.join('; ')
          : `present${loaded ? ', loaded' : loaded === false ? ', not loaded (it loads on first use)' : ''}, ${w.needs.join(' and ')} supported${
              storeDimension !== undefined ? `, ${s.embeddingLength} dimensions as the runbook store` : ''
            }`
      }`,
    });
  }
  return out;
}
