// The nemesis: picks faults as plain data from a seeded source, applies them through the Runtime (from
// outside the node), remembers what is in force, and offers the steps that undo it. Every step carries
// enough in its value to replay it exactly (explicit nodes, sides or offsets override the random choice).
import type { RuntimeCapabilities } from '../runtime/runtime.js';
import type { FaultApplied, FaultStep, Nemesis, NemesisKind, NemesisOptions } from './nemesis.js';
import { partitionKinds, planPartition, shuffle, grudgeFromSides, sortNodeIds, type PartitionKind } from './grudge.js';

export type TargetSpec = 'one' | 'minority' | 'majority' | 'all';
export const targetSpecs: readonly TargetSpec[] = ['one', 'minority', 'majority', 'all'];

/** Clock offsets the nemesis picks from, in seconds: small enough to reorder LWW writes, large enough to matter. */
const skewChoicesS = [-7200, -3600, -300, -30, -5, -1, 1, 5, 30, 300, 3600, 7200];
const bumpChoicesMs = [-60_000, -5_000, -500, 500, 5_000, 60_000];
/** Strobe: a few bounded oscillations, so one step never holds the run for long. */
const strobeMaxFlips = 6;
const strobeMaxPeriodMs = 500;
/** Membership changes never shrink the cluster below this many members. */
const minMembers = 3;

export interface NemesisExtraOptions {
  /** Never shrink the cluster below this many members through `leave` (default 3). */
  readonly minMembers?: number;
}

/** Which NemesisKind a history op name belongs to (for start/stop dispatch and capabilities). */
export function kindOfOp(f: string): NemesisKind | undefined {
  if (f === 'partition' || f === 'heal') return 'partition';
  if (f.startsWith('clock-')) return 'clock';
  if (f === 'kill' || f === 'restart') return 'crash';
  if (f === 'pause' || f === 'resume') return 'pause';
  if (f === 'join' || f === 'leave') return 'membership';
  return undefined;
}

