// The models inspection: Kubemate's own models (the agent's chat model, the runbook embedding
// model) on the inspected cluster's Ollama servers, judged as `kubemate ask --check` judges them
// (tools/models/requirements.ts), read with the calls the models tools make.
import type { OllamaInstance } from '../clients/ollama.js';
import { loadedModelNames } from '../clients/ollama-models.js';
import { assessModel, readModelState } from '../shared/model-requirements.js';

/** An analyzer's observation (analyzers.ts), spelled out here so the two modules do not import each other. */
interface Observation {
  subject: string;
  value: number;
  detail?: string;
}

/** The Ollama servers an inspection may read, or why it reads none (not configured, not permitted). */
export interface ModelServers {
  servers: OllamaInstance[];
  unavailable?: string;
}

/** Thrown by an analyzer that cannot run here: the check is skipped, saying why, and not scored. */
export class SkipCheck extends Error {}

export async function ollamaModels(models: ModelServers | undefined): Promise<Observation[]> {
  if (!models || models.unavailable || !models.servers.length) {
    throw new SkipCheck(
      models?.unavailable ?? 'no Ollama server is configured for this cluster (models.ollama)',
    );
  }
  const checked = models.servers.filter((s) => s.options.requires?.length);
  if (!checked.length) {
    throw new SkipCheck(
      `Kubemate uses no model from this cluster's Ollama servers (${models.servers.map((s) => s.name).join(', ')}): llm.url and runbooks.embedding.url name none of them`,
    );
  }
  const out: Observation[] = [];
  for (const server of checked) {
    // What is loaded is read once per server, as models_running reads it.
    const loaded = loadedModelNames(server);
    for (const req of server.options.requires ?? []) {
      const subject = `ollama/${server.name}/${req.model}`;
      try {
        const judged = assessModel(req, server.name, await readModelState(server, req.model, loaded));
        if (!judged.ok) out.push({ subject, value: 1, detail: judged.message });
      } catch (e) {
        out.push({
          subject,
          value: 1,
          detail: `${req.role} model ${req.model} could not be checked: ${(e as Error).message}`,
        });
      }
    }
  }
  return out;
}
