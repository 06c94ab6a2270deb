import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Source prefix of the runbooks Kubemate ships; no team folder may use it. */
export const SHIPPED_PREFIX = 'kubemate';

/**
 * The folder of shipped runbooks (`rag/runbooks/` in the package). Found next to this module when
 * run from source, and two levels up when run from the compiled `dist/rag/`.
 */
export function shippedRunbooksDir(): string {
  for (const rel of ['./runbooks/', '../../rag/runbooks/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('the shipped runbooks folder (rag/runbooks) is missing from this installation');
}

/** The folder's README describes the runbooks; it is not one. */
export const notARunbook = (relativePath: string) => /^readme\.(md|markdown|txt)$/i.test(relativePath);
