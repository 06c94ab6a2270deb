import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalModel, type OllamaInstance } from '../clients/ollama.js';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolContext, type ToolDef } from '../core/types.js';
import { adminPermission, clusterArg, modelArg, writePermission } from './common.js';
import { formatBytes } from './facts.js';

/** The model as the server lists it, or a not_found error naming what is there. */
async function existing(ollama: OllamaInstance, model: string) {
  const listed = await ollama.client.list().catch((e: unknown) => {
    throw ollama.fail(e, 'listing models');
  });
  const want = canonicalModel(model);
  const hit = listed.models.find((m) => canonicalModel(m.name) === want);
  if (!hit) {
    const names = listed.models.map((m) => m.name);
    throw new ToolError(
      'not_found',
      `no model '${model}' on ${ollama.label}${names.length ? `; it has ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` : '; it has no models'}`,
    );
  }
  return hit;
}

const writeAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

const modelDelete = defineTool({
  name: 'model_delete',
  title: 'Model: Delete',
  description:
    "Delete a model from an Ollama server's disk. Refused for the model the agent or the runbook embeddings are configured to use, unless force is true (they stop working until it is pulled again). Needs approval.",
  input: z.object({
    cluster: clusterArg,
    model: modelArg,
    force: z.boolean().default(false).describe('Delete even a model Kubemate itself is configured to use'),
  }),
  output: z.object({ model: z.string(), freedBytes: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  permission: adminPermission,
  async preview(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const m = await existing(ollama, args.model);
    const why = ollama.protectedReason(args.model);
    return `delete ${m.name} (${formatBytes(m.size)}) from ${ollama.label}${why ? `; it is ${why}${args.force ? ', and force is set: that stops working' : ' (refused without force)'}` : ''}.`;
  },
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const why = ollama.protectedReason(args.model);
    if (why && !args.force) {
      throw new ToolError(
        'forbidden',
        `not deleting ${args.model} from ${ollama.label}: it is ${why}; pass force: true if that is meant (it stops working until the model is pulled again)`,
      );
    }
    const m = await existing(ollama, args.model);
    await ollama.client.delete({ model: m.name }).catch((e: unknown) => {
      throw ollama.fail(e, `deleting ${m.name}`);
    });
    return {
      kind: 'doc',
      text: `deleted ${m.name} from ${ollama.label} (up to ${formatBytes(m.size)} freed; layers other models share stay).`,
      structured: { model: m.name, freedBytes: m.size },
    };
  },
});

const modelCopy = defineTool({
  name: 'model_copy',
  title: 'Model: Copy',
  description:
    'Copy a model under a new name on the same Ollama server (no data is duplicated: layers are shared). Use it to give a model a stable alias ("ops-assistant:prod") before switching what the alias points to. Refuses to overwrite an existing name. Needs approval where the policy says so.',
  input: z.object({ cluster: clusterArg, source: modelArg, destination: modelArg }),
  output: z.object({ source: z.string(), destination: z.string() }),
  annotations: { ...writeAnnotations, idempotentHint: false },
  permission: writePermission,
  async preview(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const m = await existing(ollama, args.source);
    return `copy ${m.name} to ${args.destination} on ${ollama.label}.`;
  },
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const m = await existing(ollama, args.source);
    const taken = await existing(ollama, args.destination).then(
      () => true,
      (e: unknown) => {
        if (e instanceof ToolError && e.code === 'not_found') return false;
        throw e;
      },
    );
    if (taken) {
      throw new ToolError(
        'invalid_arguments',
        `'${args.destination}' already exists on ${ollama.label}; choose another name, or delete it first with model_delete`,
      );
    }
    await ollama.client.copy({ source: m.name, destination: args.destination }).catch((e: unknown) => {
      throw ollama.fail(e, `copying ${m.name}`);
    });
    return {
      kind: 'doc',
      text: `copied ${m.name} to ${args.destination} on ${ollama.label}.`,
      structured: { source: m.name, destination: args.destination },
    };
  },
});

/** Model parameters Ollama accepts in a Modelfile's PARAMETER lines (the common ones). */
const parametersArg = z
  .strictObject({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).max(1000).optional(),
    num_ctx: z.number().int().min(256).max(1_048_576).optional(),
    num_predict: z.number().int().min(-2).max(1_048_576).optional(),
    repeat_penalty: z.number().min(0).max(10).optional(),
    seed: z.number().int().optional(),
    stop: z.array(z.string().min(1).max(100)).max(16).optional(),
  })
  .describe('Model parameters: temperature, top_p, top_k, num_ctx, num_predict, repeat_penalty, seed, stop');

