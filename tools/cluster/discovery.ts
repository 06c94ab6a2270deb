import { type APIResource, type ResolvedKind, resolveKind } from '../clients/discovery.js';
import { type KubeCluster, kubeCall } from '../clients/kube.js';
import { didYouMean, ToolError } from '../core/errors.js';

/**
 * Resolves what a person types for a kind ("deploy", "Deployment", "deployments", "po", a CRD's
 * short name, "certificates.cert-manager.io") to one served resource, from API discovery across
 * every group. The per-apiVersion lookup (paths, scope) is the shared one in clients/discovery.ts.
 */

/** One resource in the catalog: the group's preferred version, as kubectl uses. */
export interface CatalogEntry {
  group: string;
  version: string;
  apiVersion: string;
  resource: string;
  singular: string;
  kind: string;
  shortNames: string[];
  namespaced: boolean;
  verbs: string[];
  /** Other versions the group serves. */
  otherVersions: string[];
}

interface Catalog {
  at: number;
  /** How long it may be used: TTL_MS when every group was read, less when some could not be. */
  ttl: number;
  entries: Promise<CatalogEntry[]>;
  /** API groups whose resources could not be read ("" is the core group); known once loaded. */
  unread: string[];
}

/** Kinds change when CRDs are installed: keep discovery briefly, and look again on a miss. */
const TTL_MS = 30_000;
const MISS_REFRESH_MS = 2_000;

const catalogs = new Map<string, Catalog>();

interface GroupList {
  groups?: Array<{
    name: string;
    versions?: Array<{ groupVersion: string; version: string }>;
    preferredVersion?: { groupVersion: string; version: string };
  }>;
}

/** A catalog with groups missing is kept only this long, so the next lookup reads them again. */
const PARTIAL_TTL_MS = 2_000;

async function loadCatalog(cluster: KubeCluster): Promise<{ entries: CatalogEntry[]; unread: string[] }> {
  const [core, groups] = await Promise.all([
    cluster.raw.get<{ versions?: string[] }>('/api'),
    cluster.raw.get<GroupList>('/apis'),
  ]);
  const wanted: Array<{ group: string; version: string; path: string; others: string[] }> = [];
  const coreVersions = core.versions ?? [];
  if (coreVersions.includes('v1')) {
    wanted.push({
      group: '',
      version: 'v1',
      path: '/api/v1',
      others: coreVersions.filter((v) => v !== 'v1'),
    });
  }
  for (const g of groups.groups ?? []) {
    const preferred = g.preferredVersion ?? g.versions?.[0];
    if (!preferred) continue;
    wanted.push({
      group: g.name,
      version: preferred.version,
      path: `/apis/${preferred.groupVersion}`,
      others: (g.versions ?? []).map((v) => v.version).filter((v) => v !== preferred.version),
    });
  }
  const read = (w: (typeof wanted)[number]) =>
    cluster.raw
      .get<{ resources?: APIResource[] }>(w.path)
      .then((l) => ({ w, resources: l.resources ?? [], ok: true }))
      // An aggregated API that is down must not hide every other kind.
      .catch(() => ({ w, resources: [] as APIResource[], ok: false }));
  const lists = await Promise.all(wanted.map(read));
  // One more try for the groups that failed (a dropped connection, an aggregated API restarting).
  for (let i = 0; i < lists.length; i++) if (!lists[i]!.ok) lists[i] = await read(lists[i]!.w);
  const unread = lists.filter((l) => !l.ok).map((l) => l.w.group);
  const entries: CatalogEntry[] = [];
  for (const { w, resources } of lists) {
    for (const r of resources) {
      if (r.name.includes('/')) continue; // subresources such as deployments/scale
      entries.push({
        group: w.group,
        version: w.version,
        apiVersion: w.group ? `${w.group}/${w.version}` : w.version,
        resource: r.name,
        singular: (r.singularName || r.kind).toLowerCase(),
        kind: r.kind,
        shortNames: (r.shortNames ?? []).map((s) => s.toLowerCase()),
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        otherVersions: w.others,
      });
    }
  }
  return { entries, unread };
}

/**
 * Every resource the cluster serves, cached per cluster for a short while. A catalog missing
 * groups that could not be read is kept only briefly (see `unreadGroups`).
 */
export function catalog(cluster: KubeCluster, maxAgeMs = TTL_MS): Promise<CatalogEntry[]> {
  const key = `${cluster.name}\u0000${cluster.server}`;
  const hit = catalogs.get(key);
  if (hit && Date.now() - hit.at < Math.min(maxAgeMs, hit.ttl)) return hit.entries;
  const loaded = kubeCall(cluster, 'discover the API resources', () => loadCatalog(cluster));
  const record: Catalog = { at: Date.now(), ttl: TTL_MS, entries: loaded.then((l) => l.entries), unread: [] };
  catalogs.set(key, record);
  loaded.then(
    (l) => {
      record.unread = l.unread;
      if (l.unread.length) record.ttl = PARTIAL_TTL_MS;
    },
    () => {
      if (catalogs.get(key) === record) catalogs.delete(key);
    },
  );
  return record.entries;
}

/** The API groups the cached catalog of `cluster` could not read ("" is the core group). */
export function unreadGroups(cluster: KubeCluster): string[] {
  return catalogs.get(`${cluster.name}\u0000${cluster.server}`)?.unread ?? [];
}

