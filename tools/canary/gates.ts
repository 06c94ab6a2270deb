/**
 * Flagger's confirm gates (confirm-rollout, confirm-traffic-increase, confirm-promotion) answered
 * from Kubemate approvals: opening a gate for one release is a write that the policy sends to a
 * second person; the webhook answers 200 only once it is open.
 */
import { z } from 'zod';
import { ToolError } from '../core/errors.js';
import { defineTool, type ToolDef } from '../core/types.js';
import { clusterArg, nameArg, namespaceArg, writeAnnotations, writePermission } from './common.js';
import { findCanary } from './inventory.js';
import { controllerLine } from './render.js';

export const GATES = ['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'] as const;
export type Gate = (typeof GATES)[number];

const WHAT: Record<Gate, string> = {
  'confirm-rollout': 'start the canary analysis of a new release',
  'confirm-traffic-increase': 'send more traffic to the canary (one step)',
  'confirm-promotion': 'promote the canary to primary',
};

export const checksumArg = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be the checksum Flagger sends (letters, digits, . _ : -)');

/** One gate of one release: a new release (a new checksum) needs its own approval. */
export function gateKey(g: {
  cluster?: string | undefined;
  namespace: string;
  name: string;
  gate: Gate;
  checksum: string;
}) {
  return [g.cluster ?? '', g.namespace, g.name, g.gate, g.checksum].join('\u0000');
}

const gateOpen = defineTool({
  name: 'canary_gate_open',
  title: 'Canaries: Open Flagger Gate',
  description: `Let a Flagger canary past one of its confirm gates for one release: ${GATES.map((g) => `${g} (${WHAT[g]})`).join(', ')}. Kubemate's Flagger webhook requests this itself when Flagger asks; approve its ticket to let the release go on. Call it directly only to open a gate ahead of Flagger asking.`,
  input: z.object({
    cluster: clusterArg,
    namespace: namespaceArg,
    name: nameArg.describe('Name of the Flagger Canary'),
    gate: z.enum(GATES).describe('The confirm webhook Flagger calls'),
    checksum: checksumArg.describe('The release checksum from the webhook payload'),
  }),
  output: z.object({
    gate: z.string(),
    namespace: z.string(),
    name: z.string(),
    checksum: z.string(),
    open: z.boolean(),
  }),
  annotations: writeAnnotations(false, true),
  permission: writePermission,
  async preview(args, ctx) {
    const head = `let Flagger ${WHAT[args.gate]} for Canary ${args.namespace}/${args.name} (${args.gate}, release ${args.checksum})`;
    try {
      const found = await findCanary(
        ctx.backends.kube.get(args.cluster),
        args.namespace,
        args.name,
        'flagger-canary',
        ctx.signal,
      );
      return `${head}\nnow: ${controllerLine(found.controller!)}`;
    } catch (e) {
      return `${head}\n(its status could not be read: ${(e as Error).message})`;
    }
  },
  async handler(args, ctx) {
    const store = ctx.backends.canaryPlans;
    if (!store)
      throw new ToolError(
        'backend_unavailable',
        'Flagger gates need Kubemate state (the data directory); none is configured',
      );
    await store.openGate(gateKey(args));
    return {
      kind: 'doc',
      text: `Opened ${args.gate} for Canary ${args.namespace}/${args.name} (release ${args.checksum}): Flagger goes on at its next check.`,
      structured: {
        gate: args.gate,
        namespace: args.namespace,
        name: args.name,
        checksum: args.checksum,
        open: true,
      },
    };
  },
});

export const gateTools: ToolDef[] = [gateOpen];
