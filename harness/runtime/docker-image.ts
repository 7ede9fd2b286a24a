// Builds the reference node's Docker image FROM scratch, with no registry: the build context holds this
// machine's node binary, every shared library it (and the LevelDB addon and libfaketime) links against,
// the dynamic loader, the node's TypeScript sources and just the production packages it needs (tsx with
// esbuild, classic-level and their dependencies). The root filesystem is streamed by the tar CLI into
// `docker import` (one layer, about a second; the legacy builder is the fallback and is several times
// slower). The tag is a hash of all of that, so the image is made once and again only when the node's code
// or its runtime pieces change.
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { libfaketimePath } from './faketime.js';

export const imageRepository = 'quorumlab-node';
/** Bump when the image layout changes, so old cached images are not reused. */
const layoutVersion = '2';
/** Packages the node needs at run time besides what its sources import (the TypeScript loader). */
const loaderPackages = ['tsx'];
/** Inside the image: where the project lives, and the ports the node listens on. */
export const imageAppDir = '/app';

export interface NodeImagePlan {
  readonly tag: string;
  /** Absolute host paths of binaries and libraries to copy to the same path in the image. */
  readonly systemFiles: string[];
  /** package name → absolute directory under node_modules. */
  readonly packages: Map<string, string>;
}

function walk(dir: string, filter: (p: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...walk(p, filter));
    else if (filter(p)) out.push(p);
  }
  return out;
}

