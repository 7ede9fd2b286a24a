// Partitions: `partition` cuts the cluster by a kind drawn from the settings (or by explicit `sides`),
// `heal` removes every cut. One partition is in force at a time.
import type { FaultContext, FaultDefinition } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { grudgeFromSides, partitionKinds, planPartition, type PartitionKind } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';
import { stringList } from '../targets.js';

function create(ctx: FaultContext) {
  const { runtime, random } = ctx;
  let partitioned = false;

  async function cut(step: FaultStep): Promise<FaultApplied> {
    const members = runtime.nodeIds();
    const explicitSides = Array.isArray(step.value.sides) ? (step.value.sides as unknown[]).map(stringList) : undefined;
    let sides: string[][];
    let grudge: Record<string, readonly string[]>;
    let bridge: string | undefined;
    const kind = (typeof step.value.kind === 'string' ? step.value.kind : 'halves') as PartitionKind;
    if (explicitSides !== undefined && explicitSides.every((s) => s !== undefined)) {
      sides = explicitSides as string[][];
      grudge = grudgeFromSides(members, sides);
    } else {
      if (!partitionKinds.includes(kind)) throw new Error(`unknown partition kind "${kind}" (definite: nothing was cut)`);
      const plan = planPartition(kind, members, random);
      sides = plan.sides;
      grudge = plan.grudge;
      bridge = plan.bridge;
    }
    await runtime.partition(grudge);
    partitioned = true;
    return { f: 'partition', value: { kind, sides, grudge, ...(bridge !== undefined ? { bridge } : {}) } };
  }

  return {
    startable: () => !partitioned && runtime.nodeIds().length >= 2,
    draw: (): FaultStep => ({ f: 'partition', value: { kind: pick(ctx.settings.partitions, random) } }),
    async apply(step: FaultStep): Promise<FaultApplied> {
      if (step.f === 'partition') return cut(step);
      if (step.f !== 'heal') throw unknownOp(step.f);
      await runtime.heal();
      partitioned = false;
      return { f: 'heal', value: { healed: true } };
    },
    undo: (): FaultStep[] => (partitioned ? [{ f: 'heal', value: {} }] : []),
  };
}

export const partitionFault: FaultDefinition = { kind: 'partition', owns: (f) => f === 'partition' || f === 'heal', create };
