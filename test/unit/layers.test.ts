import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/ as a graph of its top-level folders and files (core, config-kit, credentials,
 * config, engine, entry, adapters, wiring.ts …): every relative import, `import type` and dynamic
 * `import()` included, is an edge. A cycle between two of them is how "config/ imports the kinds while
 * the kinds import config/types.ts" came about, and an import from core/ upwards always closes one.
 */

const SRC = resolve(import.meta.dirname, '../../src');

type Edges = Map<string, Map<string, string>>;

/** unit → unit → one import that makes the edge ("file: specifier"), for the failure message. */
function importGraph(root: string): Edges {
  const unit = (file: string) =>
    relative(root, file)
      .split('/')[0]!
      .replace(/\.[jt]s$/, '');
  const edges: Edges = new Map();
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files.map((f) => join(root, f))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles.filter((i) => i.fileName.startsWith('.'))) {
      const [from, to] = [unit(file), unit(resolve(dirname(file), fileName))];
      if (from === to) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${relative(root, file)}: ${fileName}`);
    }
  }
  return edges;
}

/** Every cycle's units in order, each cycle once (found from its first unit in sorted order). */
function cycles(edges: Edges): string[][] {
  const found: string[][] = [];
  const units = [...edges.keys()].sort();
  for (const start of units) {
    // Paths from `start` through units sorted after it only, so a cycle is reported from its least unit.
    const walk = (at: string, path: string[]): void => {
      for (const next of edges.get(at)?.keys() ?? []) {
        if (next === start) found.push(path);
        else if (next > start && !path.includes(next)) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  }
  return found;
}

const describeCycle = (edges: Edges, cycle: string[]) =>
  cycle.map(
    (u, i) => `${u} -> ${cycle[(i + 1) % cycle.length]} (${edges.get(u)!.get(cycle[(i + 1) % cycle.length]!)})`,
  );

describe('layers of src/', () => {
  it('has no import cycle between top-level folders', () => {
    const edges = importGraph(SRC);
    expect(edges.get('credentials')?.has('core')).toBe(true); // the walk sees imports at all
    expect(cycles(edges).map((c) => describeCycle(edges, c))).toEqual([]);
  });

  it('keeps core/ and config-kit/ below everything but errors.ts and the leaf util/', () => {
    const edges = importGraph(SRC);
    expect([...(edges.get('util')?.keys() ?? [])]).toEqual([]);
    expect([...(edges.get('core')?.keys() ?? [])].sort()).toEqual(['errors', 'util']);
    expect([...(edges.get('config-kit')?.keys() ?? [])].sort()).toEqual(['core', 'errors']);
  });

  it('lets config/ reach credential kinds only through the registry', () => {
    const files = readdirSync(join(SRC, 'config')).map((f) => join(SRC, 'config', f));
    const reached = files.flatMap((file) =>
      ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((i) => relative(SRC, resolve(dirname(file), i.fileName)))
        .filter((to) => to.startsWith('credentials/')),
    );
    expect([...new Set(reached)]).toEqual(['credentials/registry.js']);
  });
});
