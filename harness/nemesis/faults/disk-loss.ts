// Disk loss (Riak's kv679): `disk-loss` SIGKILLs one node and removes its data directory while it is down,
// `disk-restart` starts it again with the same id on the empty disk. One node of the run, the first one
// drawn, is the only one that ever loses its disk, and never while an earlier loss of it is still in force:
// then "one replica lost its disk" is exactly what happened, and a write acknowledged by W ≥ 2 replicas
// always keeps a copy on a disk that was never lost, so a correct node has no excuse to lose it.
import type { FaultContext, FaultDefinition } from '../fault.js';
import { heldNodesFault } from './held-nodes.js';

function create(ctx: FaultContext) {
  const { runtime, down } = ctx;
  /** The node that loses its disk in this run (drawn by the first disk-loss, then named in every step). */
  let victim: string | undefined;
  const inner = heldNodesFault(ctx, {
    start: 'disk-loss',
    stop: 'disk-restart',
    held: down.wiped,
    eligible: () => down.live(runtime.nodeIds()).filter((id) => victim === undefined || id === victim),
    takeDown: async (n) => {
      await runtime.kill(n);
      await runtime.wipe(n);
    },
    bringBack: (n) => runtime.restart(n),
    afterDown: (n) => {
      victim ??= n;
    },
  });
  return {
    ...inner,
    startable: () => down.wiped.size === 0 && down.live(runtime.nodeIds()).some((id) => victim === undefined || id === victim),
    // Always exactly one node: the victim once there is one, so the step replays without the seed.
    draw: () => ({ f: 'disk-loss', value: victim === undefined ? { targets: 'one' } : { nodes: [victim] } }),
    forget: (node: string) => {
      if (node === victim) victim = undefined;
    },
  };
}

export const diskLossFault: FaultDefinition = { kind: 'disk-loss', owns: (f) => f === 'disk-loss' || f === 'disk-restart', create };
