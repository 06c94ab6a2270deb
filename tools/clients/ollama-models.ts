// Reading a model from an Ollama server as the models tools do (model_show, models_running):
// shared with the inspection's models analyzer, which must say what those tools would say.
import type { ModelResponse } from 'ollama';
import type { OllamaInstance } from './ollama.js';

/** The facts of /api/show worth showing, from model_info's architecture-prefixed keys. */
export function modelFacts(show: {
  details?: {
    family?: string;
    families?: string[] | null;
    parameter_size?: string;
    quantization_level?: string;
    format?: string;
  };
  model_info?: Record<string, unknown> | Map<string, unknown>;
  capabilities?: string[];
  license?: string;
  parameters?: string;
  system?: string;
  template?: string;
}): {
  family: string;
  format: string;
  parameterSize: string;
  quantization: string;
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  capabilities: string[];
  license: string;
  parameters: Record<string, string[]>;
  system: string;
} {
  const info = show.model_info instanceof Map ? Object.fromEntries(show.model_info) : (show.model_info ?? {});
  const arch =
    typeof info['general.architecture'] === 'string' ? (info['general.architecture'] as string) : '';
  const num = (key: string): number | undefined => {
    const v = info[`${arch}.${key}`];
    return typeof v === 'number' ? v : undefined;
  };
  const parameters: Record<string, string[]> = {};
  for (const line of (show.parameters ?? '').split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const values = parameters[m[1]!] ?? [];
    values.push(m[2]!.replace(/^"(.*)"$/, '$1'));
    parameters[m[1]!] = values;
  }
  const license =
    (show.license ?? '')
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return {
    family: show.details?.family || arch || '?',
    format: show.details?.format ?? '',
    parameterSize: show.details?.parameter_size ?? '',
    quantization: show.details?.quantization_level ?? '',
    contextLength: num('context_length'),
    embeddingLength: num('embedding_length'),
    capabilities: show.capabilities ?? [],
    license: license.length > 200 ? `${license.slice(0, 199)}…` : license,
    parameters,
    system: show.system ?? '',
  };
}

/** What model_show reports of a model; throws the server's ToolError (not_found when it has no such model). */
export async function showModel(ollama: OllamaInstance, model: string) {
  const show = await ollama.client.show({ model }).catch((e: unknown) => {
    throw ollama.fail(e, `showing ${model}`);
  });
  return modelFacts(show as unknown as Parameters<typeof modelFacts>[0]);
}

/** The models a server holds in memory, as models_running lists them. */
export async function loadedModels(ollama: OllamaInstance): Promise<ModelResponse[]> {
  const running = await ollama.client.ps().catch((e: unknown) => {
    throw ollama.fail(e, 'listing loaded models');
  });
  return running.models;
}

/** The names of the loaded models, or undefined when the server would not say. */
export function loadedModelNames(ollama: OllamaInstance): Promise<string[] | undefined> {
  return loadedModels(ollama).then(
    (models) => models.map((m) => m.name),
    () => undefined,
  );
}
