// The compiled copy of the sources (bin/precompile.js) that the CLI and campaign workers load instead of
// compiling through tsx: on a small source tree of its own, a mirror is built on demand and reused while
// the sources stay the same, a changed source gets a new one, relative imports with a computed specifier
// resolve inside it, `import.meta.url` is the source's, and a stack trace names the .ts file and line.
// A source esbuild cannot compile, or QUORUMLAB_PRECOMPILE=0, gives no mirror (the caller then uses tsx),
// and two processes building at once both get the same complete mirror. On the project itself, the CLI
// started from its compiled copy runs as it does through tsx.
import t from 'tap';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { precompiledDir, precompiledEntry, sourceKey } from '../bin/precompile.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const precompileModule = pathToFileURL(join(projectRoot, 'bin', 'precompile.js')).href;

let root = '';
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ql-precompile-'));
  await mkdir(join(root, 'harness', 'sub'), { recursive: true });
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true } }));
  await writeFile(join(root, 'harness', 'a.ts'), [
    "import { double } from './sub/b.js';",
    'export const self: string = import.meta.url;',
    'export async function lazy(): Promise<number> {',
    "  const specifier = './sub/b.js';",
    '  const mod = (await import(specifier)) as { double: (x: number) => number };',
    '  return mod.double(21);',
    '}',
    'export const four: number = double(2);',
    '',
  ].join('\n'));
  await writeFile(join(root, 'harness', 'sub', 'b.ts'), [
    'interface Unused { readonly x: number }',
    'export function double(x: number): number {',
    '  return x * 2;',
    '}',
    'export function fail(): never {',
    "  throw new Error('from b');",
    '}',
    '',
  ].join('\n'));
});
t.teardown(() => (root !== '' ? rm(root, { recursive: true, force: true }) : undefined));

t.test('a mirror is built on demand, reused, and replaced when a source changes', async (t) => {
  const cacheDir = join(root, '.build');
  const errors: string[] = [];
  const dir = await precompiledDir({ root, cacheDir, onError: (e) => errors.push(e) });
  t.same(errors, []);
  t.ok(dir !== undefined && existsSync(join(dir, 'harness', 'sub', 'b.js')), 'b.ts compiled at its own relative path');
  t.equal(await precompiledDir({ root, cacheDir }), dir, 'the same sources reuse the mirror');
  t.ok(existsSync(join(cacheDir, '.gitignore')), 'git ignores the mirrors');

  const entry = await precompiledEntry('harness/a.ts', { root, cacheDir });
  t.ok(entry !== undefined);
  process.setSourceMapsEnabled(true);
  const a = (await import(entry!)) as { self: string; four: number; lazy: () => Promise<number> };
  t.equal(a.four, 4);
  t.equal(await a.lazy(), 42, 'a computed relative specifier resolves inside the mirror');
  t.equal(a.self, pathToFileURL(join(root, 'harness', 'a.ts')).href, "import.meta.url is the source's");
  const b = (await import(new URL('./sub/b.js', entry!).href)) as { fail: () => never };
  try {
    b.fail();
    t.fail('fail() returned');
  } catch (error) {
    const stack = (error as Error).stack ?? '';
    t.match(stack, /harness[/\\]sub[/\\]b\.ts:6:\d+/, 'the stack trace names the source file and line');
  }

  const before = sourceKey(root)!.key;
  await writeFile(join(root, 'harness', 'sub', 'c.ts'), 'export const c = 1;\n');
  const after = sourceKey(root)!.key;
  t.not(after, before, 'a new source changes the key');
  const next = await precompiledDir({ root, cacheDir });
  t.not(next, dir, 'and gets a new mirror');
  t.ok(existsSync(join(next!, 'harness', 'sub', 'c.js')));
  await rm(join(root, 'harness', 'sub', 'c.ts'));
  t.equal(sourceKey(root)!.key, before, 'the key depends on the sources only');
});

t.test('an unchanged tree is found by its stat signature; a rewrite that keeps size and mtime is not', async (t) => {
  const tree = await mkdtemp(join(tmpdir(), 'ql-precompile-stat-'));
  t.teardown(() => rm(tree, { recursive: true, force: true }));
  await mkdir(join(tree, 'harness'));
  const file = join(tree, 'harness', 'x.ts');
  await writeFile(file, 'export const x: number = 1;\n');
  const cacheDir = join(tree, '.build');
  const signatures = async (): Promise<Array<{ signature: string; key: string }>> =>
    JSON.parse(await readFile(join(cacheDir, 'stat-keys.json'), 'utf8').catch(() => '[]')) as Array<{ signature: string; key: string }>;

  const racy = await precompiledDir({ root: tree, cacheDir });
  t.ok(racy !== undefined);
  t.same(await signatures(), [], 'a tree changed in the last seconds is not remembered (timestamps tick coarsely)');

  const first = await precompiledDir({ root: tree, cacheDir, racyMs: 0 });
  t.equal(first, racy, 'same sources, same mirror');
  const remembered = await signatures();
  t.equal(remembered.length, 1);
  t.equal(join(cacheDir, remembered[0]!.key), first, 'the signature names the mirror');
  t.equal(await precompiledDir({ root: tree, cacheDir, racyMs: 0 }), first, 'found again by its signature');
  t.equal((await signatures()).length, 1);

  // Same size, modification time put back: only the change time (and the bytes) tell.
  const { mtime } = await stat(file);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await writeFile(file, 'export const x: number = 2;\n');
  await utimes(file, mtime, mtime);
  const second = await precompiledDir({ root: tree, cacheDir, racyMs: 0 });
  t.not(second, first, 'the rewritten source gets a fresh mirror, not the stale one');
  t.match(await readFile(join(second!, 'harness', 'x.js'), 'utf8'), /x=2/);
  t.equal((await signatures()).length, 2);
});

