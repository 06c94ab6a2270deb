import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isSupported } from './loaders/index.js';

/** A file ingestion left alone, and why, for the summary. */
export interface SkippedFile {
  /** Relative to the root, with forward slashes. */
  file: string;
  reason: string;
}

export interface RunbookWalk {
  /** Sorted paths relative to the root, with forward slashes. */
  files: string[];
  skipped: SkippedFile[];
}

const OUTSIDE = 'a symbolic link that resolves outside the runbook folder; not read';

function isInside(rootReal: string, path: string): boolean {
  return path === rootReal || path.startsWith(rootReal.endsWith(sep) ? rootReal : `${rootReal}${sep}`);
}

/**
 * What ingestion reads under `root`. Hidden files and folders (`.git`) and node_modules are left
 * out. Symbolic links are never followed out of the folder: a link whose target (resolved through
 * every link on the way) lies outside `root` is skipped, as are broken links, link loops and links
 * to folders (a folder inside is read where it is; following links could read it twice or forever).
 * Every skip of a runbook-looking name says why.
 */
export async function walkRunbooks(
  root: string,
  exclude?: (relativePath: string) => boolean,
): Promise<RunbookWalk> {
  const info = await stat(root).catch(() => undefined);
  if (!info) throw new Error(`runbook folder ${root} does not exist`);
  if (!info.isDirectory()) throw new Error(`${root} is not a folder`);
  const rootReal = await realpath(root);
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  // Bind mounts can make a folder its own descendant: each real folder is read once.
  const seen = new Set<string>();
  const visit = async (dir: string) => {
    const dirInfo = await stat(dir);
    const id = `${dirInfo.dev}:${dirInfo.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const path = join(dir, e.name);
      const rel = relative(root, path).split(sep).join('/');
      if (e.isDirectory()) {
        await visit(path);
        continue;
      }
      if (exclude?.(rel)) continue;
      if (e.isSymbolicLink()) {
        const reason = await symlinkProblem(rootReal, path);
        if (reason === undefined) files.push(rel);
        else if (reason !== null) skipped.push({ file: rel, reason });
        continue;
      }
      if (!isSupported(e.name)) continue;
      if (e.isFile()) files.push(rel);
      else skipped.push({ file: rel, reason: 'not a regular file (a pipe, socket or device); not read' });
    }
  };
  await visit(root);
  return { files: files.sort(), skipped: skipped.sort((a, b) => a.file.localeCompare(b.file)) };
}

/**
 * undefined: a link to a runbook file inside the folder, to be read; a string: why it is skipped;
 * null: a link to something that is not a runbook anyway.
 */
async function symlinkProblem(rootReal: string, path: string): Promise<string | null | undefined> {
  let target: string;
  try {
    target = await realpath(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!isSupported(path)) return null;
    if (code === 'ELOOP') return 'a symbolic link loop; not read';
    if (code === 'ENOENT') return 'a broken symbolic link; not read';
    return `a symbolic link that cannot be resolved (${code ?? (e as Error).message}); not read`;
  }
  const targetInfo = await stat(target).catch(() => undefined);
  if (!isInside(rootReal, target)) {
    return isSupported(path) || targetInfo?.isDirectory() ? OUTSIDE : null;
  }
  if (targetInfo?.isDirectory()) {
    return 'a symbolic link to a folder; not followed (files inside the runbook folder are read where they are)';
  }
  if (!isSupported(path)) return null;
  if (!targetInfo?.isFile()) return 'a symbolic link to something that is not a regular file; not read';
  return undefined;
}

/** The files ingestion reads under `root`; see `walkRunbooks`. */
export async function runbookFiles(
  root: string,
  exclude?: (relativePath: string) => boolean,
): Promise<string[]> {
  return (await walkRunbooks(root, exclude)).files;
}

/**
 * Reads one file found by `walkRunbooks`, checking again at read time that it resolves inside the
 * folder and is a regular file: a link swapped in after the walk is refused, not followed.
 */
export async function readRunbookFile(root: string, rel: string): Promise<Buffer> {
  const rootReal = await realpath(root);
  const real = await realpath(join(root, rel));
  if (!isInside(rootReal, real)) throw new Error(OUTSIDE);
  // The resolved path has no links left; O_NOFOLLOW refuses one put in its place since.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file; not read');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
