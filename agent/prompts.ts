import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Prompts are Markdown files in agent/prompts/. They are read from next to this module when run
 * from source, and from the source tree when run from dist/ (tsc does not copy them; the build
 * stays one `tsc` call), so `npm start` and `npx kubemate` find them either way.
 */
const CANDIDATES = ['./prompts/', '../../agent/prompts/'];

const cache = new Map<string, string>();

function dir(): string {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${path}system.md`)) return path;
  }
  throw new Error(`agent prompts not found (looked in ${CANDIDATES.join(', ')} next to ${import.meta.url})`);
}

/** The prompt file `name`.md with `{{key}}` placeholders filled in; an unknown placeholder is an error. */
export function prompt(name: string, vars: Record<string, string | number> = {}): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${dir()}${name}.md`, 'utf8').trim();
    cache.set(name, text);
  }
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    if (!(key in vars)) throw new Error(`prompt ${name}.md uses {{${key}}} but it was not given`);
    return String(vars[key]);
  });
}
