// Pure partition geometry: which nodes end up on which side for every partition kind, and the Grudge
// (who drops whose messages) that a runtime applies. Randomness comes only from the injected source, so
// the same seed always cuts the cluster the same way.
import type { Grudge } from '../runtime/runtime.js';

/** Jepsen's partitions: they cut the cluster by node alone, knowing nothing of where the data lives. */
export type NodePartitionKind = 'halves' | 'random-halves' | 'isolate-one' | 'majorities-ring' | 'bridge';

/**
 * Ring-aware partitions (ring.ts): they cut around one workload key's home replicas as the nodes'
 * preference lists name them, the placements random cuts hit only by luck.
 */
export type RingPartitionKind = 'homes-away' | 'coordinator-alone' | 'homes-split';

export type PartitionKind = RingPartitionKind | NodePartitionKind;

export const nodePartitionKinds: readonly NodePartitionKind[] = ['halves', 'random-halves', 'isolate-one', 'majorities-ring', 'bridge'];
export const ringPartitionKinds: readonly RingPartitionKind[] = ['homes-away', 'coordinator-alone', 'homes-split'];

/**
 * Every kind, in the order a run's coverage pass goes through them (schedule coverage, compose.ts): the
 * ring-aware cuts first, because a short run has room for only a few faults and those are the cuts a
 * random draw almost never makes.
 */
export const partitionKinds: readonly PartitionKind[] = [...ringPartitionKinds, ...nodePartitionKinds];

export function isRingPartitionKind(kind: string): kind is RingPartitionKind {
  return (ringPartitionKinds as readonly string[]).includes(kind);
}

export interface PartitionPlan {
  readonly kind: NodePartitionKind;
  /**
   * Groups of nodes that can talk among themselves. For halves-like kinds they are disjoint; for a bridge
   * the bridge node is in both; for a majorities ring there is one group per node (the majority it sees).
   */
  readonly sides: string[][];
  readonly grudge: Grudge;
  /** The bridge node, for kind "bridge". */
  readonly bridge?: string;
}

/** Fisher–Yates with the injected source; returns a new array. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * One collator for every sort: `localeCompare(b, 'en', { numeric: true })` builds a new ICU collator on
 * every comparison (1 % of a default sim run went there); the spec defines it as exactly this compare.
 */
let naturalOrder: Intl.Collator | undefined;

/**
 * The ids every runtime names its nodes by (n1, n2, …, no leading zeros, below 2^53): for them the
 * collator's natural order is the order of their numbers, and distinct ids have distinct numbers.
 */
const plainNodeId = /^n(?:0|[1-9][0-9]{0,14})$/;

/** Node ids in natural order (n2 before n10), so "halves" is stable and readable. */
export function sortNodeIds(ids: readonly string[]): string[] {
  // Plain ids sort by their numbers: the first collator of a process loads ICU data (about 7 ms of CPU,
  // half a per cent of a cold simulated run, which sorts node ids for every partition it plans).
  if (ids.every((id) => plainNodeId.test(id))) return [...ids].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  // Made on first use: building it loads ICU data, which a run without partitions need not pay for.
  naturalOrder ??= new Intl.Collator('en', { numeric: true });
  return [...ids].sort(naturalOrder.compare);
}

/** Every node drops messages from every node it shares no side with. */
export function grudgeFromSides(nodes: readonly string[], sides: readonly (readonly string[])[]): Record<string, string[]> {
  const grudge: Record<string, string[]> = {};
  for (const a of nodes) {
    const visible = new Set<string>([a]);
    for (const side of sides) if (side.includes(a)) for (const b of side) visible.add(b);
    const dropped = nodes.filter((b) => !visible.has(b));
    if (dropped.length > 0) grudge[a] = dropped;
  }
  return grudge;
}

/** Splits [first floor(n/2)] | [rest]: the smaller side first, as Jepsen does. */
function halves(ordered: readonly string[]): string[][] {
  const cut = Math.floor(ordered.length / 2);
  return [ordered.slice(0, cut), ordered.slice(cut)];
}

export function planPartition(kind: NodePartitionKind, nodeIds: readonly string[], random: () => number): PartitionPlan {
  const nodes = sortNodeIds(nodeIds);
  if (nodes.length < 2) throw new Error(`a partition needs at least 2 nodes, got ${nodes.length} (definite: nothing was cut)`);
  switch (kind) {
    case 'halves': {
      const sides = halves(nodes);
      return { kind, sides, grudge: grudgeFromSides(nodes, sides) };
    }
    case 'random-halves': {
      const sides = halves(shuffle(nodes, random)).map(sortNodeIds);
      return { kind, sides, grudge: grudgeFromSides(nodes, sides) };
    }
    case 'isolate-one': {
      const loner = nodes[Math.floor(random() * nodes.length)] as string;
      const sides = [[loner], nodes.filter((n) => n !== loner)];
      return { kind, sides, grudge: grudgeFromSides(nodes, sides) };
    }
    case 'majorities-ring': {
      // Each node sees its ring neighbours within distance d, where d is the smallest reach that makes the
      // visible set a majority; the relation is symmetric, every node sees a majority, and (from 5 nodes
      // on) no two nodes see the same majority, so no single node can be a stable leader.
      const ring = shuffle(nodes, random);
      const n = ring.length;
      const majority = Math.floor(n / 2) + 1;
      const reach = Math.ceil((majority - 1) / 2);
      // Three nodes have no symmetric such ring (any reach sees everyone), so there each node hears only
      // itself and its clockwise neighbour: a directed ring of majorities.
      const from = n === 3 ? 0 : -reach;
      const sides = ring.map((_, i) => {
        const seen = new Set<string>();
        for (let d = from; d <= reach; d++) seen.add(ring[(((i + d) % n) + n) % n] as string);
        return sortNodeIds([...seen]);
      });
      const grudge: Record<string, string[]> = {};
      ring.forEach((a, i) => {
        const dropped = nodes.filter((b) => !(sides[i] as string[]).includes(b));
        if (dropped.length > 0) grudge[a] = dropped;
      });
      return { kind, sides, grudge };
    }
    case 'bridge': {
      // Two halves that cannot talk to each other, and one node that talks to both.
      const shuffled = shuffle(nodes, random);
      const bridge = shuffled[0] as string;
      const rest = shuffled.slice(1);
      const [a, b] = halves(rest) as [string[], string[]];
      const sides = [sortNodeIds([...a, bridge]), sortNodeIds([bridge, ...b])];
      return { kind, sides, grudge: grudgeFromSides(nodes, sides), bridge };
    }
  }
}

/** Whether the grudge cuts a from b in either direction. */
export function cut(grudge: Grudge, a: string, b: string): boolean {
  return (grudge[a] ?? []).includes(b) || (grudge[b] ?? []).includes(a);
}