export function qualified(e: CatalogEntry): string {
  return e.group ? `${e.resource}.${e.group}` : e.resource;
}

interface Query {
  name: string;
  group?: string;
  version?: string;
}

/** "deployments", "deployments.apps", "deployments.v1.apps", "Certificate.cert-manager.io". */
function parse(input: string, entries: CatalogEntry[]): Query[] {
  const text = input.trim().toLowerCase();
  const dot = text.indexOf('.');
  if (dot < 0) return [{ name: text }];
  const name = text.slice(0, dot);
  const rest = text.slice(dot + 1);
  const queries: Query[] = [{ name, group: rest }];
  const second = rest.indexOf('.');
  const maybeVersion = second < 0 ? rest : rest.slice(0, second);
  if (/^v\d+((alpha|beta)\d+)?$/.test(maybeVersion)) {
    queries.push({ name, version: maybeVersion, group: second < 0 ? '' : rest.slice(second + 1) });
  }
  // A dotted name that is no group ("foo.bar" for a kind) falls back to the whole text.
  if (!entries.some((e) => e.group === rest)) queries.push({ name: text });
  return queries;
}

function nameMatches(e: CatalogEntry, name: string): 'exact' | 'short' | undefined {
  if (e.resource === name || e.singular === name || e.kind.toLowerCase() === name) return 'exact';
  if (e.shortNames.includes(name)) return 'short';
  return undefined;
}

export interface Resolution {
  entry: CatalogEntry;
  resolved: ResolvedKind;
  /** Other groups serving the same name, when the core group won ("events" also in events.k8s.io). */
  alsoIn: string[];
}

function find(entries: CatalogEntry[], input: string): { matches: CatalogEntry[]; version?: string } {
  for (const q of parse(input, entries)) {
    const scoped = entries.filter((e) => q.group === undefined || e.group === q.group);
    if (q.version) {
      const inGroup = scoped.filter((e) => e.version === q.version || e.otherVersions.includes(q.version!));
      const hits = inGroup.filter((e) => nameMatches(e, q.name));
      if (hits.length > 0) return { matches: hits, version: q.version };
      continue;
    }
    const exact = scoped.filter((e) => nameMatches(e, q.name) === 'exact');
    if (exact.length > 0) return { matches: exact };
    const short = scoped.filter((e) => nameMatches(e, q.name) === 'short');
    if (short.length > 0) return { matches: short };
  }
  return { matches: [] };
}

/**
 * Finds the one resource meant by `input`, case-insensitively by kind, plural, singular or short
 * name, optionally group-qualified. The core group wins a tie with other groups (as in kubectl:
 * "events", or "pods" next to metrics.k8s.io); any other tie is refused with the candidates.
 */
export async function resolveResource(
  cluster: KubeCluster,
  input: string,
  verb: 'list' | 'get',
): Promise<Resolution> {
  let entries = await catalog(cluster);
  let found = find(entries, input);
  if (found.matches.length === 0) {
    // A CRD installed a moment ago: look again before giving up.
    // With groups missing from the cached catalog, read them again now.
    entries = await catalog(cluster, unreadGroups(cluster).length ? 0 : MISS_REFRESH_MS);
    found = find(entries, input);
  }
  const { matches } = found;
  if (matches.length === 0) {
    const names = [...new Set(entries.flatMap((e) => [e.resource, e.kind.toLowerCase()]))];
    const hint = didYouMean(input.toLowerCase(), names);
    const unread = unreadGroups(cluster).map((g) => g || 'core (v1)');
    if (unread.length) {
      throw new ToolError(
        'backend_error',
        `cluster '${cluster.name}' did not answer discovery for the API groups ${unread.join(', ')}, so '${input}' could not be looked up; try again in a moment.`,
      );
    }
    throw new ToolError(
      'not_found',
      `cluster '${cluster.name}' serves no resource named '${input}'${hint ? ` (did you mean '${hint}'?)` : ''}. Use a kind, plural or short name (Deployment, deployments, deploy), group-qualified when needed (certificates.cert-manager.io).`,
    );
  }
  const groups = [...new Set(matches.map((m) => m.group))];
  let entry: CatalogEntry;
  let alsoIn: string[] = [];
  if (groups.length === 1) entry = matches[0]!;
  else if (groups.includes('')) {
    entry = matches.find((m) => m.group === '')!;
    alsoIn = matches.filter((m) => m.group !== '').map(qualified);
  } else {
    const list = matches.map((m) => `${qualified(m)} (kind ${m.kind}, ${m.apiVersion})`).join(', ');
    throw new ToolError(
      'invalid_arguments',
      `'${input}' is ambiguous in cluster '${cluster.name}': it names ${matches.length} resources: ${list}. Ask again with the group-qualified name, e.g. '${qualified(matches[0]!)}'.`,
    );
  }
  if (!entry.verbs.includes(verb)) {
    throw new ToolError(
      'invalid_arguments',
      `${qualified(entry)} cannot be read with '${verb}' (it supports: ${entry.verbs.join(', ') || 'nothing'})`,
    );
  }
  const apiVersion = found.version
    ? entry.group
      ? `${entry.group}/${found.version}`
      : found.version
    : entry.apiVersion;
  const resolved = await resolveKind(cluster, apiVersion, entry.kind);
  return { entry, resolved, alsoIn };
}
