// Pure geometry of the ring-aware partitions: given one key's home replicas (its preference list, first N
// distinct nodes, as `/admin/preflist` names them) and the members, which nodes end up on which side.
// Jepsen's cuts (grudge.ts) know nothing of placement, so the cuts that matter most to a Dynamo store —
// every replica of a key away from the clients, its coordinator cut from its peers, its replicas split
// 1 | N-1 — happen only by luck; these make them on purpose. Randomness only from the injected source.
import { grudgeFromSides, shuffle, sortNodeIds, type RingPartitionKind } from './grudge.js';

export interface RingPartitionPlan {
  readonly kind: RingPartitionKind;
  /** The key the cut is planned around. */
  readonly key: string;
  /** Its home replicas in preference-list order (members only). */
  readonly homes: string[];
  readonly sides: string[][];
  readonly grudge: Record<string, string[]>;
  /** coordinator-alone: the key's coordinator (its first home), cut from the other homes. */
  readonly coordinator?: string;
  /** homes-split: the one home on its own side. */
  readonly loner?: string;
  /** What the cut provokes, in words (recorded in the history beside the sides). */
  readonly why: string;
}

const why: Record<RingPartitionKind, string> = {
  'homes-away': 'every home replica of the key on one side: writes through the other side reach only fallbacks, and only hinted handoff brings them home',
  'coordinator-alone': "the key's coordinator cut from its other homes (everyone else hears both): it can store only on itself and on fallbacks",
  'homes-split': "the key's homes split 1 | N-1: a write or read through the lone home meets one replica, the other side's quorum misses it",
};

/** Plans `kind` around `key`; throws a definite error when these members cannot make that cut. */
export function planRingPartition(kind: RingPartitionKind, memberIds: readonly string[], key: string, preflist: readonly string[], random: () => number): RingPartitionPlan {
  const members = sortNodeIds(memberIds);
  const homes = preflist.filter((n, i) => members.includes(n) && preflist.indexOf(n) === i);
  const others = members.filter((n) => !homes.includes(n));
  const nothing = (reason: string): Error => new Error(`${kind} around ${key}: ${reason} (definite: nothing was cut)`);
  const plan = (sides: string[][], extra: { coordinator?: string; loner?: string } = {}): RingPartitionPlan => {
    const sorted = sides.map(sortNodeIds);
    return { kind, key, homes, sides: sorted, grudge: grudgeFromSides(members, sorted), ...extra, why: why[kind] };
  };
  switch (kind) {
    case 'homes-away':
      if (others.length === 0) throw nothing(`every member (${members.join(', ')}) is a home replica, so no side is without one`);
      if (homes.length === 0) throw nothing('no member is a home replica');
      return plan([homes, others]);
    case 'coordinator-alone': {
      if (homes.length < 2) throw nothing(`it has ${homes.length} home replica among the members; a coordinator needs peers to be cut from`);
      const coordinator = homes[0]!;
      const peers = homes.slice(1);
      // The non-homes stay on both sides (a bridge of fallbacks): only the homes' links to each other go.
      return plan(others.length > 0 ? [[coordinator, ...others], [...peers, ...others]] : [[coordinator], peers], { coordinator });
    }
    case 'homes-split': {
      if (homes.length < 2) throw nothing(`it has ${homes.length} home replica among the members; a split needs two`);
      const loner = homes[Math.floor(random() * homes.length)]!;
      const rest = homes.filter((n) => n !== loner);
      // The non-homes are dealt out at random, the smaller share beside the lone home.
      const dealt = shuffle(others, random);
      const cut = Math.floor(dealt.length / 2);
      return plan([[loner, ...dealt.slice(0, cut)], [...rest, ...dealt.slice(cut)]], { loner });
    }
  }
}
