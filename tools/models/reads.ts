import type { ModelResponse } from 'ollama';
import { z } from 'zod';
import { loadedModels, showModel } from '../clients/ollama-models.js';
import { defineTool, listOutput, type ToolDef } from '../core/types.js';
import { clusterArg, modelArg, plural, readAnnotations, readPermission } from './common.js';
import { formatBytes, until } from './facts.js';

const modelsList = defineTool({
  name: 'models_list',
  title: 'Models: List',
  description:
    'List the models an Ollama server has on disk: name, family, parameter size, quantisation, size and when each was last changed. Call it to see what can be run or deleted, or to check that a model the agent needs is there.',
  input: z.object({
    cluster: clusterArg,
    match: z.string().min(1).max(100).optional().describe('Only models whose name contains this text'),
  }),
  output: listOutput({
    total: z.number(),
    totalBytes: z.number(),
    items: z.array(
      z.object({
        name: z.string(),
        family: z.string(),
        parameterSize: z.string(),
        quantization: z.string(),
        sizeBytes: z.number(),
        modifiedAt: z.string(),
        digest: z.string(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const listed = await ollama.client.list().catch((e: unknown) => {
      throw ollama.fail(e, 'listing models');
    });
    const models = listed.models
      .filter((m) => !args.match || m.name.includes(args.match))
      .sort((a, b) => a.name.localeCompare(b.name));
    const totalBytes = models.reduce((a, m) => a + m.size, 0);
    return {
      kind: 'list',
      status: models.length ? 'success' : 'no_data',
      header: `${plural(models.length, 'model')}${args.match ? ` matching ${JSON.stringify(args.match)}` : ''} on ${ollama.label}, ${formatBytes(totalBytes)} on disk.`,
      columns: ['NAME', 'FAMILY', 'PARAMS', 'QUANT', 'SIZE', 'MODIFIED'],
      items: models,
      row: (m: ModelResponse) => [
        m.name,
        m.details?.family ?? '',
        m.details?.parameter_size ?? '',
        m.details?.quantization_level ?? '',
        formatBytes(m.size),
        new Date(m.modified_at).toISOString().slice(0, 16).replace('T', ' '),
      ],
      toStructured: (m: ModelResponse) => ({
        name: m.name,
        family: m.details?.family ?? '',
        parameterSize: m.details?.parameter_size ?? '',
        quantization: m.details?.quantization_level ?? '',
        sizeBytes: m.size,
        modifiedAt: new Date(m.modified_at).toISOString(),
        digest: m.digest,
      }),
      narrow: 'give match to filter by name',
      totals: { total: models.length, totalBytes },
    };
  },
});

const modelsRunning = defineTool({
  name: 'models_running',
  title: 'Models: Running',
  description:
    'List the models an Ollama server has loaded in memory now, with the memory each holds (and how much of it is GPU memory) and when each will be unloaded. Call it when the server is slow or out of memory, or before model_unload.',
  input: z.object({ cluster: clusterArg }),
  output: listOutput({
    total: z.number(),
    totalBytes: z.number(),
    items: z.array(
      z.object({
        name: z.string(),
        sizeBytes: z.number(),
        vramBytes: z.number(),
        expiresAt: z.string(),
        parameterSize: z.string(),
        quantization: z.string(),
      }),
    ),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const models = [...(await loadedModels(ollama))].sort((a, b) => b.size - a.size);
    const totalBytes = models.reduce((a, m) => a + m.size, 0);
    return {
      kind: 'list',
      status: models.length ? 'success' : 'no_data',
      header: `${plural(models.length, 'model')} loaded on ${ollama.label}, holding ${formatBytes(totalBytes)} of memory.`,
      columns: ['NAME', 'MEMORY', 'GPU', 'UNLOADS', 'PARAMS', 'QUANT'],
      items: models,
      row: (m: ModelResponse) => [
        m.name,
        formatBytes(m.size),
        m.size ? `${Math.round((100 * m.size_vram) / m.size)}%` : '0%',
        until(m.expires_at),
        m.details?.parameter_size ?? '',
        m.details?.quantization_level ?? '',
      ],
      toStructured: (m: ModelResponse) => ({
        name: m.name,
        sizeBytes: m.size,
        vramBytes: m.size_vram,
        expiresAt: new Date(m.expires_at).toISOString(),
        parameterSize: m.details?.parameter_size ?? '',
        quantization: m.details?.quantization_level ?? '',
      }),
      narrow: 'nothing to narrow: a server holds few models at once',
      totals: { total: models.length, totalBytes },
    };
  },
});

const modelShow = defineTool({
  name: 'model_show',
  title: 'Model: Show',
  description:
    'Show one model on an Ollama server: family, parameter count, quantisation, context length, embedding length, capabilities (completion, tools, embedding, vision, thinking), its parameters and system prompt, and the first line of its licence. Call it to check that a model can do what is asked of it (tool calls for the agent, embeddings for runbooks).',
  input: z.object({ cluster: clusterArg, model: modelArg.describe('The model, e.g. "llama3.1:8b"') }),
  output: z.object({
    model: z.string(),
    family: z.string(),
    format: z.string(),
    parameterSize: z.string(),
    quantization: z.string(),
    contextLength: z.number().optional(),
    embeddingLength: z.number().optional(),
    capabilities: z.array(z.string()),
    parameters: z.record(z.string(), z.array(z.string())),
    system: z.string(),
    license: z.string(),
  }),
  annotations: readAnnotations,
  permission: readPermission,
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const f = await showModel(ollama, args.model);
    const params = Object.entries(f.parameters)
      .map(([k, v]) => `${k}=${v.join(',')}`)
      .join(' ');
    const lines = [
      `${args.model} on ${ollama.label}`,
      `family ${f.family}${f.format ? ` (${f.format})` : ''}, ${f.parameterSize || '? parameters'}, quantisation ${f.quantization || '?'}`,
      `context length ${f.contextLength ?? '?'}${f.embeddingLength ? `, embedding length ${f.embeddingLength}` : ''}`,
      `capabilities: ${f.capabilities.join(', ') || 'none reported'}`,
      ...(params ? [`parameters: ${params}`] : []),
      ...(f.system
        ? [
            `system prompt: ${JSON.stringify(f.system.length > 300 ? `${f.system.slice(0, 299)}…` : f.system)}`,
          ]
        : []),
      `licence: ${f.license || 'none stated'}`,
    ];
    return {
      kind: 'doc',
      text: lines.join('\n'),
      structured: {
        model: args.model,
        family: f.family,
        format: f.format,
        parameterSize: f.parameterSize,
        quantization: f.quantization,
        ...(f.contextLength !== undefined ? { contextLength: f.contextLength } : {}),
        ...(f.embeddingLength !== undefined ? { embeddingLength: f.embeddingLength } : {}),
        capabilities: f.capabilities,
        parameters: f.parameters,
        system: f.system,
        license: f.license,
      },
    };
  },
});

export const readTools: ToolDef[] = [modelsList, modelsRunning, modelShow];
