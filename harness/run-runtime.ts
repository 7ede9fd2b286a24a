// Picks the Runtime implementation for a kind. Each is imported only when asked for, so a missing or
// broken optional runtime (Docker) never stops the others or the CLI from loading.
import type { Runtime, RuntimeKind } from './runtime/runtime.js';

const modules: Record<RuntimeKind, { path: string; exportName: string }> = {
  sim: { path: './runtime/sim/sim-runtime.js', exportName: 'SimRuntime' },
  local: { path: './runtime/local.js', exportName: 'LocalRuntime' },
  docker: { path: './runtime/docker.js', exportName: 'DockerRuntime' },
};

/** Options every runtime constructor accepts (each ignores what it does not use). */
export interface RuntimeCreateOptions {
  readonly log?: (line: string) => void;
}

export async function createRuntime(kind: RuntimeKind, options: RuntimeCreateOptions = {}): Promise<Runtime> {
  const entry = modules[kind];
  if (entry === undefined) throw new Error(`unknown runtime "${String(kind)}" (use sim, local or docker)`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(entry.path)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`the ${kind} runtime could not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const Ctor = mod[entry.exportName];
  if (typeof Ctor !== 'function') throw new Error(`the ${kind} runtime module exports no ${entry.exportName}`);
  return new (Ctor as new (o: RuntimeCreateOptions) => Runtime)(options);
}
