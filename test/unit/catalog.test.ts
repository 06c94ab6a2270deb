import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toolsMarkdown } from '../../app/docs.js';
import { buildRegistry } from '../../tools/index.js';

describe('tool catalog', () => {
  const registry = buildRegistry();

  it('matches the reviewed snapshot (names, schemas, annotations, permissions)', async () => {
    const catalog = registry.list().map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      annotations: t.annotations,
      permission: t.permission,
      ...registry.jsonSchemas(t.name),
    }));
    await expect(`${JSON.stringify(catalog, null, 2)}\n`).toMatchFileSnapshot('../catalog/catalog.json');
  });

  it('every tool declares all four annotations and a description of when to call it', () => {
    for (const t of registry.list()) {
      expect(Object.keys(t.annotations).sort()).toEqual([
        'destructiveHint',
        'idempotentHint',
        'openWorldHint',
        'readOnlyHint',
      ]);
      expect(t.description.length).toBeGreaterThan(60);
      expect(t.title).toMatch(/^[A-Z][A-Za-z ]+: [A-Z]/);
    }
  });

  it('the tool table in docs/tools.md is the one generated from the registry', () => {
    const doc = readFileSync(new URL('../../docs/tools.md', import.meta.url), 'utf8');
    expect(doc).toContain(toolsMarkdown(registry));
  });
});
