// scripts/check-import-cycles.mjs guards the one-way dependencies of ARCHITECTURE.md in `npm run lint`, so it
// must catch a value-import cycle and must not count type-only imports (erased at compile time) as one, also
// when a package import comes first in the file (the case it once miscounted).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const script = new URL('../scripts/check-import-cycles.mjs', import.meta.url).pathname;

function check(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ql-cycles-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b = "import { a } from './a.js';\nexport type B = number;\nexport const c = a;\n";

t.test('a value-import cycle fails', async (t) => {
  const r = check({ 'a.ts': "import { c } from './b.js';\nexport const a = c;\n", 'b.ts': b });
  t.equal(r.status, 1, r.out);
  t.match(r.out, /a\.ts -> .*b\.ts -> .*a\.ts/);
});

t.test('a value import of one name beside type-only names still counts', async (t) => {
  const r = check({ 'a.ts': "import x from 'node:fs';\nimport { type B, c } from './b.js';\nexport const a = [x, c];\n", 'b.ts': b });
  t.equal(r.status, 1, r.out);
});

t.test('type-only imports after a package import are not a cycle', async (t) => {
  for (const clause of ['import type { B } from', 'import { type B } from', 'export type { B } from']) {
    const r = check({ 'a.ts': `import x from 'node:fs';\n${clause} './b.js';\nexport const a = x;\n`, 'b.ts': b });
    t.equal(r.status, 0, `${clause}: ${r.out}`);
    t.match(r.out, /import cycles: none among 2 files/);
  }
});
