// Pure helpers of the models toolset: names, sizes, what /api/show means. No I/O here.

/** 1.2 GB, 253 MB, 512 B (decimal units, as Ollama itself prints sizes). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export const DEFAULT_REGISTRY = 'registry.ollama.ai';

/** Where a model name would be pulled from, the way Ollama reads names: host/namespace/model:tag. */
export function parseModelRef(name: string): {
  registry: string;
  namespace: string;
  model: string;
  tag: string;
} {
  const parts = name.split('/');
  const last = parts.at(-1)!;
  const colon = last.lastIndexOf(':');
  const model = colon > 0 ? last.slice(0, colon) : last;
  const tag = colon > 0 ? last.slice(colon + 1) : 'latest';
  if (parts.length >= 3) return { registry: parts[0]!, namespace: parts.slice(1, -1).join('/'), model, tag };
  if (parts.length === 2) return { registry: DEFAULT_REGISTRY, namespace: parts[0]!, model, tag };
  return { registry: DEFAULT_REGISTRY, namespace: 'library', model, tag };
}

/** Whether a registry host[:port] is in the allowlist (case-insensitive, exact host and port). */
export function registryAllowed(registry: string, allowed: readonly string[]): boolean {
  const want = registry.toLowerCase();
  return allowed.some((a) => a.toLowerCase() === want);
}

/** The registry's OCI manifest as Ollama serves and reads it. */
export interface RegistryManifest {
  schemaVersion?: number;
  config?: { digest: string; size: number };
  layers?: Array<{ digest: string; size: number; mediaType?: string }>;
}

/** Bytes a pull downloads at most: the config and every layer. */
export function manifestBytes(m: RegistryManifest): number | undefined {
  if (!Array.isArray(m.layers)) return undefined;
  const sizes = [m.config?.size ?? 0, ...m.layers.map((l) => l.size)];
  if (sizes.some((s) => typeof s !== 'number' || !Number.isFinite(s) || s < 0)) return undefined;
  return sizes.reduce((a, b) => a + b, 0);
}

/** Free space must cover the download plus this share, for unpacking and the filesystem's own slack. */
export const DISK_HEADROOM = 0.1;

export function diskTooSmall(need: number, free: number): boolean {
  return need * (1 + DISK_HEADROOM) > free;
}

export { modelFacts } from '../clients/ollama-models.js';

/** "in 4m", "2h ago": when a loaded model's keep-alive ends. */
export function until(at: Date | string, now = Date.now()): string {
  const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(t)) return '?';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  const text =
    abs < 90
      ? `${abs}s`
      : abs < 5400
        ? `${Math.round(abs / 60)}m`
        : abs < 172_800
          ? `${Math.round(abs / 3600)}h`
          : `${Math.round(abs / 86_400)}d`;
  // Ollama reports a model kept loaded forever (keep_alive -1) as expiring in the far future.
  if (s > 100 * 365 * 86_400) return 'never';
  return s >= 0 ? `in ${text}` : `${text} ago`;
}