/** A file under the instance's importDir, refusing anything that resolves outside it. */
async function importFile(ollama: OllamaInstance, file: string): Promise<string> {
  const dir = ollama.options.importDir;
  if (!dir) {
    throw new ToolError(
      'invalid_arguments',
      `${ollama.label} has no importDir configured, so model_create cannot read model files; set models.ollama[].importDir to the folder holding them, or create from an existing model with from`,
    );
  }
  const root = await realpath(dir).catch(() => {
    throw new ToolError(
      'backend_unavailable',
      `the importDir of ${ollama.label} does not exist; check models.ollama[].importDir`,
    );
  });
  const full = await realpath(path.resolve(root, file)).catch(() => {
    throw new ToolError('not_found', `no file '${file}' in the importDir of ${ollama.label}`);
  });
  if (!full.startsWith(`${root}${path.sep}`)) {
    throw new ToolError(
      'invalid_arguments',
      `'${file}' is outside the importDir of ${ollama.label}; give a path inside it`,
    );
  }
  if (!(await stat(full)).isFile()) throw new ToolError('invalid_arguments', `'${file}' is not a file`);
  return full;
}

/** Uploads the file as a blob unless the server has it already; returns its digest. */
async function uploadBlob(ollama: OllamaInstance, file: string, ctx: ToolContext): Promise<string> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const digest = `sha256:${hash.digest('hex')}`;
  const base = ollama.url.origin;
  const headers = ollama.options.headers ?? {};
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ollama.options.pullTimeoutSeconds * 1000)]);
  const head = await fetch(`${base}/api/blobs/${digest}`, { method: 'HEAD', headers, signal }).catch(
    (e: unknown) => {
      throw ollama.fail(e, 'checking for the blob');
    },
  );
  if (head.ok) return digest;
  const { size } = await stat(file);
  const { Readable } = await import('node:stream');
  const res = await fetch(`${base}/api/blobs/${digest}`, {
    method: 'POST',
    headers: { ...headers, 'content-length': String(size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
    signal,
  } as RequestInit).catch((e: unknown) => {
    throw ollama.fail(e, 'uploading the model file');
  });
  if (!res.ok)
    throw new ToolError(
      'backend_error',
      `${ollama.label} refused the model file (HTTP ${res.status}): ${await res.text()}`,
    );
  return digest;
}

const modelCreate = defineTool({
  name: 'model_create',
  title: 'Model: Create',
  description:
    'Create a model on an Ollama server, the air-gapped way: from a GGUF file in the server\'s configured import folder, or from an existing model, with an optional system prompt, prompt template and parameters. Use it to bring in a model copied onto the host, or to make a tuned variant ("ops-assistant" from "llama3.1:8b" with a system prompt). Refuses to overwrite an existing name. Needs approval.',
  input: z
    .object({
      cluster: clusterArg,
      model: modelArg.describe('Name of the new model'),
      from: modelArg.optional().describe('An existing model on the server to derive from'),
      file: z
        .string()
        .min(1)
        .max(500)
        .regex(/\.gguf$/i, 'must be a .gguf file')
        .optional()
        .describe("A GGUF file, relative to the server's importDir"),
      system: z.string().max(20_000).optional().describe('System prompt'),
      template: z
        .string()
        .max(20_000)
        .optional()
        .describe('Prompt template (Go template syntax, as in a Modelfile)'),
      parameters: parametersArg.optional(),
    })
    .refine((a) => !!a.from !== !!a.file, {
      message: 'give exactly one of from (an existing model) or file (a GGUF in the importDir)',
      path: ['from'],
    }),
  output: z.object({ model: z.string(), from: z.string(), status: z.string() }),
  annotations: { ...writeAnnotations, idempotentHint: false },
  permission: writePermission,
  timeoutMs: 3600 * 1000,
  async preview(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    let source: string;
    if (args.file) {
      const full = await importFile(ollama, args.file);
      source = `the file ${args.file} (${formatBytes((await stat(full)).size)})`;
    } else source = (await existing(ollama, args.from!)).name;
    const extras = [
      args.system
        ? `system prompt ${JSON.stringify(args.system.length > 200 ? `${args.system.slice(0, 199)}…` : args.system)}`
        : '',
      args.template ? 'a custom template' : '',
      args.parameters ? `parameters ${JSON.stringify(args.parameters)}` : '',
    ].filter(Boolean);
    return `create ${args.model} on ${ollama.label} from ${source}${extras.length ? ` with ${extras.join(', ')}` : ''}.`;
  },
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const taken = await existing(ollama, args.model).then(
      () => true,
      (e: unknown) => {
        if (e instanceof ToolError && e.code === 'not_found') return false;
        throw e;
      },
    );
    if (taken)
      throw new ToolError(
        'invalid_arguments',
        `'${args.model}' already exists on ${ollama.label}; choose another name`,
      );
    const request: Record<string, unknown> = { model: args.model, stream: false };
    if (args.file) {
      const full = await importFile(ollama, args.file);
      request.files = { [path.basename(full)]: await uploadBlob(ollama, full, ctx) };
    } else request.from = (await existing(ollama, args.from!)).name;
    if (args.system !== undefined) request.system = args.system;
    if (args.template !== undefined) request.template = args.template;
    if (args.parameters) request.parameters = args.parameters;
    // The client's types predate `files`; the request is sent as given.
    const res = await ollama.streamClient
      .create(request as unknown as Parameters<typeof ollama.client.create>[0] & { stream: false })
      .catch((e: unknown) => {
        throw ollama.fail(e, `creating ${args.model}`);
      });
    const from = args.file ?? String(request.from);
    return {
      kind: 'doc',
      text: `created ${args.model} on ${ollama.label} from ${from}: ${res.status}.`,
      structured: { model: args.model, from, status: res.status },
    };
  },
});

