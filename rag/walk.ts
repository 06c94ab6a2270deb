import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isSupported } from './loaders/index.js';

/**
 * Files ingestion reads under `root`, as sorted paths relative to it with forward slashes. Hidden
 * files and folders (`.git`) and node_modules are skipped; symbolic links to folders are not followed.
 */
export async function runbookFiles(
  root: string,
  exclude?: (relativePath: string) => boolean,
): Promise<string[]> {
  const info = await stat(root).catch(() => undefined);
  if (!info) throw new Error(`runbook folder ${root} does not exist`);
  if (!info.isDirectory()) throw new Error(`${root} is not a folder`);
  const out: string[] = [];
  const visit = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) await visit(path);
      else if ((e.isFile() || e.isSymbolicLink()) && isSupported(e.name)) {
        const rel = relative(root, path).split(sep).join('/');
        if (!exclude?.(rel)) out.push(rel);
      }
    }
  };
  await visit(root);
  return out.sort();
}