/** Package names the node's sources import (anything not relative and not node:). */
export function importedPackages(repoRoot: string): string[] {
  const names = new Set<string>(loaderPackages);
  for (const file of walk(path.join(repoRoot, 'node'), (p) => p.endsWith('.ts'))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  // Built-in modules imported without the node: prefix are not packages.
  const builtins = new Set(['fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'url', 'util', 'events', 'stream', 'buffer', 'perf_hooks', 'timers', 'zlib', 'child_process', 'assert']);
  return [...names].filter((n) => !builtins.has(n)).sort();
}

/** Resolves the production dependency closure (dependencies + installed optional ones) under node_modules. */
export function dependencyClosure(repoRoot: string, roots: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const queue: [string, string][] = roots.map((r) => [r, repoRoot]);
  while (queue.length > 0) {
    const [name, fromDir] = queue.shift()!;
    // Node's resolution: the nearest node_modules going up from the requiring package.
    let dir: string | undefined;
    for (let d = fromDir; ; d = path.dirname(d)) {
      const candidate = path.join(d, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) {
        dir = candidate;
        break;
      }
      if (d === path.dirname(d) || d.length < repoRoot.length) break;
    }
    if (dir === undefined) continue;
    const key = path.relative(repoRoot, dir);
    if (found.has(key)) continue;
    found.set(key, dir);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) queue.push([dep, dir]);
  }
  return found;
}

/** Shared libraries a binary links against (ldd), including the dynamic loader. */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const loader = /^\s*(\/\S+)\s+\(/.exec(line);
    if (arrow !== null) libs.push(arrow[1]!);
    else if (loader !== null) libs.push(loader[1]!);
  }
  return libs;
}

/** Files in a package that the image does not need (sources of the native addon, other platforms' builds). */
function keepPackageFile(src: string): boolean {
  if (/[\\/]classic-level[\\/]deps([\\/]|$)/.test(src)) return false;
  const prebuild = /[\\/]prebuilds[\\/]([^\\/]+)/.exec(src);
  if (prebuild !== null && prebuild[1] !== `${process.platform}-${process.arch}`) return false;
  if (/[\\/]esbuild[\\/]bin[\\/]esbuild$/.test(src)) return false; // the platform package carries the binary
  return true;
}

export function planNodeImage(repoRoot: string): NodeImagePlan {
  const packages = dependencyClosure(repoRoot, importedPackages(repoRoot));
  const addons = [...packages.values()].flatMap((dir) => walk(dir, (p) => p.endsWith('.node') && keepPackageFile(p) && !p.includes('.musl.')));
  const systemFiles = new Set<string>([process.execPath]);
  for (const bin of [process.execPath, ...addons, ...(existsSync(libfaketimePath) ? [libfaketimePath] : [])]) {
    if (bin !== process.execPath) systemFiles.add(bin);
    for (const lib of sharedLibraries(bin)) systemFiles.add(lib);
  }
  // libfaketime belongs at its usual path in the image; addons travel inside their package.
  for (const a of addons) systemFiles.delete(a);

  const hash = createHash('sha256');
  hash.update(`layout ${layoutVersion}\n`);
  for (const f of walk(path.join(repoRoot, 'node'), (p) => p.endsWith('.ts'))) {
    hash.update(`${path.relative(repoRoot, f)}\n`);
    hash.update(readFileSync(f));
  }
  hash.update(readFileSync(path.join(repoRoot, 'package.json')));
  for (const [rel, dir] of [...packages.entries()].sort()) {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string };
    hash.update(`${rel}@${pkg.version ?? '?'}\n`);
  }
  for (const f of [...systemFiles].sort()) {
    const st = statSync(f);
    hash.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  return { tag: `${imageRepository}:${hash.digest('hex').slice(0, 16)}`, systemFiles: [...systemFiles].sort(), packages };
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** The directories of the bundle's shared libraries (its library path), in the order first met. */
export function libraryDirs(plan: NodeImagePlan): string[] {
  return [...new Set(plan.systemFiles.filter((f) => f.endsWith('.so') || /\.so\.\d/.test(f)).map((f) => path.dirname(f)))];
}

/** The dynamic loader the bundle carries (ld-linux-*.so.*): the SSH runtime runs the node through it. */
export function bundleLoader(plan: NodeImagePlan): string {
  const loader = plan.systemFiles.find((f) => /^ld-(linux|musl)[^/]*\.so/.test(path.basename(f)));
  if (loader === undefined) throw new Error(`no dynamic loader among the node's libraries (${plan.systemFiles.join(', ')}) (definite: nothing was made)`);
  return loader;
}

/** Writes the build context: rootfs/ (copied to / in the image) and a Dockerfile. */
export function writeContext(ctx: string, repoRoot: string, plan: NodeImagePlan): void {
  const rootfs = path.join(ctx, 'rootfs');
  for (const f of plan.systemFiles) {
    const dest = path.join(rootfs, f);
    mkdirSync(path.dirname(dest), { recursive: true });
    // Symlinks (libc.so.6 → libc-2.x.so, /lib64 loader) are copied as the files they point to.
    cpSync(realpathSync(f), dest, { dereference: true });
  }
  const app = path.join(rootfs, imageAppDir.slice(1));
  cpSync(path.join(repoRoot, 'node'), path.join(app, 'node'), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  cpSync(path.join(repoRoot, 'package.json'), path.join(app, 'package.json'));
  if (existsSync(path.join(repoRoot, 'tsconfig.json'))) cpSync(path.join(repoRoot, 'tsconfig.json'), path.join(app, 'tsconfig.json'));
  for (const [rel, dir] of plan.packages) {
    cpSync(dir, path.join(app, rel), { recursive: true, dereference: true, filter: (src) => keepPackageFile(src) && !/[\\/]node_modules[\\/][^\\/]+$/.test(path.relative(dir, src)) });
  }
  for (const d of ['tmp', 'data', 'faketime']) {
    mkdirSync(path.join(rootfs, d), { recursive: true });
    chmodSync(path.join(rootfs, d), 0o1777);
  }
  const libPath = libraryDirs(plan).join(':');
  writeFileSync(
    path.join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      `WORKDIR ${imageAppDir}`,
      `ENV PATH=/usr/bin:/bin LD_LIBRARY_PATH=${libPath} HOME=/tmp TMPDIR=/tmp NODE_ENV=production`,
      `ENTRYPOINT ["${process.execPath}", "--import", "tsx", "node/main.ts"]`,
      '',
    ].join('\n'),
  );
}

/** The image settings the Dockerfile states, as `docker import --change` instructions. */
function imageChanges(ctx: string): string[] {
  const dockerfile = readFileSync(path.join(ctx, 'Dockerfile'), 'utf8').split('\n');
  return [...dockerfile.filter((l) => /^(WORKDIR|ENV|ENTRYPOINT) /.test(l)), 'LABEL quorumlab.image=node'];
}

/** `docker import` of rootfs/ streamed by the tar CLI: one layer, written in about a second. */
async function importRootfs(docker: Docker, ctx: string, tag: string): Promise<void> {
  const [repo, version] = tag.split(':') as [string, string];
  const tar = spawn('tar', ['-C', path.join(ctx, 'rootfs'), '--numeric-owner', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
  const tarDone = new Promise<number | null>((resolve) => tar.once('close', (code) => resolve(code)));
  const stream = await docker.importImage(tar.stdout, { repo, tag: version, changes: imageChanges(ctx) } as unknown as Record<string, unknown>);
  const output = await followProgress(docker, stream);
  const code = await tarDone;
  if (code !== 0) {
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    throw new Error(`tar exited with ${code}: ${tarErr.trim()}`);
  }
  const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
  if (failed !== undefined) throw new Error(`docker import failed: ${failed.error ?? failed.errorDetail?.message}`);
}

async function buildWithBuilder(docker: Docker, ctx: string, tag: string): Promise<void> {
  const stream = await docker.buildImage({ context: ctx, src: ['Dockerfile', 'rootfs'] }, { t: tag, rm: true, forcerm: true, labels: { 'quorumlab.image': 'node' } });
  const output = await followProgress(docker, stream);
  const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
  if (failed !== undefined) throw new Error(`docker build of ${tag} failed: ${failed.error ?? failed.errorDetail?.message} (definite: no image was made)`);
}

type ProgressEvent = { error?: string; errorDetail?: { message?: string }; stream?: string; status?: string };

function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, res: ProgressEvent[]) => (err !== null ? reject(err) : resolve(res)));
  });
}

