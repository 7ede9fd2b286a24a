// Picks the Runtime implementation for a kind. Each is imported only when asked for, so a missing or
// broken optional runtime (Docker) never stops the others or the CLI from loading.
import type { Runtime, RuntimeKind } from './runtime/runtime.js';
import type { SshRunOptions } from './runtime/ssh.js';

const modules: Record<RuntimeKind, { path: string; exportName: string }> = {
  sim: { path: './runtime/sim/sim-runtime.js', exportName: 'SimRuntime' },
  local: { path: './runtime/local.js', exportName: 'LocalRuntime' },
  docker: { path: './runtime/docker.js', exportName: 'DockerRuntime' },
  ssh: { path: './runtime/ssh.js', exportName: 'SshRuntime' },
};

/**
 * Runtime modules already loaded, by path. A process taking run after run (a campaign lane) would otherwise
 * pay an import() per run, which under the tsx loader is a round trip to its hooks thread even for a module
 * already loaded (about 0.4 ms CPU and more in wall time).
 */
const loaded = new Map<string, Record<string, unknown>>();

/** Options every runtime constructor accepts (each ignores what it does not use). */
export interface RuntimeCreateOptions {
  readonly log?: (line: string) => void;
  /** ssh: the hosts and how to reach them (`--hosts` or `--inventory`, the host-key flags). */
  readonly ssh?: SshRunOptions;
  /** local: node i listens on 127.0.0.(hostBase + i) (`--host-base`; default the runtime's, 10). */
  readonly hostBase?: number;
}

export async function createRuntime(kind: RuntimeKind, options: RuntimeCreateOptions = {}): Promise<Runtime> {
  const entry = modules[kind];
  if (entry === undefined) throw new Error(`unknown runtime "${String(kind)}" (use sim, local, docker or ssh)`);
  let mod = loaded.get(entry.path);
  try {
    if (mod === undefined) {
      mod = (await import(entry.path)) as Record<string, unknown>;
      loaded.set(entry.path, mod);
    }
  } catch (error) {
    throw new Error(`the ${kind} runtime could not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const Ctor = mod[entry.exportName];
  if (typeof Ctor !== 'function') throw new Error(`the ${kind} runtime module exports no ${entry.exportName}`);
  // The SSH runtime takes its hosts among its own options; the others ignore what they do not use.
  const given = kind === 'ssh' ? { ...options.ssh, ...(options.log !== undefined ? { log: options.log } : {}) } : options;
  return new (Ctor as new (o: object) => Runtime)(given);
}
