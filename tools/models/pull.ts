import { statfs } from 'node:fs/promises';
import { z } from 'zod';
import type { OllamaInstance } from '../clients/ollama.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { clusterArg, modelArg, writePermission } from './common.js';
import {
  diskTooSmall,
  formatBytes,
  manifestBytes,
  parseModelRef,
  type RegistryManifest,
  registryAllowed,
} from './facts.js';

/** A pull streams for as long as the download takes; each server bounds it by its pullTimeoutSeconds. */
const PULL_CEILING_MS = 6 * 3600 * 1000;

function checkRegistry(ollama: OllamaInstance, model: string): string {
  const { registry } = parseModelRef(model);
  const allowed = ollama.options.allowedRegistries;
  if (!registryAllowed(registry, allowed)) {
    throw new ToolError(
      'forbidden',
      `${ollama.label} may not pull from '${registry}': ${
        allowed.length
          ? `allowed registries are ${allowed.join(', ')}`
          : 'no registry is allowed (models.ollama[].allowedRegistries is empty)'
      }; name the model with an allowed registry host (e.g. "${allowed[0] ?? 'registry.internal:5000'}/team/${parseModelRef(model).model}"), or add the registry to allowedRegistries`,
    );
  }
  return registry;
}

/**
 * How much the pull downloads, from the registry's manifest (the same request Ollama makes first),
 * or undefined when the registry does not say.
 */
async function pullSize(
  ollama: OllamaInstance,
  model: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const ref = parseModelRef(model);
  const scheme = ollama.options.insecureRegistries ? 'http' : 'https';
  const url = `${scheme}://${ref.registry}/v2/${ref.namespace}/${ref.model}/manifests/${ref.tag}`;
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(ollama.options.timeoutSeconds * 1000)]),
      redirect: 'error',
    });
    if (!res.ok) return undefined;
    const text = await res.text();
    if (text.length > 1_000_000) return undefined;
    return manifestBytes(JSON.parse(text) as RegistryManifest);
  } catch {
    return undefined;
  }
}

/** Free bytes where the server keeps models, when Kubemate can see that folder. */
async function freeBytes(ollama: OllamaInstance): Promise<number | undefined> {
  const dir = ollama.options.modelsDir;
  if (!dir) return undefined;
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Refuses a pull the disk is known too small for; says what is known otherwise. */
async function diskCheck(ollama: OllamaInstance, model: string, signal: AbortSignal): Promise<string> {
  const [need, free] = await Promise.all([pullSize(ollama, model, signal), freeBytes(ollama)]);
  if (need !== undefined && free !== undefined && diskTooSmall(need, free)) {
    throw new ToolError(
      'forbidden',
      `not pulling ${model}: it downloads ${formatBytes(need)} but only ${formatBytes(free)} is free in ${ollama.label}'s models folder (10% headroom kept); delete unused models (models_list, model_delete) or free disk first`,
    );
  }
  return `${need !== undefined ? `download ${formatBytes(need)}` : 'download size unknown (the registry did not say)'}, ${
    free !== undefined ? `${formatBytes(free)} free` : 'free disk unknown (no modelsDir configured)'
  }`;
}

const modelPull = defineTool({
  name: 'model_pull',
  title: 'Model: Pull',
  description:
    'Download a model onto an Ollama server from a registry the configuration allows (an internal registry, named in the model: "registry.internal:5000/team/model:tag"). Reports progress while it downloads. Refused when the registry is not allowed, or when the download is known not to fit on the disk. Needs approval.',
  input: z.object({
    cluster: clusterArg,
    model: modelArg.describe('The model with its registry host: "registry.internal:5000/team/llama3.1:8b"'),
  }),
  output: z.object({ model: z.string(), registry: z.string(), status: z.string(), bytes: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  permission: writePermission,
  timeoutMs: PULL_CEILING_MS,
  async preview(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const registry = checkRegistry(ollama, args.model);
    return `pull ${args.model} from ${registry} onto ${ollama.label} (${await diskCheck(ollama, args.model, ctx.signal)}).`;
  },
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const registry = checkRegistry(ollama, args.model);
    const disk = await diskCheck(ollama, args.model, ctx.signal);
    let bytes = 0;
    let status = '';
    try {
      const stream = await ollama.streamClient.pull({
        model: args.model,
        stream: true,
        insecure: ollama.options.insecureRegistries,
      });
      const stop = () => stream.abort();
      ctx.signal.addEventListener('abort', stop, { once: true });
      try {
        // Layers come one after another; progress is reported over the whole download.
        const totals = new Map<string, { total: number; completed: number }>();
        for await (const p of stream) {
          status = p.status;
          if (p.digest && p.total) totals.set(p.digest, { total: p.total, completed: p.completed ?? 0 });
          const all = [...totals.values()];
          const total = all.reduce((a, t) => a + t.total, 0);
          const done = all.reduce((a, t) => a + t.completed, 0);
          bytes = total;
          ctx.progress?.({ progress: done, ...(total ? { total } : {}), message: p.status });
        }
      } finally {
        ctx.signal.removeEventListener('abort', stop);
      }
    } catch (e) {
      if (ctx.signal.aborted)
        throw new ToolError(
          'timeout',
          `pulling ${args.model} onto ${ollama.label} was stopped before it finished`,
        );
      throw ollama.fail(e, `pulling ${args.model} from ${registry}`);
    }
    return {
      kind: 'doc',
      text: `pulled ${args.model} from ${registry} onto ${ollama.label}: ${status || 'done'} (${formatBytes(bytes)}; before the pull: ${disk}).`,
      structured: { model: args.model, registry, status, bytes },
    };
  },
});

export const pullTools: ToolDef[] = [modelPull];
