// The project's TypeScript compiled ahead of time, for the processes that start often: the CLI and campaign
// worker processes. Loading the sources through tsx compiles every module on each start (most of a CPU
// second per process); plain JavaScript loads in a fraction of that. The JavaScript is a mirror of the source
// tree (harness/, node/, checkers/, workloads/: one .js file per .ts file, at the same relative path, so
// relative imports, including the lazy ones with a computed specifier, resolve as they do in the sources),
// built on demand with esbuild into .build/<key>/ under the project root, where <key> hashes every source
// file, the tsconfig, esbuild's version and this file's build settings. A changed source therefore gets a
// fresh mirror, never a stale one. Each file is compiled as tsx compiles it (same target, keepNames,
// tsconfig), `import.meta.url` is replaced by the source file's URL (so paths found relative to a module,
// such as the repository root or chart.js, stay what they are in the sources), and source maps point back
// at the .ts files, so stack traces name the sources. Anything that fails (no esbuild, a read-only project
// folder, a source esbuild cannot compile) makes `precompiledEntry` return undefined and the caller loads
// the sources through tsx, as before. QUORUMLAB_PRECOMPILE=0 asks for that directly.
// Plain JavaScript on purpose: bin/quorumlab.js runs it before any TypeScript loader is registered.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bumped whenever the build settings below change, so that older mirrors are not reused. */
const buildVersion = 1;
const defaultRoot = fileURLToPath(new URL('..', import.meta.url));
/** The folders whose .ts files are compiled (tests and benches keep running through tsx). */
const sourceDirs = ['harness', 'node', 'checkers', 'workloads'];
/** Mirrors kept besides the current one (a long campaign may still be loading lazily from an older one). */
const keepOld = 3;
const oldAgeMs = 60 * 60 * 1000;

/**
 * @typedef {object} PrecompileOptions
 * @property {string} [root] the project root (default: this file's parent folder)
 * @property {string} [cacheDir] where mirrors go (default: <root>/.build)
 * @property {(line: string) => void} [onError] told why a mirror could not be built or used
 * @property {number} [racyMs] how recent a file change makes a signature not worth remembering (default 3000)
 */

/** Every .ts source below the source folders, as sorted paths relative to root (with '/'). */
function sourceFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) {
        out.push(relative(root, path).split(sep).join('/'));
      }
    }
  };
  for (const d of sourceDirs) if (existsSync(join(root, d))) walk(join(root, d));
  return out.sort();
}

/** This package's own esbuild, or tsx's (tsx compiles with it) when there is no direct one. */
function loadEsbuild() {
  const require = createRequire(join(defaultRoot, 'package.json'));
  try {
    return require('esbuild');
  } catch {
    return createRequire(require.resolve('tsx/package.json'))('esbuild');
  }
}

function esbuildVersion() {
  const require = createRequire(join(defaultRoot, 'package.json'));
  for (const from of [() => require.resolve('esbuild/package.json'), () => createRequire(require.resolve('tsx/package.json')).resolve('esbuild/package.json')]) {
    try {
      return JSON.parse(readFileSync(from(), 'utf8')).version;
    } catch {
      // Try the next place.
    }
  }
  return undefined;
}

/**
 * The key of the current sources: a hash of every source's path and bytes, the tsconfig, esbuild's version,
 * Node's version (the compile target) and the build settings.
 */
export function sourceKey(root = defaultRoot) {
  const hash = createHash('sha256');
  const version = esbuildVersion();
  if (version === undefined) return undefined;
  hash.update(`quorumlab-precompile ${buildVersion} esbuild ${version} node ${process.versions.node}\0`);
  const tsconfig = join(root, 'tsconfig.json');
  hash.update(existsSync(tsconfig) ? readFileSync(tsconfig) : '');
  const files = sourceFiles(root);
  for (const file of files) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(join(root, file)));
  }
  return { key: hash.digest('hex').slice(0, 20), files };
}

/** Compiles files (relative to root) into dir, as tsx would compile each on load. */
async function build(root, files, dir) {
  const esbuild = loadEsbuild();
  const importMetaUrl = {
    name: 'quorumlab-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        // A module's own URL is its source's: the compiled copy lives elsewhere, and paths found from it
        // (the repository root, node_modules/chart.js) must be those of the sources.
        const contents = text.includes('import.meta.url') ? text.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href)) : text;
        return { contents, loader: 'ts' };
      });
    },
  };
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: files,
    outdir: dir,
    outbase: root,
    bundle: false,
    format: 'esm',
    platform: 'node',
    // What tsx uses, so the compiled code is the code the sources run as under tsx.
    target: `node${process.versions.node}`,
    keepNames: true,
    minifyWhitespace: true,
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: existsSync(join(root, 'tsconfig.json')) ? join(root, 'tsconfig.json') : undefined,
    plugins: [importMetaUrl],
    logLevel: 'silent',
  });
  // The mirror's .js files are ES modules whatever package.json above it says.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
}

/** Removes mirrors beyond the newest few that are more than an hour old (never the current one). */
function prune(cacheDir, current) {
  try {
    const now = Date.now();
    const dirs = readdirSync(cacheDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== current)
      .map((e) => ({ name: e.name, mtimeMs: statSync(join(cacheDir, e.name)).mtimeMs }))
      .sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const [i, d] of dirs.entries()) {
      const building = d.name.startsWith('tmp-');
      if ((building || i >= keepOld) && now - d.mtimeMs > oldAgeMs) rmSync(join(cacheDir, d.name), { recursive: true, force: true });
    }
  } catch {
    // Pruning is housekeeping: a failure leaves old mirrors behind, nothing else.
  }
}

