import { z } from 'zod';
import { defineTool, type ToolDef } from '../../tools/core/types.js';

/**
 * A toolset used only by tests of the pipeline and policy switches: a write tool and a destructive
 * tool whose handlers count their runs, so a test can prove that a refused call ran nothing.
 */
export function countingTools() {
  const runs = { write: 0, destroy: 0, read: 0 };
  const tools: ToolDef[] = [
    defineTool({
      name: 'widget_get',
      title: 'Widget: Get',
      description: 'Read a widget.',
      input: z.object({ id: z.string().min(1) }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'test', verb: 'read', namespaced: false },
      async handler(args) {
        runs.read++;
        return { kind: 'doc', text: `widget ${args.id}`, structured: { id: args.id } };
      },
    }),
    defineTool({
      name: 'widget_scale',
      title: 'Widget: Scale',
      description: 'Change a widget.',
      input: z.object({ id: z.string().min(1), replicas: z.number().int().min(0) }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
      permission: { toolset: 'test', verb: 'write', namespaced: false },
      async handler(args) {
        runs.write++;
        return { kind: 'doc', text: `scaled ${args.id} to ${args.replicas}` };
      },
    }),
    defineTool({
      name: 'widget_delete',
      title: 'Widget: Delete',
      description: 'Delete a widget.',
      input: z.object({ id: z.string().min(1) }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      permission: { toolset: 'test', verb: 'write', namespaced: false },
      async handler(args) {
        runs.destroy++;
        return { kind: 'doc', text: `deleted ${args.id}` };
      },
    }),
  ];
  return { tools, runs };
}
