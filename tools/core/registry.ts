import { z } from 'zod';
import type { ToolFacts } from '../../policies/types.js';
import { suggestion, ToolError } from './errors.js';
import type { BackendKind, Toolset } from './toolset.js';
import type { ToolDef } from './types.js';

const NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;

export type JsonSchema = Record<string, unknown>;

const isToolset = (t: Toolset | readonly ToolDef[]): t is Toolset => !Array.isArray(t);

/**
 * All tools, built once from the toolsets. Every surface loops over this; none registers tools
 * itself. A bare array of tools (tests) is a toolset that reaches no backend.
 */
export class ToolRegistry {
  private readonly byName = new Map<string, ToolDef>();
  private readonly backendsByTool = new Map<string, readonly BackendKind[]>();
  private readonly schemas = new Map<string, { input: JsonSchema; output?: JsonSchema }>();

  constructor(toolsets: readonly (Toolset | readonly ToolDef[])[]) {
    for (const set of toolsets) {
      const tools = isToolset(set) ? set.tools : set;
      for (const tool of tools) this.backendsByTool.set(tool.name, isToolset(set) ? set.backends : []);
    }
    for (const tool of toolsets.flatMap((set) => (isToolset(set) ? set.tools : set))) {
      if (!NAME.test(tool.name)) throw new Error(`tool name '${tool.name}' is not <resource>_<verb>`);
      if (this.byName.has(tool.name)) throw new Error(`tool '${tool.name}' is defined twice`);
      if (tool.annotations.readOnlyHint !== (tool.permission.verb === 'read')) {
        throw new Error(`tool '${tool.name}': readOnlyHint must be true exactly when the verb is read`);
      }
      this.byName.set(tool.name, tool);
      this.schemas.set(tool.name, {
        input: z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema,
        ...(tool.output
          ? { output: z.toJSONSchema(tool.output, { io: 'output', unrepresentable: 'any' }) as JsonSchema }
          : {}),
      });
    }
  }

  list(): ToolDef[] {
    return [...this.byName.values()];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  find(name: string): ToolDef | undefined {
    return this.byName.get(name);
  }

  get(name: string): ToolDef {
    const tool = this.byName.get(name);
    if (!tool) {
      throw new ToolError(
        'unknown_tool',
        `unknown tool '${name}'${suggestion(name, this.names())}; run 'kubemate tools list' to see them all`,
      );
    }
    return tool;
  }

  jsonSchemas(name: string): { input: JsonSchema; output?: JsonSchema } {
    const s = this.schemas.get(name);
    if (!s) throw new ToolError('unknown_tool', `unknown tool '${name}'`);
    return s;
  }

  /** The backends the tool's toolset declares it reaches. */
  backendsOf(name: string): readonly BackendKind[] {
    return this.backendsByTool.get(name) ?? [];
  }

  static facts(tool: ToolDef): ToolFacts {
    return { name: tool.name, permission: tool.permission, annotations: tool.annotations };
  }
}
