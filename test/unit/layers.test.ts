// The layer table of the architecture, enforced: which top-level folder may import which. Product
// code never imports test/, evals/ or bench/; policies/ and rag/ import nothing of ours; tools/ never
// imports a surface (agent/, mcp/, bots/, app/); a toolset never imports another toolset; app/ is the
// only place that wires everything.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve('.');
const PRODUCT = ['app', 'tools', 'mcp', 'policies', 'rag', 'agent', 'bots', 'alerts', 'state'] as const;

/**
 * Top-level folders each product folder may import, besides itself. `state/` (opening SQLite) is the
 * foundation: it imports nothing of ours, and everything may use it.
 */
const MAY_IMPORT: Record<(typeof PRODUCT)[number], readonly string[]> = {
  state: [],
  policies: ['state'],
  rag: ['state'],
  tools: ['policies', 'rag', 'state'],
  mcp: ['tools', 'policies', 'state'],
  agent: ['tools', 'rag', 'policies', 'state'],
  bots: ['agent', 'tools', 'rag', 'policies', 'state'],
  alerts: ['bots', 'agent', 'tools', 'policies', 'state'],
  app: ['tools', 'mcp', 'policies', 'rag', 'agent', 'bots', 'alerts', 'state'],
};

describe('every product folder is built and shipped', () => {
  it('is in tsconfig.build.json and in the package files', () => {
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    for (const folder of PRODUCT) {
      expect(build.include, `tsconfig.build.json include`).toContain(folder);
      expect(pkg.files, `package.json files`).toContain(`dist/${folder}`);
    }
  });
});

/** Single files a folder may import outside its row, each with its reason. */
const EXCEPTIONS: Record<string, string> = {
  // MCP prompts are the agent's prompt files, offered to IDE assistants as they are.
  'mcp -> agent/prompts.ts': 'MCP prompts share the agent prompt files',
};

/** tools/ folders every toolset may use; any other folder under tools/ is a toolset. */
const TOOLS_SHARED = new Set(['core', 'shared', 'clients', 'charts']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

interface Edge {
  from: string;
  to: string;
}

function edges(): Edge[] {
  const all: Edge[] = [];
  for (const top of PRODUCT) {
    let files: string[];
    try {
      files = sourceFiles(path.join(ROOT, top));
    } catch {
      continue; // a folder that does not exist yet
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2])!;
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
        all.push({ from: path.relative(ROOT, file), to: target });
      }
    }
  }
  return all;
}

const topOf = (p: string) => p.split(path.sep)[0]!;

describe('the layer table', () => {
  const found = edges();

  it('finds the imports it checks (the scan itself works)', () => {
    expect(found.length).toBeGreaterThan(200);
    expect(found).toContainEqual({ from: 'app/wiring.ts', to: 'tools/core/invoke.ts' });
  });

  it('each product folder imports only the folders its row allows', () => {
    const broken = found.filter(({ from, to }) => {
      const a = topOf(from) as (typeof PRODUCT)[number];
      const b = topOf(to);
      if (a === b) return false;
      if (MAY_IMPORT[a].includes(b)) return false;
      return !(`${a} -> ${to}` in EXCEPTIONS);
    });
    expect(broken.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('no product code imports test/, evals/ or bench/', () => {
    const broken = found.filter(({ to }) => ['test', 'evals', 'bench'].includes(topOf(to)));
    expect(broken.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('no toolset imports another toolset (shared code lives in tools/shared, core, clients, charts)', () => {
    const broken = found.filter(({ from, to }) => {
      if (topOf(from) !== 'tools' || topOf(to) !== 'tools') return false;
      const [, a] = from.split(path.sep);
      const [, b] = to.split(path.sep);
      if (!a || !b || a === b || a.endsWith('.ts')) return false; // tools/index.ts lists the toolsets
      return !TOOLS_SHARED.has(b);
    });
    expect(broken.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('the shared tools folders never import a toolset', () => {
    const broken = found.filter(({ from, to }) => {
      if (topOf(from) !== 'tools' || topOf(to) !== 'tools') return false;
      const [, a] = from.split(path.sep);
      const [, b] = to.split(path.sep);
      return !!a && !!b && TOOLS_SHARED.has(a) && !TOOLS_SHARED.has(b) && !b.endsWith('.ts');
    });
    expect(broken.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('no import cycles between product modules (type imports count too)', () => {
    const graph = new Map<string, string[]>();
    for (const { from, to } of found) graph.set(from, [...(graph.get(from) ?? []), to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (node: string): void => {
      state.set(node, 'open');
      stack.push(node);
      for (const next of graph.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(node, 'done');
    };
    for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
    expect(cycles).toEqual([]);
  });
});
