import type { Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { assessModel, isLoaded } from '../tools/shared/model-requirements.js';
import type { Config } from './config.js';
import { modelRequirements, sameServer } from './models-config.js';

export { embeddedStoreDimension } from './models-config.js';

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

/**
 * Checks the agent's chat model and the runbook embedding model on the servers configured under
 * models.ollama, through the same tools (and policy, and audit) as everyone: there, loaded,
 * capable of what Kubemate asks of them, and, for embeddings, of the dimension the runbook store
 * holds. The judgement is the one the `models` inspection makes (tools/models/requirements.ts).
 * A model whose server is not under models.ollama is left to the provider's own check.
 */
export async function modelChecks(
  pipeline: ToolPipeline,
  principal: Principal,
  config: Config,
): Promise<ModelCheck[]> {
  const out: ModelCheck[] = [];
  for (const w of modelRequirements(config)) {
    const server = config.models.ollama.find((o) => sameServer(o.url, w.url));
    if (!server) continue;
    const base = { role: w.role, model: w.model, server: server.name };
    const shown = await pipeline.invoke('model_show', { cluster: server.name, model: w.model }, principal);
    if (shown.status !== 'success') {
      out.push({
        ...base,
        ok: false,
        ...(shown.errorCode === 'not_found' ? { present: false } : {}),
        message: `${w.role} model ${w.model} on Ollama '${server.name}': ${shown.text}`,
      });
      continue;
    }
    const s = shown.structured as { capabilities: string[]; embeddingLength?: number };
    const running = await pipeline.invoke('models_running', { cluster: server.name }, principal);
    const names = ((running.structured as { items?: Array<{ name: string }> } | undefined)?.items ?? []).map(
      (m) => m.name,
    );
    const loaded =
      running.status === 'success' || running.status === 'no_data' ? isLoaded(w.model, names) : undefined;
    const judged = assessModel(w, server.name, {
      present: true,
      ...(loaded !== undefined ? { loaded } : {}),
      capabilities: s.capabilities,
      ...(s.embeddingLength !== undefined ? { embeddingLength: s.embeddingLength } : {}),
    });
    out.push({
      ...base,
      ok: judged.ok,
      present: true,
      ...(loaded !== undefined ? { loaded } : {}),
      capabilities: s.capabilities,
      ...(s.embeddingLength !== undefined ? { embeddingLength: s.embeddingLength } : {}),
      ...(judged.storeDimension !== undefined ? { storeDimension: judged.storeDimension } : {}),
      message: judged.message,
    });
  }
  return out;
}
