// The node as the SSH runtime ships it: the same self-contained bundle the Docker image is built from
// (docker-image.ts: this machine's node binary, its dynamic loader and every shared library, libfaketime,
// the node's sources and production packages), unpacked on each host under `<dir>/bundle-<hash>/` and run
// through the bundled loader, so a host needs no Node.js of its own and its libc version does not matter.
// The hash is the image's content hash: a host that already has this bundle gets nothing sent again.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { bundleLoader, imageAppDir, libraryDirs, planNodeImage, writeContext } from './docker-image.js';
import { libfaketimePath } from './faketime.js';
import { shellQuote as q, type SshConnection } from './ssh-client.js';

export interface NodeBundle {
  /** Content hash (the reference image's tag suffix). */
  readonly hash: string;
  /** Absolute paths as they are inside the bundle's root. */
  readonly loader: string;
  readonly node: string;
  readonly libraryDirs: readonly string[];
  readonly appDir: string;
  /** libfaketime inside the bundle, when the controller has it to ship. */
  readonly faketimeLib?: string;
  readonly systemFiles: readonly string[];
}

/** What the bundle holds and under which hash, without writing anything. */
export function planNodeBundle(repoRoot: string): NodeBundle {
  const plan = planNodeImage(repoRoot);
  const faketime = plan.systemFiles.includes(libfaketimePath) ? libfaketimePath : undefined;
  return {
    hash: plan.tag.split(':')[1]!,
    loader: bundleLoader(plan),
    node: process.execPath,
    libraryDirs: libraryDirs(plan),
    appDir: imageAppDir,
    ...(faketime !== undefined ? { faketimeLib: faketime } : {}),
    systemFiles: plan.systemFiles,
  };
}

export function remoteBundleDir(hostDir: string, bundle: Pick<NodeBundle, 'hash'>): string {
  return `${hostDir}/bundle-${bundle.hash}`;
}

/**
 * Writes the bundle's files into a fresh local directory (its root); the caller removes it. The directory is
 * named for the run, so a controller that dies while shipping has it removed by its next run.
 */
export async function stageNodeBundle(repoRoot: string, runId: string): Promise<{ root: string; remove: () => Promise<void> }> {
  const ctx = await mkdtemp(path.join(os.tmpdir(), `quorumlab-${runId}-bundle-`));
  try {
    writeContext(ctx, repoRoot, planNodeImage(repoRoot));
  } catch (err) {
    await rm(ctx, { recursive: true, force: true });
    throw err;
  }
  return { root: path.join(ctx, 'rootfs'), remove: () => rm(ctx, { recursive: true, force: true }) };
}

/** Whether the host already holds this bundle, complete. */
export async function hasBundle(conn: SshConnection, hostDir: string, bundle: NodeBundle): Promise<boolean> {
  const dir = remoteBundleDir(hostDir, bundle);
  const r = await conn.exec(`test -f ${q(`${dir}/.complete`)}`);
  return r.exitCode === 0;
}

/**
 * Gets the bundle onto a host that lacks it. Hosts may share the directory (an NFS home, or the test's hosts on
 * one machine), so the first to claim it (`mkdir bundle-<hash>.claim`, atomic) ships it and the others wait for
 * it to be complete; on hosts with disks of their own every claim succeeds and all ship at once. A claim left
 * by a dead run of this controller is taken over; any other claim is waited for, up to `waitMs`.
 */
export async function installBundle(
  conn: SshConnection,
  hostDir: string,
  bundle: NodeBundle,
  staged: () => Promise<string>,
  owner: { controller: string; isStale: (pid: number) => boolean },
  waitMs = 600_000,
): Promise<'shipped' | 'shared'> {
  const dir = remoteBundleDir(hostDir, bundle);
  const claim = `${dir}.claim`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const out = await conn.run([
      `mkdir -p ${q(hostDir)}`,
      `if [ -f ${q(`${dir}/.complete`)} ]; then echo state=complete`,
      `elif mkdir ${q(claim)} 2>/dev/null; then printf 'controller=%s pid=%s\\n' ${q(owner.controller)} ${process.pid} > ${q(`${claim}/owner`)}; echo state=claimed`,
      `else echo "state=busy $(cat ${q(`${claim}/owner`)} 2>/dev/null)"; fi`,
    ].join('\n'));
    if (out.includes('state=complete')) return 'shared';
    if (out.includes('state=claimed')) {
      try {
        await shipBundle(conn, hostDir, bundle, await staged());
      } finally {
        await conn.exec(`rm -rf ${q(claim)}`).catch(() => undefined);
      }
      return 'shipped';
    }
    const m = /controller=(\S+) pid=(\d+)/.exec(out);
    if (m !== null && m[1] === owner.controller && owner.isStale(Number(m[2]))) {
      await conn.run(`rm -rf ${q(claim)}`);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another run has been shipping the node bundle to ${dir} for over ${Math.round(waitMs / 1000)} s (${out.trim()}); remove ${claim} if it is stale`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Streams the staged bundle (tar) to the host and unpacks it into a temporary directory there, renamed into
 * place only when complete: an interrupted transfer never leaves a half bundle that looks whole.
 */
async function shipBundle(conn: SshConnection, hostDir: string, bundle: NodeBundle, stagedRoot: string): Promise<void> {
  const dir = remoteBundleDir(hostDir, bundle);
  const script = [
    'set -e',
    `t=$(mktemp -d ${q(`${hostDir}/.bundle-XXXXXX`)})`,
    'trap \'rm -rf "$t"\' EXIT',
    'tar -C "$t" -xf -',
    'touch "$t/.complete"',
    'chmod 755 "$t"',
    `[ -e ${q(dir)} ] || mv "$t" ${q(dir)}`,
  ].join('\n');
  // node:child_process, not execa, for the local tar, and its 'exit' rather than 'close': its stdout is handed
  // to the ssh command as stdin, and neither an execa promise nor 'close' settles once another consumer owns it.
  const tar = spawn('tar', ['-C', stagedRoot, '--numeric-owner', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
  const tarDone = new Promise<number | null>((resolve) => tar.once('exit', (code) => resolve(code)));
  try {
    await conn.run(script, { input: tar.stdout, timeoutMs: 600_000 });
  } catch (err) {
    tar.kill('SIGKILL');
    await tarDone;
    throw err;
  }
  const code = await tarDone;
  if (code !== 0) throw new Error(`tar of the node bundle exited with ${String(code)}: ${tarErr.trim()} (definite: ${conn.label} did not get it)`);
}

/** The shell words that start the node from the bundle at `bundleDir` (run in its app directory). */
export function nodeCommandWords(bundleDir: string, bundle: NodeBundle, withFaketime: boolean): string[] {
  const at = (p: string): string => `${bundleDir}${p}`;
  return [
    at(bundle.loader),
    '--library-path', bundle.libraryDirs.map(at).join(':'),
    // --preload rather than LD_PRELOAD: the library reaches the node alone, not the shell or setsid that
    // start it (host programs, linked against the host's libc, not the bundle's).
    ...(withFaketime && bundle.faketimeLib !== undefined ? ['--preload', at(bundle.faketimeLib)] : []),
    at(bundle.node),
    '--import', 'tsx', 'node/main.ts',
  ];
}

/** The same, to print the version: proof the bundled node runs on the host. */
export function nodeVersionWords(bundleDir: string, bundle: NodeBundle, withFaketime: boolean): string[] {
  return [...nodeCommandWords(bundleDir, bundle, withFaketime).slice(0, -3), '-e', 'process.stdout.write(process.version)'];
}
