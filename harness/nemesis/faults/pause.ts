// Pauses: `pause` stops live nodes (SIGSTOP, `docker pause`) without losing anything, `resume` lets them
// run on. A paused node that is then killed counts as crashed only (crash.ts).
import type { FaultContext, FaultDefinition } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { sortNodeIds } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';
import { resolveTargets, stringList } from '../targets.js';

function create(ctx: FaultContext) {
  const { runtime, random, down } = ctx;
  return {
    startable: () => down.live(runtime.nodeIds()).length > 0,
    draw: (): FaultStep => ({ f: 'pause', value: { targets: pick(ctx.settings.targets, random) } }),
    async apply(step: FaultStep): Promise<FaultApplied> {
      if (step.f === 'pause') {
        const nodes = resolveTargets(step, down.live(runtime.nodeIds()), runtime.nodeIds().length, random);
        for (const n of nodes) {
          await runtime.pause(n);
          down.paused.add(n);
        }
        return { f: 'pause', value: { nodes } };
      }
      if (step.f !== 'resume') throw unknownOp(step.f);
      const nodes = stringList(step.value.nodes) ?? sortNodeIds([...down.paused]);
      for (const n of nodes) {
        await runtime.resume(n);
        down.paused.delete(n);
      }
      return { f: 'resume', value: { nodes } };
    },
    undo: (): FaultStep[] => (down.paused.size > 0 ? [{ f: 'resume', value: { nodes: sortNodeIds([...down.paused]) } }] : []),
  };
}

export const pauseFault: FaultDefinition = { kind: 'pause', owns: (f) => f === 'pause' || f === 'resume', create };