/** Signatures remembered in <cacheDir>/stat-keys.json (one per recent state of the sources). */
const keepSignatures = 8;
/** A file changed this recently may change again within the same timestamp tick (see `statSignature`). */
const racyMs = 3000;

/**
 * What the file system says about the sources without reading them: every source's path, size, inode,
 * modification and change time (nanoseconds), plus the tsconfig's, Node's version and the build settings.
 * Hashing every source's bytes costs 10–40 ms per CLI start; stat-ing them a few. The change time cannot be set
 * back by a user-space tool (an editor or `touch -d` that restores the mtime still moves it), so equal
 * signatures mean untouched files, the test git uses for its index. esbuild's version is not in it: a new
 * esbuild comes with a new package, and `sourceKey`, computed whenever the signature is new, has it.
 * Timestamps tick by the kernel's coarse clock (milliseconds), so a file changed twice within one tick keeps
 * its times: like git's "racy" entries, a signature with a file changed in the last seconds is not remembered.
 */
function statSignature(root, recentMs) {
  let newestChangeMs = 0;
  const hash = createHash('sha256');
  hash.update(`quorumlab-stat ${buildVersion} node ${process.versions.node}\0`);
  const files = sourceFiles(root);
  for (const file of ['tsconfig.json', ...files]) {
    hash.update(`\0${file}\0`);
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const st = statSync(path, { bigint: true });
    hash.update(`${st.size} ${st.ino} ${st.dev} ${st.mtimeNs} ${st.ctimeNs}`);
    newestChangeMs = Math.max(newestChangeMs, Number(st.ctimeNs / 1_000_000n), Number(st.mtimeNs / 1_000_000n));
  }
  return { signature: hash.digest('hex').slice(0, 32), racy: Date.now() - newestChangeMs < recentMs };
}

function readSignatures(cacheDir) {
  try {
    const parsed = JSON.parse(readFileSync(join(cacheDir, 'stat-keys.json'), 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((e) => typeof e?.signature === 'string' && typeof e?.key === 'string') : [];
  } catch {
    return [];
  }
}

/** Remembers signature -> key, newest first; written aside and renamed, so a reader never sees half a file. */
function rememberSignature(cacheDir, signature, key) {
  try {
    const entries = [{ signature, key }, ...readSignatures(cacheDir).filter((e) => e.signature !== signature)].slice(0, keepSignatures);
    const tmp = join(cacheDir, `stat-keys-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(entries)}\n`);
    renameSync(tmp, join(cacheDir, 'stat-keys.json'));
  } catch {
    // A cache of a cache: without it the next start hashes the sources again, nothing else.
  }
}

/** The folder of the current sources' compiled mirror, built if it is missing; undefined if it cannot be. */
export async function precompiledDir(options = {}) {
  const root = options.root ?? defaultRoot;
  const onError = options.onError ?? (() => {});
  if (process.env['QUORUMLAB_PRECOMPILE'] === '0') return undefined;
  try {
    const cacheDir = options.cacheDir ?? join(root, '.build');
    const { signature, racy } = statSignature(root, options.racyMs ?? racyMs);
    const known = racy ? undefined : readSignatures(cacheDir).find((e) => e.signature === signature);
    if (known !== undefined && existsSync(join(cacheDir, known.key, 'package.json'))) return join(cacheDir, known.key);
    const found = sourceKey(root);
    if (found === undefined) {
      onError('esbuild is not installed');
      return undefined;
    }
    const dir = join(cacheDir, found.key);
    if (existsSync(join(dir, 'package.json'))) {
      if (!racy) rememberSignature(cacheDir, signature, found.key);
      return dir;
    }
    mkdirSync(cacheDir, { recursive: true });
    // Keeps git from listing the mirrors, without an entry in the project's own .gitignore.
    if (!existsSync(join(cacheDir, '.gitignore'))) writeFileSync(join(cacheDir, '.gitignore'), '*\n');
    // Built aside and renamed into place in one step, so that a process never sees a half-written mirror;
    // when two processes build at once, the first rename wins and the other's copy is dropped.
    const tmp = join(cacheDir, `tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      await build(root, found.files, tmp);
      try {
        renameSync(tmp, dir);
      } catch (error) {
        if (!existsSync(join(dir, 'package.json'))) throw error;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    if (!racy) rememberSignature(cacheDir, signature, found.key);
    prune(cacheDir, found.key);
    return dir;
  } catch (error) {
    onError(error instanceof Error ? error.message.split('\n')[0] : String(error));
    return undefined;
  }
}

/**
 * The file URL of the compiled copy of `source` (a .ts path relative to the root, e.g. 'harness/cli.ts'),
 * or undefined when there is none (the caller then loads the source through tsx).
 */
export async function precompiledEntry(source, options = {}) {
  const dir = await precompiledDir(options);
  if (dir === undefined) return undefined;
  const file = join(dir, source.replace(/\.ts$/, '.js'));
  return existsSync(file) ? pathToFileURL(file).href : undefined;
}
