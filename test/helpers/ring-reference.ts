// The ring assignment as it was first written (members as strings, counts in maps): the reference the
// optimised assignPartitions in node/core/ring.ts must agree with exactly, since every node computes its
// ring independently and rings persisted or gossiped by older nodes must stay what they were.
import type { NodeId } from '../../node/core/env.js';
import { hash32 } from '../../node/core/hash.js';
import { ADJACENCY_WINDOW, type Ring } from '../../node/core/ring.js';

/** Highest-random-weight score of a member for a partition: the deterministic tie-break everywhere. */
function weight(partition: number, member: NodeId): number {
  return hash32(`${partition}\u0000${member}`);
}

/** How much placing `member` at partition p would clash with nearby owners (closer clashes weigh more). */
function clash(owners: readonly (NodeId | undefined)[], p: number, member: NodeId, window: number): number {
  const q = owners.length;
  let score = 0;
  for (let d = 1; d < window && d < q; d++) {
    const w = 1 << (2 * (window - d)); // distance 1 dominates distance 2, and so on
    if (owners[(p - d + q) % q] === member) score += w;
    if (owners[(p + d) % q] === member) score += w;
  }
  return score;
}

/**
 * Assigns the Q partitions to `members`. Determinism: members are sorted and every choice breaks ties by a
 * hash, so member order never matters. Balance: exactly floor/ceil. Minimal movement relative to
 * `previous` (same Q): partitions of departed owners go to members below their share, and members above
 * their share hand over only their surplus, so a join moves only partitions to the new node and a leave
 * moves only the leaver's. Without a previous ring every partition starts orphaned and the same greedy
 * fill spreads them, after which swaps remove the remaining adjacent duplicates.
 */
export function referenceAssignPartitions(members: readonly NodeId[], partitions: number, previous?: Ring): Ring {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const sorted = [...new Set(members)].sort();
  if (sorted.length === 0) throw new RangeError('a ring needs at least one member');
  const q = partitions;
  const s = sorted.length;
  const memberSet = new Set(sorted);
  const usePrevious = previous !== undefined && previous.partitions === q && previous.owners.length === q;
  const owners: (NodeId | undefined)[] = usePrevious
    ? previous.owners.map((o) => (memberSet.has(o) ? o : undefined))
    : new Array<NodeId | undefined>(q).fill(undefined);

  const count = new Map<NodeId, number>(sorted.map((m) => [m, 0]));
  for (const o of owners) if (o !== undefined) count.set(o, (count.get(o) ?? 0) + 1);

  // Targets: everyone gets floor(Q/S); the Q mod S extra shares go to those already holding the most,
  // which keeps movement minimal, with a hash of the member id breaking ties.
  const base = Math.floor(q / s);
  const extra = q % s;
  const byHolding = [...sorted].sort(
    (a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) || hash32(a) - hash32(b) || (a < b ? -1 : 1),
  );
  const target = new Map<NodeId, number>(sorted.map((m) => [m, base]));
  byHolding.slice(0, extra).forEach((m) => target.set(m, base + 1));
  const deficit = (m: NodeId): number => (target.get(m) ?? 0) - (count.get(m) ?? 0);

  const give = (p: number, to: NodeId): void => {
    const from = owners[p];
    if (from !== undefined) count.set(from, (count.get(from) ?? 0) - 1);
    owners[p] = to;
    count.set(to, (count.get(to) ?? 0) + 1);
  };

  // Phase 1: orphaned partitions go, in partition order, to the least clashing member still short.
  for (let p = 0; p < q; p++) {
    if (owners[p] !== undefined) continue;
    let best: NodeId | undefined;
    let bestScore = Infinity;
    let bestWeight = -1;
    for (const m of sorted) {
      if (deficit(m) <= 0) continue;
      // Prefer low clash, then members far below their share, then the higher hash weight.
      const score = clash(owners, p, m, ADJACENCY_WINDOW) * q - deficit(m);
      if (score > bestScore) continue;
      const w = weight(p, m);
      if (score < bestScore || w > bestWeight) {
        best = m;
        bestScore = score;
        bestWeight = w;
      }
    }
    give(p, best as NodeId);
  }

  // Phase 2: members still short take surplus partitions from members above their share, choosing the
  // partition where the move removes the most clash (and adds the least).
  const weightCache = new Map<NodeId, number[]>();
  for (;;) {
    const receiver = sorted.filter((m) => deficit(m) > 0).sort((a, b) => deficit(b) - deficit(a) || (a < b ? -1 : 1))[0];
    if (receiver === undefined) break;
    let bestP = -1;
    let bestScore = Infinity;
    let bestWeight = -1;
    let weights = weightCache.get(receiver);
    if (weights === undefined) {
      weights = Array.from({ length: q }, (_, p) => weight(p, receiver));
      weightCache.set(receiver, weights);
    }
    for (let p = 0; p < q; p++) {
      const from = owners[p] as NodeId;
      if (deficit(from) >= 0) continue;
      const score = clash(owners, p, receiver, ADJACENCY_WINDOW) - clash(owners, p, from, ADJACENCY_WINDOW);
      if (score < bestScore || (score === bestScore && (weights[p] as number) > bestWeight)) {
        bestP = p;
        bestScore = score;
        bestWeight = weights[p] as number;
      }
    }
    give(bestP, receiver);
  }

  // Phase 3 (fresh rings only, since moving partitions is free there): swap owners of two partitions
  // when that lowers the total clash; balance is unchanged by a swap.
  if (!usePrevious && s > 1) removeClashesBySwapping(owners as NodeId[]);

  return { partitions: q, owners: owners as NodeId[], members: sorted };
}

function removeClashesBySwapping(owners: NodeId[]): void {
  const q = owners.length;
  for (let pass = 0; pass < 4; pass++) {
    let improved = false;
    for (let p = 0; p < q; p++) {
      const a = owners[p] as NodeId;
      if (clash(owners, p, a, ADJACENCY_WINDOW) === 0) continue;
      for (let i = 1; i < q; i++) {
        const r = (p + i * 7) % q; // a stride visits partitions away from p first
        const b = owners[r] as NodeId;
        if (b === a) continue;
        const before = clash(owners, p, a, ADJACENCY_WINDOW) + clash(owners, r, b, ADJACENCY_WINDOW);
        owners[p] = b;
        owners[r] = a;
        const after = clash(owners, p, b, ADJACENCY_WINDOW) + clash(owners, r, a, ADJACENCY_WINDOW);
        if (after < before) {
          improved = true;
          break;
        }
        owners[p] = a;
        owners[r] = b;
      }
    }
    if (!improved) break;
  }
}

