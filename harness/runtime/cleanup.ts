// Guaranteed cleanup for runtimes: a run id that names its owner process, a once-only SIGINT/SIGTERM
// handler that runs every registered teardown, and helpers that recognise leftovers of an earlier run
// whose harness process died (its pid is gone) so setup can remove them.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The environment variables that mark a node process as started by a quorumlab harness. */
export const runMarkerEnv = 'QL_HARNESS_RUN';

/** `<harness pid>-<4 hex>`: short (it goes into iptables chain names) and says who owns the run. */
export function newRunId(): string {
  return `${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** The harness pid a run id names, or undefined for ids made elsewhere. */
export function ownerPid(runId: string): number | undefined {
  const m = /^(\d+)-[0-9a-f]+$/.exec(runId);
  return m === null ? undefined : Number(m[1]);
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run is stale when its owner process is gone (an id that names no pid is never touched). */
export function isStaleRun(runId: string): boolean {
  const pid = ownerPid(runId);
  return pid !== undefined && pid !== process.pid && !isPidAlive(pid);
}

/** Processes carrying the run marker whose run is stale: [pid, runId]. Linux /proc only; elsewhere none. */
export function staleNodeProcesses(): [number, string][] {
  const out: [number, string][] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue;
    }
    const marker = environ.split('\0').find((kv) => kv.startsWith(`${runMarkerEnv}=`));
    if (marker === undefined) continue;
    const runId = marker.slice(runMarkerEnv.length + 1);
    if (isStaleRun(runId)) out.push([Number(name), runId]);
  }
  return out;
}

type Teardown = () => Promise<void>;
const teardowns = new Set<Teardown>();
let installed = false;
let exiting = false;

/**
 * Registers a teardown to run if the harness gets SIGINT or SIGTERM; returns the function that
 * unregisters it (call it after a normal teardown). The signal handler is installed once per process.
 */
export function registerTeardown(fn: Teardown): () => void {
  teardowns.add(fn);
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (exiting) return;
        exiting = true;
        const code = signal === 'SIGINT' ? 130 : 143;
        process.stderr.write(`quorumlab: ${signal}: tearing the cluster down before exiting\n`);
        // Bounded: a teardown that hangs must not keep the harness alive forever.
        const forced = setTimeout(() => process.exit(code), 15_000);
        forced.unref();
        void Promise.allSettled([...teardowns].map((t) => t())).then(() => process.exit(code));
      });
    }
  }
  return () => {
    teardowns.delete(fn);
  };
}

/**
 * Registers a synchronous last-resort cleanup for a normal process exit that skipped teardown (an uncaught
 * error, process.exit in a caller): only synchronous work runs there. Returns the unregister function.
 */
export function registerExitHook(fn: () => void): () => void {
  const hook = (): void => {
    try {
      fn();
    } catch {
      // Exiting anyway; nothing better to do.
    }
  };
  process.on('exit', hook);
  return () => {
    process.off('exit', hook);
  };
}

/** Removes `<tmpdir>/quorumlab-<runId>-*` directories of stale runs (data dirs, offset files); returns them. */
export function removeStaleTempDirs(log: (line: string) => void): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(os.tmpdir());
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = /^quorumlab-(\d+-[0-9a-f]+)-/.exec(name);
    if (m === null || !isStaleRun(m[1]!)) continue;
    const dir = path.join(os.tmpdir(), name);
    log(`removing leftover temp dir ${dir} of dead run ${m[1]}`);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
