// Toolsets declare themselves (name, backends, tools), and every tool name the agent's prompts,
// degraded-mode rules and the MCP server's instructions mention is a tool the registry has.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROMPTS } from '../../mcp/prompts.js';
import { backendConfigured } from '../../tools/clients/backends.js';
import { BackendSet } from '../../tools/clients/http-backend.js';
import { defineToolset } from '../../tools/core/toolset.js';
import { buildRegistry, toolsets } from '../../tools/index.js';

const registry = buildRegistry();

/** Snake-case words in these files that are wire or status words or MCP prompt names, not tool names. */
const NOT_TOOLS = new Set([
  'approval_required',
  'tool_result',
  'tool_call',
  'not_found',
  ...PROMPTS.map((p) => p.name),
]);

function sources(): Array<[string, string]> {
  const files = [
    ...readdirSync('agent/prompts').map((f) => path.join('agent/prompts', f)),
    ...readdirSync('agent/degraded').map((f) => path.join('agent/degraded', f)),
    'agent/tool-specs.ts',
    'mcp/server.ts',
    'mcp/prompts.ts',
  ];
  return files.map((f) => [f, readFileSync(f, 'utf8')]);
}

describe('toolsets', () => {
  it('each declares its name, the backends it reaches and its tools, and owns exactly its tools', () => {
    const names = toolsets.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const set of toolsets) {
      expect(set.tools.length).toBeGreaterThan(0);
      for (const tool of set.tools) expect(tool.permission.toolset).toBe(set.name);
    }
    expect(toolsets.flatMap((t) => t.tools.map((x) => x.name)).sort()).toEqual(registry.names().sort());
    expect(registry.backendsOf('promql_query')).toEqual(['prometheus', 'alertmanager']);
    expect(registry.backendsOf('approvals_list')).toEqual([]);
  });

  it('refuses a tool listed under another toolset', () => {
    const [tool] = toolsets.find((t) => t.name === 'cluster')!.tools;
    expect(() => defineToolset({ name: 'metrics', backends: [], tools: [tool!] })).toThrow(
      `tool '${tool!.name}' declares toolset 'cluster' but is listed in toolset 'metrics'`,
    );
  });

  it('a declared backend counts as there only when it is configured', () => {
    const kube = {} as never;
    const prometheus = new BackendSet('Prometheus', [
      { name: 'main', url: 'http://127.0.0.1:9', timeoutSeconds: 1, retries: 0 },
    ]);
    expect(backendConfigured({ kube }, 'prometheus')).toBe(false);
    expect(backendConfigured({ kube, prometheus }, 'prometheus')).toBe(true);
    expect(backendConfigured({ kube }, 'runbooks')).toBe(false);
    expect(backendConfigured({ kube }, 'kubernetes')).toBe(true);
  });
});

describe('tool names outside the registry', () => {
  it('every tool name in prompts, degraded-mode rules and server instructions exists', () => {
    const mentioned = new Map<string, string>();
    for (const [file, text] of sources()) {
      for (const m of text.matchAll(/\b[a-z]+(?:_[a-z0-9]+)+\b/g)) {
        if (!NOT_TOOLS.has(m[0]) && !mentioned.has(m[0])) mentioned.set(m[0], file);
      }
    }
    // The scan finds the names these files really use.
    expect(mentioned.size).toBeGreaterThanOrEqual(15);
    expect([...mentioned.keys()]).toContain('pods_list');
    const unknown = [...mentioned].filter(([name]) => !registry.find(name)).map(([n, f]) => `${n} (${f})`);
    expect(unknown).toEqual([]);
  });
});
