// Crashes: `kill` SIGKILLs nodes (they lose everything not durable), `restart` starts them again on the
// same data. Any member not already killed can be killed, a paused one too: it is then only crashed.
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
    draw: (): FaultStep => ({ f: 'kill', value: { targets: pick(ctx.settings.targets, random) } }),
    async apply(step: FaultStep): Promise<FaultApplied> {
      if (step.f === 'kill') {
        const nodes = resolveTargets(step, runtime.nodeIds().filter((id) => !down.killed.has(id)), runtime.nodeIds().length, random);
        for (const n of nodes) {
          await runtime.kill(n);
          down.killed.add(n);
          down.paused.delete(n);
        }
        return { f: 'kill', value: { nodes } };
      }
      if (step.f !== 'restart') throw unknownOp(step.f);
      const nodes = stringList(step.value.nodes) ?? sortNodeIds([...down.killed]);
      for (const n of nodes) {
        await runtime.restart(n);
        down.killed.delete(n);
      }
      return { f: 'restart', value: { nodes } };
    },
    undo: (): FaultStep[] => (down.killed.size > 0 ? [{ f: 'restart', value: { nodes: sortNodeIds([...down.killed]) } }] : []),
  };
}

export const crashFault: FaultDefinition = { kind: 'crash', owns: (f) => f === 'kill' || f === 'restart', create };