/** Resolves a target spec to concrete nodes out of `eligible`, given the whole membership size. */
export function pickTargets(spec: TargetSpec, eligible: readonly string[], memberCount: number, random: () => number): string[] {
  const shuffled = shuffle(sortNodeIds(eligible), random);
  const majority = Math.floor(memberCount / 2) + 1;
  const count = spec === 'one' ? 1 : spec === 'minority' ? Math.max(1, majority - 1) : spec === 'majority' ? majority : memberCount;
  return sortNodeIds(shuffled.slice(0, Math.min(count, shuffled.length)));
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

function capabilityReason(caps: RuntimeCapabilities, kind: NemesisKind): string | undefined {
  const c = caps[kind];
  return c === true ? undefined : c.unavailable;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export function createNemesis(options: NemesisOptions & NemesisExtraOptions): Nemesis {
  const { runtime, random } = options;
  const caps = runtime.capabilities();
  const floor = options.minMembers ?? minMembers;
  const partitionPool = options.shapes?.partitions !== undefined && options.shapes.partitions.length > 0 ? options.shapes.partitions : partitionKinds;
  const targetPool = options.shapes?.targets !== undefined && options.shapes.targets.length > 0 ? options.shapes.targets : targetSpecs;
  for (const k of partitionPool) if (!partitionKinds.includes(k)) throw new Error(`unknown partition kind "${String(k)}" (use ${partitionKinds.join(', ')})`);
  for (const t of targetPool) if (!targetSpecs.includes(t)) throw new Error(`unknown target "${String(t)}" (use ${targetSpecs.join(', ')})`);
  const kinds: NemesisKind[] = [];
  const unavailable: Record<string, string> = {};
  for (const k of options.kinds) {
    const reason = capabilityReason(caps, k);
    if (reason === undefined) {
      if (!kinds.includes(k)) kinds.push(k);
    } else unavailable[k] = reason;
  }

  // What is in force now, so undo() can name exactly what to revert.
  let partitioned = false;
  const killed = new Set<string>();
  const paused = new Set<string>();
  const offsetsMs = new Map<string, number>();
  const joined: string[] = [];
  let leftCount = 0;

  function live(): string[] {
    return runtime.nodeIds().filter((id) => !killed.has(id) && !paused.has(id));
  }

  /** Whether a fresh fault of this kind can be started now; kinds already in force wait for their undo. */
  function startable(kind: NemesisKind): boolean {
    switch (kind) {
      case 'partition':
        return !partitioned && runtime.nodeIds().length >= 2;
      case 'crash':
      case 'pause':
        return live().length > 0;
      case 'clock':
        return runtime.nodeIds().length > 0;
      case 'membership':
        return true;
    }
  }

  function nextOf(kind: NemesisKind): FaultStep {
    switch (kind) {
      case 'partition':
        return { f: 'partition', value: { kind: pick(partitionPool, random) } };
      case 'crash':
        return { f: 'kill', value: { targets: pick(targetPool, random) } };
      case 'pause':
        return { f: 'pause', value: { targets: pick(targetPool, random) } };
      case 'clock': {
        const mode = pick(['skew', 'skew', 'bump', 'strobe'] as const, random);
        const targets = pick(['one', 'minority', 'majority'] as const, random);
        if (mode === 'skew') return { f: 'clock-skew', value: { targets, offsetS: pick(skewChoicesS, random) } };
        if (mode === 'bump') return { f: 'clock-bump', value: { targets, deltaMs: pick(bumpChoicesMs, random) } };
        return {
          f: 'clock-strobe',
          value: { targets, offsetS: pick(skewChoicesS, random), periodMs: 100 + Math.floor(random() * (strobeMaxPeriodMs - 100)), flips: 2 + Math.floor(random() * (strobeMaxFlips - 1)) },
        };
      }
      case 'membership': {
        const members = runtime.nodeIds();
        // Grow when at or below the floor, otherwise join or leave with even odds.
        if (members.length <= floor || random() < 0.5) return { f: 'join', value: {} };
        return { f: 'leave', value: { node: pick(sortNodeIds(members), random) } };
      }
    }
  }

  function targetsFor(step: FaultStep, eligible: readonly string[]): string[] {
    const explicit = stringList(step.value.nodes);
    if (explicit !== undefined) return explicit;
    const spec = (typeof step.value.targets === 'string' ? step.value.targets : 'one') as TargetSpec;
    if (!targetSpecs.includes(spec)) throw new Error(`unknown targets "${String(step.value.targets)}" (definite: nothing was done)`);
    return pickTargets(spec, eligible, runtime.nodeIds().length, random);
  }

  async function setOffset(node: string, ms: number): Promise<void> {
    await runtime.setClockOffset(node, ms);
    if (ms === 0) offsetsMs.delete(node);
    else offsetsMs.set(node, ms);
  }

  async function apply(step: FaultStep): Promise<FaultApplied> {
    const kind = kindOfOp(step.f);
    if (kind === undefined) throw new Error(`unknown nemesis op "${step.f}" (definite: nothing was done)`);
    const reason = capabilityReason(caps, kind);
    if (reason !== undefined) throw new Error(`${step.f} is unavailable on the ${runtime.kind} runtime: ${reason} (definite: nothing was done)`);

    switch (step.f) {
      case 'partition': {
        const members = runtime.nodeIds();
        const explicitSides = Array.isArray(step.value.sides) ? (step.value.sides as unknown[]).map(stringList) : undefined;
        let sides: string[][];
        let grudge: Record<string, readonly string[]>;
        let bridge: string | undefined;
        const pkind = (typeof step.value.kind === 'string' ? step.value.kind : 'halves') as PartitionKind;
        if (explicitSides !== undefined && explicitSides.every((s) => s !== undefined)) {
          sides = explicitSides as string[][];
          grudge = grudgeFromSides(members, sides);
        } else {
          if (!partitionKinds.includes(pkind)) throw new Error(`unknown partition kind "${pkind}" (definite: nothing was cut)`);
          const plan = planPartition(pkind, members, random);
          sides = plan.sides;
          grudge = plan.grudge;
          bridge = plan.bridge;
        }
        await runtime.partition(grudge);
        partitioned = true;
        return { f: 'partition', value: { kind: pkind, sides, grudge, ...(bridge !== undefined ? { bridge } : {}) } };
      }
      case 'heal':
        await runtime.heal();
        partitioned = false;
        return { f: 'heal', value: { healed: true } };
      case 'kill': {
        const nodes = targetsFor(step, runtime.nodeIds().filter((id) => !killed.has(id)));
        for (const n of nodes) {
          // A paused process is killed too; it is then only crashed, not paused.
          await runtime.kill(n);
          killed.add(n);
          paused.delete(n);
        }
        return { f: 'kill', value: { nodes } };
      }
      case 'restart': {
        const nodes = stringList(step.value.nodes) ?? sortNodeIds([...killed]);
        for (const n of nodes) {
          await runtime.restart(n);
          killed.delete(n);
        }
        return { f: 'restart', value: { nodes } };
      }
      case 'pause': {
        const nodes = targetsFor(step, live());
        for (const n of nodes) {
          await runtime.pause(n);
          paused.add(n);
        }
        return { f: 'pause', value: { nodes } };
      }
      case 'resume': {
        const nodes = stringList(step.value.nodes) ?? sortNodeIds([...paused]);
        for (const n of nodes) {
          await runtime.resume(n);
          paused.delete(n);
        }
        return { f: 'resume', value: { nodes } };
      }
      case 'clock-skew': {
        const nodes = targetsFor(step, runtime.nodeIds());
        const offsetMs = Math.round(Number(step.value.offsetS ?? 0) * 1000);
        for (const n of nodes) await setOffset(n, offsetMs);
        return { f: 'clock-skew', value: { nodes, offsetMs } };
      }
      case 'clock-bump': {
        const nodes = targetsFor(step, runtime.nodeIds());
        const deltaMs = Math.round(Number(step.value.deltaMs ?? 0));
        const offsets: Record<string, number> = {};
        for (const n of nodes) {
          const next = (offsetsMs.get(n) ?? 0) + deltaMs;
          await setOffset(n, next);
          offsets[n] = next;
        }
        return { f: 'clock-bump', value: { nodes, deltaMs, offsetsMs: offsets } };
      }
      case 'clock-strobe': {
        const nodes = targetsFor(step, runtime.nodeIds());
        const offsetMs = Math.round(Number(step.value.offsetS ?? 0) * 1000);
        const periodMs = Math.min(strobeMaxPeriodMs, Math.max(10, Number(step.value.periodMs ?? 200)));
        const flips = Math.min(strobeMaxFlips, Math.max(1, Math.floor(Number(step.value.flips ?? 4))));
        // Alternate between the offset and true time; end on the offset so clock-reset has work to do.
        for (let i = 0; i < flips; i++) {
          const target = (flips - i) % 2 === 1 ? offsetMs : 0;
          for (const n of nodes) await setOffset(n, target);
          if (i < flips - 1) await runtime.sleep(periodMs);
        }
        return { f: 'clock-strobe', value: { nodes, offsetMs, periodMs, flips } };
      }
      case 'clock-reset': {
        const nodes = stringList(step.value.nodes) ?? sortNodeIds([...offsetsMs.keys()]);
        for (const n of nodes) await setOffset(n, 0);
        return { f: 'clock-reset', value: { nodes } };
      }
      case 'join': {
        const node = await runtime.addNode();
        joined.push(node);
        if (leftCount > 0) leftCount--;
        return { f: 'join', value: { node } };
      }
      case 'leave': {
        // {joined: i} names the i-th node this nemesis added (recipes use it); {node} names one directly.
        let node = typeof step.value.node === 'string' ? step.value.node : undefined;
        if (node === undefined && typeof step.value.joined === 'number') node = joined[step.value.joined];
        if (node === undefined) node = joined.at(-1) ?? pick(sortNodeIds(runtime.nodeIds()), random);
        if (!runtime.nodeIds().includes(node)) throw new Error(`cannot remove ${node}: not a member (definite: nothing was done)`);
        await runtime.removeNode(node);
        const j = joined.indexOf(node);
        if (j >= 0) joined.splice(j, 1);
        else leftCount++;
        killed.delete(node);
        paused.delete(node);
        offsetsMs.delete(node);
        return { f: 'leave', value: { node } };
      }
      default:
        throw new Error(`unknown nemesis op "${step.f}" (definite: nothing was done)`);
    }
  }

  return {
    kinds,
    unavailable,
    next(): FaultStep {
      const ready = kinds.filter(startable);
      if (ready.length === 0) {
        const undo = this.undo();
        if (undo[0] !== undefined) return undo[0];
        throw new Error('the nemesis has no fault kind it can apply here (definite: nothing to do)');
      }
      return nextOf(pick(ready, random));
    },
    start: apply,
    undo(): FaultStep[] {
      const steps: FaultStep[] = [];
      if (partitioned) steps.push({ f: 'heal', value: {} });
      if (paused.size > 0) steps.push({ f: 'resume', value: { nodes: sortNodeIds([...paused]) } });
      if (killed.size > 0) steps.push({ f: 'restart', value: { nodes: sortNodeIds([...killed]) } });
      if (offsetsMs.size > 0) steps.push({ f: 'clock-reset', value: { nodes: sortNodeIds([...offsetsMs.keys()]) } });
      for (const node of [...joined].reverse()) steps.push({ f: 'leave', value: { node } });
      for (let i = 0; i < leftCount; i++) steps.push({ f: 'join', value: {} });
      return steps;
    },
    stop: apply,
  };
}

