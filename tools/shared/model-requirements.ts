// What Kubemate needs of the models it uses (the agent's chat model, the runbook embedding model)
// and whether a server's model meets it. One judgement, used by `kubemate ask --check` (through the
// pipeline) and by the `models` inspection (inside inspection_run), so both say the same thing.
import { canonicalModel, type ModelRequirement, type OllamaInstance } from '../clients/ollama.js';
import { loadedModelNames, showModel } from '../clients/ollama-models.js';
import { ToolError } from '../core/errors.js';

export type { ModelRequirement } from '../clients/ollama.js';

export interface ModelState {
  present: boolean;
  /** Undefined when the server would not say what is loaded. */
  loaded?: boolean;
  capabilities: string[];
  embeddingLength?: number;
}

export interface ModelAssessment {
  ok: boolean;
  problems: string[];
  storeDimension?: number;
  /** One line naming the role, model and server: what is wrong, or what was found. */
  message: string;
}

/** Whether a model Kubemate needs is there and able to do what Kubemate asks of it. */
export function assessModel(req: ModelRequirement, server: string, state: ModelState): ModelAssessment {
  const head = `${req.role} model ${req.model} on Ollama '${server}'`;
  if (!state.present) {
    return {
      ok: false,
      problems: ['missing'],
      message: `${head}: not on the server (neither pulled nor created); pull it from the internal registry (model_pull) or create it (model_create)`,
    };
  }
  const problems: string[] = [];
  const missing = req.needs.filter((c) => !state.capabilities.includes(c));
  if (missing.length)
    problems.push(
      `it cannot do ${missing.join(', ')} (capabilities: ${state.capabilities.join(', ') || 'none'})`,
    );
  const storeDimension = req.storeDimension?.();
  if (
    storeDimension !== undefined &&
    state.embeddingLength !== undefined &&
    storeDimension !== state.embeddingLength
  ) {
    problems.push(
      `it gives ${state.embeddingLength}-dimension vectors but the runbook store holds ${storeDimension}; re-ingest the runbooks (kubemate runbooks ingest) after changing models`,
    );
  }
  const loaded =
    state.loaded === true ? ', loaded' : state.loaded === false ? ', not loaded (it loads on first use)' : '';
  return {
    ok: problems.length === 0,
    problems,
    ...(storeDimension !== undefined ? { storeDimension } : {}),
    message: `${head}: ${
      problems.length
        ? problems.join('; ')
        : `present${loaded}, ${req.needs.join(' and ')} supported${
            storeDimension !== undefined ? `, ${state.embeddingLength} dimensions as the runbook store` : ''
          }`
    }`,
  };
}

/** Whether a model is among the loaded ones, however either is spelled. */
export function isLoaded(model: string, loaded: string[]): boolean {
  const want = canonicalModel(model);
  return loaded.some((n) => canonicalModel(n) === want);
}

/**
 * A model's state read from its server with the calls model_show and models_running make. A model
 * the server does not have is `present: false`; a server that fails otherwise throws its ToolError.
 */
export async function readModelState(
  ollama: OllamaInstance,
  model: string,
  loaded?: Promise<string[] | undefined>,
): Promise<ModelState> {
  let facts: Awaited<ReturnType<typeof showModel>>;
  try {
    facts = await showModel(ollama, model);
  } catch (e) {
    if (e instanceof ToolError && e.code === 'not_found') return { present: false, capabilities: [] };
    throw e;
  }
  const names = await (loaded ?? loadedModelNames(ollama));
  return {
    present: true,
    ...(names ? { loaded: isLoaded(model, names) } : {}),
    capabilities: facts.capabilities,
    ...(facts.embeddingLength !== undefined ? { embeddingLength: facts.embeddingLength } : {}),
  };
}
