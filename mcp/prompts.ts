import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  GetPromptRequestSchema,
  type GetPromptResult,
  ListPromptsRequestSchema,
  McpError,
  type Prompt,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { prompt } from '../agent/prompts.js';
import type { Principal } from '../policies/types.js';
import type { ToolPipeline } from '../tools/core/invoke.js';
import { describeIssues } from '../tools/core/invoke.js';

const triageArgs = z.strictObject({
  symptom: z
    .string()
    .trim()
    .min(1, 'describe the alert or symptom')
    .max(2000, 'keep the symptom under 2000 characters'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name such as payments')
    .max(63)
    .optional(),
});

export const PROMPTS: Prompt[] = [
  {
    name: 'incident_triage',
    title: 'Incident triage',
    description:
      'Triage an alert or symptom on a Kubernetes cluster with Kubemate’s tools: overview, the suspect workload, logs and runbooks, then cause and next steps.',
    arguments: [
      {
        name: 'symptom',
        description:
          'The alert name or the symptom, e.g. "KubePodCrashLooping payments/api" or "checkout is slow"',
        required: true,
      },
      { name: 'namespace', description: 'The namespace to start in, e.g. payments', required: false },
    ],
  },
];

function triage(pipeline: ToolPipeline, principal: Principal, raw: unknown): GetPromptResult {
  const parsed = triageArgs.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `invalid arguments for incident_triage: ${describeIssues(parsed.error)}`,
    );
  }
  const { symptom, namespace } = parsed.data;
  const tools = pipeline
    .visibleTools(principal)
    .filter((t) => t.annotations.readOnlyHint)
    .map((t) => t.name);
  const text = prompt('incident-triage', {
    symptom,
    scope: namespace
      ? `Start in namespace ${namespace}.`
      : 'Start cluster-wide, then narrow to the affected namespace.',
    scopeArg: namespace ? ` with namespace=${namespace}` : '',
    tools: tools.join(', ') || 'none (ask an administrator for read access)',
  });
  return {
    description: `Triage: ${symptom.slice(0, 100)}`,
    messages: [{ role: 'user', content: { type: 'text', text } }],
  };
}

/** MCP prompts, from the files in agent/prompts/; tool names in them are those the principal may use. */
export function registerPrompts(server: Server, pipeline: ToolPipeline, principal: Principal): void {
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    if (request.params.name === 'incident_triage')
      return triage(pipeline, principal, request.params.arguments);
    throw new McpError(
      ErrorCode.InvalidParams,
      `unknown prompt '${request.params.name}'; known: incident_triage`,
    );
  });
}
