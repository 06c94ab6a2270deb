import { z } from 'zod';

/**
 * The policy file: who may call which tools, with which verbs, on which clusters and namespaces,
 * what is always denied, and what needs approval by whom. Anything not granted is denied.
 */

/** Kubernetes reserves `system:` groups (system:masters is cluster-admin); Kubemate never asks for one. */
export function isSystemGroup(group: string): boolean {
  return group.trim().toLowerCase().startsWith('system:');
}

const glob = z.string().min(1).max(253);
const verb = z.enum(['read', 'write', 'admin']);

/** Selects tool calls: every listed dimension must match; an omitted dimension matches anything. */
const selector = {
  toolsets: z.array(glob).min(1).optional().describe('toolset names or globs, e.g. cluster, metrics'),
  tools: z.array(glob).min(1).optional().describe('tool names or globs, e.g. pods_*, deployment_scale'),
  verbs: z.array(verb).min(1).optional(),
  clusters: z.array(glob).min(1).optional().describe('cluster (kubeconfig context) names or globs'),
  namespaces: z
    .array(glob)
    .min(1)
    .optional()
    .describe('namespace names or globs; a rule that names namespaces never covers cluster-wide calls'),
};

const subject = z
  .string()
  .min(1)
  .regex(/^(\*|group:.+|user:.+|[^:]+|[a-z0-9-]+:.+)$/, 'must be a person, user:NAME, group:NAME or *');

export const grantSchema = z.strictObject(selector);

export const policyFileSchema = z.strictObject({
  version: z.literal(1),
  /** Each person's identities on every surface (chat user ids, token principals, CLI users). */
  identities: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
  /** Static group membership, added to the groups a surface reports. */
  groups: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  /** Custom roles; viewer, operator and admin are built in. */
  roles: z.record(z.string().min(1), z.array(grantSchema).min(1)).default({}),
  bindings: z
    .array(
      z.strictObject({
        subjects: z
          .array(subject.refine((s) => s !== '*', 'bindings must name people or groups, not *'))
          .min(1),
        roles: z.array(z.string().min(1)).min(1),
      }),
    )
    .default([]),
  deny: z
    .array(
      z.strictObject({
        ...selector,
        subjects: z.array(subject).min(1).default(['*']),
        reason: z.string().min(1).optional(),
      }),
    )
    .default([]),
  approvals: z
    .array(
      z.strictObject({
        ...selector,
        subjects: z.array(subject).min(1).default(['*']),
        approvers: z
          .strictObject({
            groups: z
              .array(z.string().min(1))
              .optional()
              .describe('approvers must be in one of these groups'),
            count: z
              .number()
              .int()
              .min(0)
              .max(10)
              .default(1)
              .describe('approvals needed; 0 makes matching calls a fast path that needs none'),
          })
          .default({ count: 1 }),
      }),
    )
    .default([{ verbs: ['write', 'admin'], subjects: ['*'], approvers: { count: 1 } }]),
  approvalTtlMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  /**
   * Kubernetes impersonation: API calls carry Impersonate-User/Group for the person, so the
   * cluster's RBAC is a second wall. By default the user is the person's name and the groups are
   * their groups; `users` overrides that per person.
   */
  impersonation: z
    .strictObject({
      enabled: z.boolean().default(false),
      users: z
        .record(
          z.string().min(1),
          z.strictObject({
            user: z.string().min(1),
            groups: z
              .array(
                z
                  .string()
                  .min(1)
                  .refine(
                    (g) => !isSystemGroup(g),
                    'system: groups are reserved by Kubernetes (system:masters is cluster-admin) and are never impersonated; remove it',
                  ),
              )
              .default([]),
          }),
        )
        .default({}),
    })
    .default({ enabled: false, users: {} }),
});

export type PolicyFile = z.infer<typeof policyFileSchema>;
export type Grant = z.infer<typeof grantSchema>;

export const BUILTIN_ROLES: Record<string, Grant[]> = {
  viewer: [{ verbs: ['read'] }],
  operator: [{ verbs: ['read', 'write'] }],
  admin: [{ verbs: ['read', 'write', 'admin'] }],
};

/** Cross-field checks zod cannot express per field: roles that exist, people mapped once. */
export function policyProblems(policy: PolicyFile): string[] {
  const problems: string[] = [];
  const roles = new Set([...Object.keys(BUILTIN_ROLES), ...Object.keys(policy.roles)]);
  for (const name of Object.keys(policy.roles)) {
    if (name in BUILTIN_ROLES)
      problems.push(`roles.${name}: '${name}' is a built-in role and cannot be redefined`);
  }
  policy.bindings.forEach((b, i) => {
    for (const r of b.roles) {
      if (!roles.has(r))
        problems.push(`bindings.${i}.roles: unknown role '${r}' (known: ${[...roles].join(', ')})`);
    }
  });
  const owner = new Map<string, string>();
  for (const [person, ids] of Object.entries(policy.identities)) {
    for (const id of ids) {
      const other = owner.get(id);
      if (other && other !== person)
        problems.push(`identities: '${id}' is mapped to both '${other}' and '${person}'`);
      owner.set(id, person);
    }
  }
  return problems;
}

/** Parses policy YAML text; throws an Error listing every problem with its key and the given value. */
export function parsePolicy(text: string, origin: string, parseYaml: (t: string) => unknown): PolicyFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new Error(`policy file ${origin} is not valid YAML: ${(e as Error).message}`);
  }
  const parsed = policyFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join('.') || '(top level)';
      let given: unknown = raw;
      for (const k of i.path)
        given = given && typeof given === 'object' ? (given as Record<PropertyKey, unknown>)[k] : undefined;
      const shown = given === undefined ? '' : `; given ${JSON.stringify(given)?.slice(0, 80)}`;
      const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
      return `  - ${key}: ${i.message}${keys}${shown}`;
    });
    throw new Error(`invalid policy file ${origin}:\n${lines.join('\n')}`);
  }
  const problems = policyProblems(parsed.data);
  if (problems.length > 0) {
    throw new Error(`invalid policy file ${origin}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return parsed.data;
}
