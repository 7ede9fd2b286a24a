// Disk loss (Riak's kv679): `disk-loss` SIGKILLs one node and removes its data directory while it is down,
// `disk-restart` starts it again with the same id on the empty disk. One node of the run, the first one
// drawn, is the only one that ever loses its disk, and never while an earlier loss of it is still in force:
// then "one replica lost its disk" is exactly what happened, and a write acknowledged by W ≥ 2 replicas
// always keeps a copy on a disk that was never lost, so a correct node has no excuse to lose it.
import type { FaultContext, FaultDefinition } from '../fault.js';
import type { FaultStep } from '../nemesis.js';
import { stringList } from '../targets.js';
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
  // Always exactly one node: the victim once there is one, so the step replays without the seed.
  const step = (): FaultStep => ({ f: 'disk-loss', value: victim === undefined ? { targets: 'one' } : { nodes: [victim] } });
  return {
    ...inner,
    apply: (s: FaultStep) => {
      const named = stringList(s.value.nodes);
      const other = named?.find((n) => n !== victim);
      if (s.f === 'disk-loss' && (s.value.targets ?? 'one') !== 'one') return Promise.reject(new Error(`disk-loss takes one node, not targets "${String(s.value.targets)}" (definite: nothing was done)`));
      if (s.f === 'disk-loss' && named !== undefined && (named.length !== 1 || (victim !== undefined && other !== undefined))) {
        return Promise.reject(new Error(`disk-loss takes one node, the run's first (${victim ?? 'none yet'}), got ${named.join(',')} (definite: nothing was done)`));
      }
      return inner.apply(s);
    },
    startable: () => down.wiped.size === 0 && down.live(runtime.nodeIds()).some((id) => victim === undefined || id === victim),
    draw: step,
    // The coverage pass has one shape to play: one node's disk.
    shapes: () => [step()],
    forget: (node: string) => {
      if (node === victim) victim = undefined;
    },
  };
}

export const diskLossFault: FaultDefinition = { kind: 'disk-loss', owns: (f) => f === 'disk-loss' || f === 'disk-restart', create };
