// Partitions: `partition` cuts the cluster by a kind drawn from the settings (or by explicit `sides`),
// `heal` removes every cut. One partition is in force at a time. The ring-aware kinds (ring.ts) first ask
// the live nodes for one workload key's home replicas, then cut around them, and record which key and
// homes they cut and why.
import type { FaultContext, FaultDefinition } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { grudgeFromSides, isRingPartitionKind, partitionKinds, planPartition, type PartitionKind, type RingPartitionKind } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';
import { homeReplicas } from '../preflists.js';
import { planRingPartition } from '../ring.js';
import { stringList } from '../targets.js';

/** Which partition kind the run's last window prefers: the ones that leave a key's homes apart first. */
const finaleOrder: readonly PartitionKind[] = ['homes-split', 'coordinator-alone', 'halves', 'random-halves', 'majorities-ring', 'isolate-one', 'bridge', 'homes-away'];

function create(ctx: FaultContext) {
  const { runtime, random } = ctx;
  let partitioned = false;

  /** A ring-aware cut: the step's `key` or one drawn from the workload's keys, its homes as the nodes say. */
  async function ringCut(kind: RingPartitionKind, step: FaultStep): Promise<FaultApplied> {
    const members = runtime.nodeIds();
    const given = typeof step.value.key === 'string' ? step.value.key : undefined;
    if (given === undefined && ctx.keys.length === 0) throw new Error(`${kind} needs the workload's keys, and this nemesis was given none (definite: nothing was cut)`);
    const key = given ?? pick(ctx.keys, random);
    const { homes, from } = await homeReplicas(runtime, key, ctx.down.live(members));
    const plan = planRingPartition(kind, members, key, homes, random);
    await runtime.partition(plan.grudge);
    partitioned = true;
    return {
      f: 'partition',
      value: {
        kind, sides: plan.sides, grudge: plan.grudge, key, homes: plan.homes, preflistFrom: from,
        ...(plan.coordinator !== undefined ? { coordinator: plan.coordinator } : {}),
        ...(plan.loner !== undefined ? { loner: plan.loner } : {}),
        why: plan.why,
      },
    };
  }

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
      if (isRingPartitionKind(kind)) return ringCut(kind, step);
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
    // Coverage: every kind the run may draw, once, in the settings' order (ring-aware first by default).
    shapes: (): FaultStep[] => ctx.settings.partitions.map((kind) => ({ f: 'partition', value: { kind } })),
    // The last window splits a key's homes: writes through either side reach some of its homes and not the
    // others, and nothing after the workload writes again, so the replicas differ when the faults end (a
    // homes-away cut leaves every home of its key alike in a strict run). Without ring-aware kinds, the
    // first kind the run may draw.
    finale: (): FaultStep | undefined => {
      const kind = finaleOrder.find((k) => ctx.settings.partitions.includes(k)) ?? ctx.settings.partitions[0];
      return kind === undefined ? undefined : { f: 'partition', value: { kind } };
    },
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
