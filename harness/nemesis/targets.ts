// Which nodes a fault hits: explicit ids in the step (`nodes`), or a symbolic spec (one, minority,
// majority, all) resolved against the nodes eligible now with the seeded source, so a step replays exactly
// when its targets are explicit and means the same shape of fault when they are not.
import type { FaultStep } from './nemesis.js';
import { shuffle, sortNodeIds } from './grudge.js';

export type TargetSpec = 'one' | 'minority' | 'majority' | 'all';
export const targetSpecs: readonly TargetSpec[] = ['one', 'minority', 'majority', 'all'];

/**
 * The coverage pass's order for crash and pause targets: widest first. A short run has room for a few
 * faults, and the wide ones are those a single-replica fault can never stand in for (a crash of every
 * replica of a key at once is what exposes a node that acknowledges before its write is durable, and W
 * replicas mask any narrower crash); narrow ones come up often enough in the random draws after.
 */
export function targetsWidestFirst(targets: readonly TargetSpec[]): TargetSpec[] {
  return [...targetSpecs].reverse().filter((t) => targets.includes(t));
}

/** A list of node ids given in a step's value, or undefined when it is not one. */
export function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** Resolves a target spec to concrete nodes out of `eligible`, given the whole membership size. */
export function pickTargets(spec: TargetSpec, eligible: readonly string[], memberCount: number, random: () => number): string[] {
  const shuffled = shuffle(sortNodeIds(eligible), random);
  const majority = Math.floor(memberCount / 2) + 1;
  const count = spec === 'one' ? 1 : spec === 'minority' ? Math.max(1, majority - 1) : spec === 'majority' ? majority : memberCount;
  return sortNodeIds(shuffled.slice(0, Math.min(count, shuffled.length)));
}

/** The step's explicit `nodes`, else its `targets` spec (default "one") drawn from `eligible`. */
export function resolveTargets(step: FaultStep, eligible: readonly string[], memberCount: number, random: () => number): string[] {
  const explicit = stringList(step.value.nodes);
  if (explicit !== undefined) return explicit;
  const spec = (typeof step.value.targets === 'string' ? step.value.targets : 'one') as TargetSpec;
  if (!targetSpecs.includes(spec)) throw new Error(`unknown targets "${String(step.value.targets)}" (definite: nothing was done)`);
  return pickTargets(spec, eligible, memberCount, random);
}