t.test('two processes building at once get the same complete mirror', async (t) => {
  const cacheDir = join(root, '.build-race');
  const script = `const { precompiledDir } = await import(${JSON.stringify(precompileModule)}); ` +
    `process.stdout.write(String(await precompiledDir({ root: ${JSON.stringify(root)}, cacheDir: ${JSON.stringify(cacheDir)}, onError: (e) => console.error(e) })));`;
  const [x, y] = await Promise.all([1, 2].map(() => execa(process.execPath, ['--input-type=module', '-e', script])));
  t.equal(x!.stderr, '');
  t.equal(y!.stderr, '');
  t.equal(x!.stdout, y!.stdout);
  t.ok(existsSync(join(x!.stdout, 'harness', 'a.js')));
  t.same((await readdir(cacheDir)).filter((n) => n.startsWith('tmp-')), [], 'no half-built copy is left');
});

t.test('no mirror when a source does not compile, or when asked for none', async (t) => {
  const broken = await mkdtemp(join(tmpdir(), 'ql-precompile-broken-'));
  t.teardown(() => rm(broken, { recursive: true, force: true }));
  await mkdir(join(broken, 'harness'));
  await writeFile(join(broken, 'harness', 'x.ts'), 'export const x = ;\n');
  const errors: string[] = [];
  t.equal(await precompiledDir({ root: broken, onError: (e) => errors.push(e) }), undefined);
  t.equal(errors.length, 1, 'and says why');
  t.same((await readdir(join(broken, '.build'))).filter((n) => n !== '.gitignore'), [], 'nothing half-built stays');

  const saved = process.env['QUORUMLAB_PRECOMPILE'];
  process.env['QUORUMLAB_PRECOMPILE'] = '0';
  try {
    t.equal(await precompiledDir({ root }), undefined);
  } finally {
    if (saved === undefined) delete process.env['QUORUMLAB_PRECOMPILE'];
    else process.env['QUORUMLAB_PRECOMPILE'] = saved;
  }
});

t.test("every relative import in the project's compiled copy names a file inside it", async (t) => {
  const dir = await precompiledDir();
  t.ok(dir !== undefined, 'the project compiles');
  const files = (await readdir(dir!, { recursive: true })).filter((f) => f.endsWith('.js'));
  t.ok(files.length > 100);
  const missing: string[] = [];
  for (const file of files) {
    const text = await readFile(join(dir!, file), 'utf8');
    // Static imports and re-exports, and import() of a literal: what the module loader resolves relative to the copy.
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
      if (!existsSync(join(dir!, dirname(file), m[1]!))) missing.push(`${file}: ${m[1]}`);
    }
  }
  t.same(missing, [], 'nothing outside the copy is imported by a relative path');
});

t.test('the CLI from its compiled copy and through tsx print the same', async (t) => {
  const bin = join(projectRoot, 'bin', 'quorumlab.js');
  t.ok(await precompiledEntry('harness/cli.ts'), 'the project compiles');
  const args = ['run', '--runtime', 'sim', '--workload', 'register', '--nemesis', 'partition', '--time-limit', '1', '--quiesce', '1', '--seed', '5'];
  const outputs: string[] = [];
  for (const env of [{}, { QUORUMLAB_PRECOMPILE: '0' }]) {
    const store = await mkdtemp(join(tmpdir(), 'ql-precompile-cli-'));
    t.teardown(() => rm(store, { recursive: true, force: true }));
    const r = await execa(process.execPath, [bin, ...args, '--store', store, '--name', 'p'], { env, reject: false });
    t.equal(r.exitCode, 0, r.stderr);
    const [stamp] = await readdir(join(store, 'p'));
    outputs.push(await readFile(join(store, 'p', stamp!, 'history.jsonl'), 'utf8'));
  }
  t.ok(outputs[0]!.length > 0);
  t.equal(outputs[0], outputs[1], 'the same history, byte for byte');
  const bad = await execa(process.execPath, [bin, 'run', '--runtime', 'nope'], { reject: false });
  t.equal(bad.exitCode, 2);
  t.equal(bad.stderr.trim().split('\n').length, 1, 'bad input: one line');
});