const modelUnload = defineTool({
  name: 'model_unload',
  title: 'Model: Unload',
  description:
    "Unload a model from an Ollama server's memory now, instead of when its keep-alive ends (the model stays on disk and loads again on its next use). Use it to free memory for another model; see models_running first.",
  input: z.object({ cluster: clusterArg, model: modelArg }),
  output: z.object({ model: z.string(), wasLoaded: z.boolean(), freedBytes: z.number() }),
  annotations: writeAnnotations,
  permission: writePermission,
  async handler(args, ctx) {
    const ollama = ctx.backends.ollama.pick(args.cluster);
    const running = await ollama.client.ps().catch((e: unknown) => {
      throw ollama.fail(e, 'listing loaded models');
    });
    const want = canonicalModel(args.model);
    const loaded = running.models.find((m) => canonicalModel(m.name) === want);
    if (!loaded) {
      return {
        kind: 'doc',
        status: 'no_data',
        text: `${args.model} is not loaded on ${ollama.label}; nothing to unload (models_running lists what is).`,
        structured: { model: args.model, wasLoaded: false, freedBytes: 0 },
      };
    }
    const show = await ollama.client.show({ model: loaded.name }).catch((e: unknown) => {
      throw ollama.fail(e, `showing ${loaded.name}`);
    });
    // keep_alive 0 on the model's own kind of request is how Ollama unloads: an embedding-only
    // model cannot take a generate request.
    const embeddingOnly =
      (show.capabilities ?? []).includes('embedding') && !(show.capabilities ?? []).includes('completion');
    await (embeddingOnly
      ? ollama.client.embed({ model: loaded.name, input: ['.'], keep_alive: 0 })
      : ollama.client.generate({ model: loaded.name, prompt: '', keep_alive: 0, stream: false })
    ).catch((e: unknown) => {
      throw ollama.fail(e, `unloading ${loaded.name}`);
    });
    // The server's scheduler releases the runner just after answering: wait for it, briefly.
    const gone = async () => !(await ollama.client.ps()).models.some((m) => canonicalModel(m.name) === want);
    let released = await gone();
    for (let i = 0; i < 50 && !released && !ctx.signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, 100));
      released = await gone();
    }
    return {
      kind: 'doc',
      text: released
        ? `unloaded ${loaded.name} from ${ollama.label} (${formatBytes(loaded.size)} of memory released).`
        : `asked ${ollama.label} to unload ${loaded.name}; it still lists it as loaded after 5 s (a request in progress keeps it); check models_running again.`,
      structured: { model: loaded.name, wasLoaded: true, freedBytes: loaded.size },
    };
  },
});

export const manageTools: ToolDef[] = [modelDelete, modelCopy, modelCreate, modelUnload];
