import { z } from 'zod';

/**
 * The format of `evals/agent/scenarios/<id>/scenario.yaml`: an incident as data. The harness creates
 * `setup` on a real test cluster, asks `question`, and grades the answer against `facts`, the tools
 * it used and what it must never do. See evals/agent/README.md.
 */

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes name (a-z, 0-9, -, .)');
const kubeObject = z.looseObject({ apiVersion: z.string().min(1), kind: z.string().min(1) });
const duration = z.string().regex(/^\d+(s|m|h|d)$/, 'must be a duration such as "90s", "5m", "2h" or "3d"');

const terminated = z.strictObject({
  exitCode: z.number().int(),
  reason: z.string().optional(),
  message: z.string().optional(),
  signal: z.number().int().optional(),
  /** How long ago the container ended (default 30s); it started a minute before that. */
  ago: duration.optional(),
});
const containerState = z.union([
  z.strictObject({ waiting: z.strictObject({ reason: z.string(), message: z.string().optional() }) }),
  z.strictObject({ running: z.strictObject({ ago: duration.optional() }) }),
  z.strictObject({ terminated }),
]);
const containerStatus = z.strictObject({
  name,
  ready: z.boolean().default(false),
  restartCount: z.number().int().min(0).default(0),
  started: z.boolean().optional(),
  state: containerState,
  lastState: z.strictObject({ terminated }).optional(),
});

/** Status written onto pods once kwok has started them (kwok never touches a started pod again). */
const podStatus = z.strictObject({
  /** Label selector, within the scenario's namespace. */
  selector: z.string().min(1),
  /** Patch only the first N matching pods (by name); default all that `expect` says will exist. */
  count: z.number().int().positive().optional(),
  /** How many pods must match before patching (default: count, else 1). */
  expect: z.number().int().positive().optional(),
  /**
   * Whether kwok starts these pods (the default): then their status is written once kwok has. Pods
   * nobody runs (held by a scheduling gate, or bound to an unmanaged node) are patched as they are.
   */
  kwokStarts: z.boolean().default(true),
  /** Names the patched pods `${as}`, `${as.1}`, … for tool arguments and facts. */
  as: z
    .string()
    .regex(/^[a-zA-Z][\w]*$/)
    .optional(),
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed']).optional(),
  /** How long ago the pod started (status.startTime and its conditions' transition times). */
  since: duration.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  /** Sets the Ready and ContainersReady conditions (default: whether every container given is ready). */
  ready: z.boolean().optional(),
  /**
   * The Ready condition's reason when the pod is not ready, e.g. NodeNotReady (what the node
   * controller writes while the containers still say ready); ContainersReady then follows the
   * containers.
   */
  readyReason: z.string().optional(),
  containers: z.array(containerStatus).default([]),
  initContainers: z.array(containerStatus).default([]),
});

const condition = z.strictObject({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
});

const node = z.strictObject({
  name,
  /** kwok keeps a managed node's lease (it stays Ready); nobody runs an unmanaged one. */
  managed: z.boolean().default(true),
  labels: z.record(z.string(), z.string()).default({}),
  taints: z
    .array(z.strictObject({ key: z.string(), value: z.string().optional(), effect: z.string() }))
    .default([]),
  capacity: z.record(z.string(), z.string()).default({}),
  /** Conditions set after creation, merged by type over what kwok reports. */
  conditions: z.array(condition).default([]),
});

const eventTarget = z.union([
  z.strictObject({
    kind: z.literal('Pod'),
    selector: z.string().min(1),
    count: z.number().int().positive().optional(),
  }),
  /** `name` may be a placeholder such as `${pod}`. */
  z.strictObject({ kind: z.string().min(1), name: z.string().min(1) }),
]);
const event = z.strictObject({
  for: eventTarget,
  type: z.enum(['Normal', 'Warning']).default('Warning'),
  reason: z.string().min(1),
  /** `${object}` is the involved object's name. */
  message: z.string().min(1),
  count: z.number().int().positive().default(1),
  /** The component that reports it: kubelet, default-scheduler, cert-manager-certificates… */
  source: z.string().default('kubelet'),
  /** When it was first seen (default 10m ago); the last time is now. */
  since: duration.optional(),
});

/** A TLS Secret holding a real certificate made with openssl when the scenario is set up. */
const certificate = z.strictObject({
  secret: name,
  commonName: z.string().min(1),
  dnsNames: z.array(z.string().min(1)).default([]),
  /** Validity from now. */
  days: z.number().int().min(1),
  annotations: z.record(z.string(), z.string()).default({}),
});

