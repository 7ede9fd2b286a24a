// The source tree must stay free of value-import cycles (ARCHITECTURE.md, STYLE.md): a module that imports
// a value from a module that imports it back sees half-initialised bindings at load time, and the concerns
// of the node core would knot into one. `import type` and `export type` are erased at compile time and
// do not count. Usage: node scripts/check-import-cycles.mjs [dir…] (default: node harness checkers workloads).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['node', 'harness', 'checkers', 'workloads'];

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative value imports of a file: every `import … from` / `export … from` that is not type-only. */
function valueImports(file) {
  const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out = [];
  // The clause cannot hold a quote or a semicolon: without that bound a lazy match starting at a package
  // import (`import x from 'pkg'`) would run on to the next relative `import type … from './y'` and count it
  // as a value import.
  const re = /^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"](\.[^'"]+)['"]/gm;
  for (const m of src.matchAll(re)) {
    if (m[2] !== undefined) continue;
    // `import { type A, type B } from` imports nothing at run time either.
    const names = /^\{([\s\S]*)\}$/.exec(m[3].trim());
    if (names !== null && names[1].split(',').map((s) => s.trim()).filter((s) => s !== '').every((s) => s.startsWith('type '))) continue;
    const target = resolve(dirname(file), m[4].replace(/\.js$/, '.ts'));
    if (existsSync(target)) out.push(target);
  }
  for (const m of src.matchAll(/^\s*import\s*['"](\.[^'"]+)['"]/gm)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (existsSync(target)) out.push(target);
  }
  return out;
}

const files = dirs.flatMap((d) => walk(resolve(root, d)));
const graph = new Map(files.map((f) => [f, valueImports(f)]));
const state = new Map();
const cycles = [];
function visit(f, stack) {
  state.set(f, 'open');
  stack.push(f);
  for (const g of graph.get(f) ?? []) {
    if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(root, x)).join(' -> '));
    else if (!state.has(g)) visit(g, stack);
  }
  stack.pop();
  state.set(f, 'done');
}
for (const f of files) if (!state.has(f)) visit(f, []);
if (cycles.length > 0) {
  console.error(cycles.join('\n'));
  console.error(`import cycles: ${cycles.length} value-import cycle(s)`);
  process.exit(1);
}
console.log(`import cycles: none among ${files.length} files (${dirs.join(', ')})`);
