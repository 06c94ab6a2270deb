import { z } from 'zod';
import { ToolError } from '../core/errors.js';

/**
 * Kubernetes names as the API server validates them, checked before any request: an object name
 * ends up as a segment of a REST path, and a name such as `..` would otherwise address another
 * object (`/namespaces/payments/configmaps/..` is the Namespace itself once the URL is normalised).
 * The rules are apimachinery's: DNS-1123 labels and subdomains, DNS-1035 labels for Services, and
 * the path-segment rule every name must pass.
 */

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL = new RegExp(`^${LABEL}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export type NameRule = 'dns1123-label' | 'dns1123-subdomain' | 'dns1035-label' | 'path-segment';

/** Why `name` cannot be a path segment of an API URL, or undefined when it can. */
export function pathSegmentProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (name.includes('/')) return "may not contain '/'";
  if (name.includes('%')) return "may not contain '%'";
  // Not an API rule, but nothing legitimate needs them and they confuse logs and URLs.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\?#]/.test(name)) return 'may not contain control characters, \\, ? or #';
  return undefined;
}

/** Why `name` breaks `rule`, in the API server's words, or undefined when it is valid. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  const segment = pathSegmentProblem(name);
  if (segment) return segment;
  switch (rule) {
    case 'path-segment':
      return name.length > 253 ? 'must be no more than 253 characters' : undefined;
    case 'dns1123-label':
      if (name.length > 63) return 'must be no more than 63 characters';
      return DNS1123_LABEL.test(name)
        ? undefined
        : "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
    case 'dns1035-label':
      if (name.length > 63) return 'must be no more than 63 characters';
      return DNS1035_LABEL.test(name)
        ? undefined
        : "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit";
    case 'dns1123-subdomain':
      if (name.length > 253) return 'must be no more than 253 characters';
      return DNS1123_SUBDOMAIN.test(name)
        ? undefined
        : "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
  }
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The rule the API server applies to the names of one kind (custom resources: DNS-1123 subdomain). */
export function nameRuleFor(group: string, kind: string): NameRule {
  if (group === '' && kind === 'Namespace') return 'dns1123-label';
  if (group === '' && kind === 'Service') return 'dns1035-label';
  // Roles and bindings may be named like system:controller:foo; only the path rule applies.
  if (group === RBAC_GROUP && ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(kind))
    return 'path-segment';
  return 'dns1123-subdomain';
}

/** Throws a ToolError naming the object when `name` is not a valid name of its kind. */
export function assertObjectName(group: string, kind: string, name: string, where = ''): void {
  const problem = nameProblem(name, nameRuleFor(group, kind));
  if (problem) {
    throw new ToolError(
      'invalid_arguments',
      `${where}${kind} name ${JSON.stringify(name)} is not valid: it ${problem}. Nothing was sent to the cluster.`,
    );
  }
}

/** `v1`, `apps/v1`, `cert-manager.io/v1alpha2`: a group (DNS-1123 subdomain) and a version (a label). */
export function apiVersionProblem(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (slash >= 0 && nameProblem(group, 'dns1123-subdomain')) {
    return `group '${group}' is not a DNS-1123 subdomain`;
  }
  if (nameProblem(version, 'dns1123-label')) return `version '${version}' is not a DNS-1123 label`;
  return undefined;
}

/** A kind as written in a manifest: `Deployment`, `CronJob`, `Certificate`. */
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;

export function kindProblem(kind: string): string | undefined {
  return KIND.test(kind) ? undefined : 'must be a kind such as Deployment (letters and digits)';
}

/**
 * A segment an API path is built from: validated (a second wall behind the schemas) and
 * percent-encoded. Throws rather than let `..`, `/` or `%` change which object a path names.
 */
export function pathSegment(segment: string, what: string): string {
  const problem = pathSegmentProblem(segment);
  if (problem) {
    throw new ToolError(
      'invalid_arguments',
      `${what} ${JSON.stringify(segment)} cannot be part of an API path: it ${problem}`,
    );
  }
  return encodeURIComponent(segment);
}

// ── zod schemas for tool arguments ─────────────────────────────────────────────────────────────

const PATTERNS: Record<NameRule, RegExp> = {
  'dns1123-label': DNS1123_LABEL,
  'dns1123-subdomain': DNS1123_SUBDOMAIN,
  'dns1035-label': DNS1035_LABEL,
  // What pathSegmentProblem allows, as a pattern that JSON Schema (and so MCP clients) can show.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  'path-segment': /^(?!\.\.?$)[^/%\\?#\u0000-\u001f\u007f]+$/,
};

// A pattern, not a refinement, so that the JSON Schema of every tool shows what a name may be.
const schemaFor = (rule: NameRule, max: number, message: string) =>
  z.string().max(max, `must be no more than ${max} characters`).regex(PATTERNS[rule], message);

/** A namespace (DNS-1123 label). */
export const namespaceName = schemaFor(
  'dns1123-label',
  63,
  'must be a Kubernetes namespace name (lowercase letters, digits and -, at most 63)',
);

/** Most object names: pods, deployments, nodes, config maps (DNS-1123 subdomain). */
export const objectName = schemaFor(
  'dns1123-subdomain',
  253,
  'must be a Kubernetes object name (lowercase letters, digits, - and ., each dot-separated part starting and ending with a letter or digit)',
);

/** A container name (DNS-1123 label). */
export const containerName = schemaFor(
  'dns1123-label',
  63,
  'must be a container name (lowercase letters, digits and -, at most 63)',
);

/**
 * The name of an object whose kind is known only after discovery: every name must pass the path
 * rule here, and the kind's own rule is checked once the kind is resolved (`assertObjectName`).
 */
export const anyObjectName = schemaFor(
  'path-segment',
  253,
  "must be a Kubernetes object name: not '.' or '..', without '/', '%', '\\', '?', '#' or control characters",
);