/**
 * Returns the tag of the reference node's image, building it only when no image with the current content
 * hash exists. Build errors are definite: no image was made.
 */
export async function ensureNodeImage(docker: Docker, repoRoot: string, log: (line: string) => void): Promise<{ tag: string; built: boolean; seconds: number }> {
  const started = Date.now();
  const plan = planNodeImage(repoRoot);
  if (await imageExists(docker, plan.tag)) return { tag: plan.tag, built: false, seconds: (Date.now() - started) / 1000 };
  log(`building image ${plan.tag} (${plan.packages.size} packages, ${plan.systemFiles.length} system files)`);
  const ctx = await mkdtemp(path.join(os.tmpdir(), 'quorumlab-image-'));
  try {
    writeContext(ctx, repoRoot, plan);
    try {
      await importRootfs(docker, ctx, plan.tag);
    } catch (err) {
      // The import path is much faster (one layer, no builder containers); the legacy builder is the fallback.
      log(`importing the image failed (${(err as Error).message}); building it with the legacy builder instead`);
      await buildWithBuilder(docker, ctx, plan.tag);
    }
    if (!(await imageExists(docker, plan.tag))) throw new Error(`making ${plan.tag} reported success but the image is missing (definite)`);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  await removeOldImages(docker, plan.tag, log);
  return { tag: plan.tag, built: true, seconds: (Date.now() - started) / 1000 };
}

/** Older builds of the reference image are dead weight once a new one exists; images still in use stay. */
async function removeOldImages(docker: Docker, keepTag: string, log: (line: string) => void): Promise<void> {
  const images = await docker.listImages({ filters: { label: ['quorumlab.image=node'] } }).catch(() => []);
  for (const img of images) {
    if ((img.RepoTags ?? []).includes(keepTag)) continue;
    try {
      await docker.getImage(img.Id).remove({ force: false });
      log(`removed old image ${(img.RepoTags ?? [img.Id]).join(', ')}`);
    } catch {
      // In use by a container of a live run, or already gone.
    }
  }
}