/** Merge patches on an object's status subresource, for fields no controller here maintains. */
const statusPatch = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name,
  /** Strings may use `${var}` and `${now±duration}` (RFC 3339). */
  status: z.record(z.string(), z.unknown()),
});

/** Usage a fake metrics.k8s.io API reports for matching pods (the HPA controller reads it). */
const podMetrics = z.strictObject({
  selector: z.string().min(1),
  containers: z.record(z.string(), z.strictObject({ cpu: z.string(), memory: z.string() })),
});

/** A change made after the manifests exist (a new image rolled out), once `after` holds. */
const specPatch = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name,
  /** JSON merge patch of the object. */
  patch: z.record(z.string(), z.unknown()),
  /** Wait for this condition first (e.g. the first rollout finished). */
  after: condition
    .partial({ status: true })
    .extend({ status: z.enum(['True', 'False', 'Unknown']) })
    .optional(),
});

const waitFor = z
  .strictObject({
    apiVersion: z.string().min(1),
    kind: z.string().min(1),
    /** One object, or every object matching `selector` (at least one). */
    name: name.optional(),
    selector: z.string().min(1).optional(),
    /** A condition the object must reach. */
    condition: condition.partial({ status: true }).extend({ status: z.enum(['True', 'False', 'Unknown']) }),
    timeoutSeconds: z.number().int().positive().max(120).default(60),
  })
  .refine((w) => (w.name === undefined) !== (w.selector === undefined), 'give either name or selector');

export const setupSchema = z.strictObject({
  /** CustomResourceDefinitions the scenario needs; left in place when they already exist. */
  crds: z.array(kubeObject).default([]),
  nodes: z.array(node).default([]),
  certificates: z.array(certificate).default([]),
  /** Objects created in order; namespaced ones default to the scenario's namespace. */
  manifests: z.array(kubeObject).default([]),
  patches: z.array(specPatch).default([]),
  podStatus: z.array(podStatus).default([]),
  status: z.array(statusPatch).default([]),
  events: z.array(event).default([]),
  podMetrics: z.array(podMetrics).default([]),
  waitFor: z.array(waitFor).default([]),
});

export const factSchema = z.strictObject({
  /** What the fact is, for reports: "cause: OOMKilled". */
  fact: z.string().min(1),
  /** Case-insensitive regular expressions; one match anywhere in the answer is enough. */
  any: z.array(z.string().min(1)).min(1),
});

export const toolStepSchema = z.strictObject({
  name: z.string().min(1),
  /** Arguments the scripted model passes; strings may use `${var}`. */
  args: z.record(z.string(), z.unknown()).default({}),
  /** Other tools that answer the same need, for grading a real model. */
  or: z.array(z.string().min(1)).default([]),
  /** A real model is not marked down for skipping it. */
  optional: z.boolean().default(false),
});

export const scenarioSchema = z.strictObject({
  title: z.string().min(1),
  category: z.enum([
    'crash-loop',
    'image',
    'scheduling',
    'node',
    'rollout',
    'network',
    'config',
    'batch',
    'capacity',
    'security',
  ]),
  question: z.string().min(10),
  namespace: name,
  setup: setupSchema,
  facts: z.array(factSchema).min(1),
  /** The calls that answer the question, in order; the scripted model makes exactly these. */
  tools: z.array(toolStepSchema).min(1).max(6),
  forbidden: z
    .strictObject({
      /** Globs of tools that must not run without approval (default: every tool that writes). */
      execute: z.array(z.string().min(1)).default(['*']),
      /** Globs of tools that must not even be requested. */
      call: z.array(z.string().min(1)).default([]),
    })
    .default({ execute: ['*'], call: [] }),
});

export type ScenarioSpec = z.output<typeof scenarioSchema>;
export type SetupSpec = z.output<typeof setupSchema>;
export type PodStatusSpec = z.output<typeof podStatus>;
export type ContainerStatusSpec = z.output<typeof containerStatus>;
export type NodeSpec = z.output<typeof node>;
export type EventSpec = z.output<typeof event>;
export type CertificateSpec = z.output<typeof certificate>;
export type PodMetricsSpec = z.output<typeof podMetrics>;
export type WaitForSpec = z.output<typeof waitFor>;
export type SpecPatch = z.output<typeof specPatch>;
export type Fact = z.output<typeof factSchema>;
export type ToolStep = z.output<typeof toolStepSchema>;

export interface Scenario extends ScenarioSpec {
  /** The folder name. */
  id: string;
  /** scenario.yaml, relative to the scenarios folder, for messages. */
  file: string;
}
