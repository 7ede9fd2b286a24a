// Dynamo's Strategy 3: Q equal partitions of the MD5 space, each owned by one physical node, with every
// member owning floor(Q/S) or ceil(Q/S) of them. Assignment is a pure function of (members, Q, previous
// ring), so every node that learns the same membership computes the same ring without coordination.
import type { NodeId } from './env.js';
import { KeyHashMemo, hash32, partitionOf } from './hash.js';

export interface Ring {
  readonly partitions: number;
  /** owners[p] is the node owning partition p. */
  readonly owners: readonly NodeId[];
  /** The members, sorted. */
  readonly members: readonly NodeId[];
}

/**
 * Owners closer than this many partitions are penalised, so a walk from any partition meets this many
 * distinct nodes quickly (N = 3 is the common replication factor).
 */
export const ADJACENCY_WINDOW = 3;

/** Highest-random-weight score of a member for a partition: the deterministic tie-break everywhere. */
function weight(partition: number, member: NodeId): number {
  return hash32(`${partition}\u0000${member}`);
}

/**
 * weight(p, member) for every partition p < q, computed lazily and kept per (member, q): a ring is
 * recomputed for every membership change, by every node, from mostly the same members. Bounded.
 */
const weightTables = new Map<string, Float64Array>();
const maxWeightTables = 4096;

function weightTable(member: NodeId, q: number): Float64Array {
  const k = `${q}\u0000${member}`;
  let t = weightTables.get(k);
  if (t === undefined) {
    if (weightTables.size >= maxWeightTables) weightTables.clear();
    t = new Float64Array(q).fill(-1); // -1: not computed yet (weights are unsigned)
    weightTables.set(k, t);
  }
  return t;
}

function weightAt(table: Float64Array, p: number, member: NodeId): number {
  let w = table[p] as number;
  if (w < 0) {
    w = weight(p, member);
    table[p] = w;
  }
  return w;
}

/** hash32 of member ids, the tie-break of extra shares (bounded memo: ids recur in every ring). */
const memberHashes = new KeyHashMemo(hash32, 4096);

function memberHash(id: NodeId): number {
  return memberHashes.get(id);
}

/**
 * How much placing member `m` (an index; -1 is no owner) at partition p would clash with nearby owners
 * (closer clashes weigh more).
 */
function clash(owners: Int32Array, p: number, m: number, window: number): number {
  const q = owners.length;
  let score = 0;
  for (let d = 1; d < window && d < q; d++) {
    const w = 1 << (2 * (window - d)); // distance 1 dominates distance 2, and so on
    if (owners[(p - d + q) % q] === m) score += w;
    if (owners[(p + d) % q] === m) score += w;
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
 *
 * Members are numbered by their sorted position and owners kept as numbers while assigning: the choices
 * (and so the ring) are exactly those of comparing the ids themselves (test/core-ring.test.ts checks it
 * against test/helpers/ring-reference.ts), at a fraction of the cost for large Q.
 */
export function assignPartitions(members: readonly NodeId[], partitions: number, previous?: Ring): Ring {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const sorted = [...new Set(members)].sort();
  if (sorted.length === 0) throw new RangeError('a ring needs at least one member');
  const q = partitions;
  const s = sorted.length;
  const indexOf = new Map<NodeId, number>(sorted.map((m, i) => [m, i]));
  const usePrevious = previous !== undefined && previous.partitions === q && previous.owners.length === q;
  const owners = new Int32Array(q).fill(-1);
  if (usePrevious) for (let p = 0; p < q; p++) owners[p] = indexOf.get(previous.owners[p] as NodeId) ?? -1;

  const count = new Int32Array(s);
  for (let p = 0; p < q; p++) {
    const o = owners[p] as number;
    if (o >= 0) count[o]! += 1;
  }

  // Targets: everyone gets floor(Q/S); the Q mod S extra shares go to those already holding the most,
  // which keeps movement minimal, with a hash of the member id breaking ties.
  const base = Math.floor(q / s);
  const extra = q % s;
  const idHash = sorted.map(memberHash);
  const byHolding = Array.from({ length: s }, (_, i) => i).sort(
    (a, b) => (count[b] as number) - (count[a] as number) || (idHash[a] as number) - (idHash[b] as number) || a - b,
  );
  const target = new Int32Array(s).fill(base);
  for (const m of byHolding.slice(0, extra)) target[m] = base + 1;
  const deficit = (m: number): number => (target[m] as number) - (count[m] as number);

  const give = (p: number, to: number): void => {
    const from = owners[p] as number;
    if (from >= 0) count[from]! -= 1;
    owners[p] = to;
    count[to]! += 1;
  };
  const tables = sorted.map((m) => weightTable(m, q));

  // Phase 1: orphaned partitions go, in partition order, to the least clashing member still short.
  for (let p = 0; p < q; p++) {
    if ((owners[p] as number) >= 0) continue;
    let best = -1;
    let bestScore = Infinity;
    let bestWeight = -1;
    for (let m = 0; m < s; m++) {
      const dm = deficit(m);
      if (dm <= 0) continue;
      // Prefer low clash, then members far below their share, then the higher hash weight.
      const score = clash(owners, p, m, ADJACENCY_WINDOW) * q - dm;
      if (score > bestScore) continue;
      const w = weightAt(tables[m] as Float64Array, p, sorted[m] as NodeId);
      if (score < bestScore || w > bestWeight) {
        best = m;
        bestScore = score;
        bestWeight = w;
      }
    }
    give(p, best);
  }

  // Phase 2: members still short take surplus partitions from members above their share, choosing the
  // partition where the move removes the most clash (and adds the least), then the higher weight, then the
  // lower partition. Each receiver keeps its candidates in a heap in that order (MoveHeap), so a move
  // costs O(log Q) instead of a scan of all Q partitions.
  const heaps: (MoveHeap | undefined)[] = new Array(s);
  const eligible = (p: number): boolean => {
    const from = owners[p] as number;
    return (target[from] as number) - (count[from] as number) < 0;
  };
  for (;;) {
    let receiver = -1;
    for (let m = 0; m < s; m++) if (deficit(m) > 0 && (receiver < 0 || deficit(m) > deficit(receiver))) receiver = m;
    if (receiver < 0) break;
    let heap = heaps[receiver];
    if (heap === undefined) {
      const weights = tables[receiver] as Float64Array;
      const id = sorted[receiver] as NodeId;
      for (let p = 0; p < q; p++) weightAt(weights, p, id);
      heaps[receiver] = heap = new MoveHeap(owners, receiver, weights);
    }
    give(heap.best(eligible), receiver);
  }

  // Phase 3 (fresh rings only, since moving partitions is free there): swap owners of two partitions
  // when that lowers the total clash; balance is unchanged by a swap.
  if (!usePrevious && s > 1) removeClashesBySwapping(owners);

  return { partitions: q, owners: Array.from(owners, (o) => sorted[o] as NodeId), members: sorted };
}

function moveScore(owners: Int32Array, p: number, receiver: number): number {
  return clash(owners, p, receiver, ADJACENCY_WINDOW) - clash(owners, p, owners[p] as number, ADJACENCY_WINDOW);
}

/**
 * A phase-2 receiver's candidate moves, best first: lower score (clash change), then higher weight, then
 * lower partition, the order in which a scan of all partitions picks. A move only ever raises the score of
 * a partition still eligible for this receiver: moving p' from donor D to receiver R leaves the
 * receiver's own clash near p' as it was (p' was not its and is not now, unless R is this receiver, when
 * the clash rises) and lowers only D's clash, which raises the score of D's partitions next to p'. So an
 * entry's score is never above the partition's score now, and the top entry is the best move once its
 * score is checked: a stale top is rescored and pushed back, and a top whose owner has no surplus left is
 * dropped (an owner never regains one in phase 2).
 */
class MoveHeap {
  private readonly ps: number[] = [];
  private readonly scores: number[] = [];

  constructor(
    private readonly owners: Int32Array,
    private readonly receiver: number,
    private readonly weights: Float64Array,
  ) {
    const q = owners.length;
    for (let p = 0; p < q; p++) {
      this.ps.push(p);
      this.scores.push(moveScore(owners, p, receiver));
    }
    for (let i = (q >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** The best partition still eligible (left in the heap: the move makes it the receiver's, so not eligible again). */
  best(eligible: (p: number) => boolean): number {
    for (;;) {
      const p = this.ps[0];
      if (p === undefined) throw new Error('assignPartitions: no partition left to move');
      if (!eligible(p)) {
        this.pop();
        continue;
      }
      const now = moveScore(this.owners, p, this.receiver);
      if (now === this.scores[0]) return p;
      this.scores[0] = now;
      this.down(0);
    }
  }

  private before(i: number, j: number): boolean {
    const si = this.scores[i] as number;
    const sj = this.scores[j] as number;
    if (si !== sj) return si < sj;
    const pi = this.ps[i] as number;
    const pj = this.ps[j] as number;
    const wi = this.weights[pi] as number;
    const wj = this.weights[pj] as number;
    return wi !== wj ? wi > wj : pi < pj;
  }

  private swap(i: number, j: number): void {
    const p = this.ps[i] as number;
    const sc = this.scores[i] as number;
    this.ps[i] = this.ps[j] as number;
    this.scores[i] = this.scores[j] as number;
    this.ps[j] = p;
    this.scores[j] = sc;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.ps.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.before(r, l) ? r : l;
      if (!this.before(c, i)) return;
      this.swap(i, c);
      i = c;
    }
  }

  private pop(): void {
    const last = this.ps.length - 1;
    this.swap(0, last);
    this.ps.pop();
    this.scores.pop();
    if (last > 0) this.down(0);
  }
}

function removeClashesBySwapping(owners: Int32Array): void {
  const q = owners.length;
  for (let pass = 0; pass < 4; pass++) {
    let improved = false;
    for (let p = 0; p < q; p++) {
      const a = owners[p] as number;
      if (clash(owners, p, a, ADJACENCY_WINDOW) === 0) continue;
      for (let i = 1; i < q; i++) {
        const r = (p + i * 7) % q; // a stride visits partitions away from p first
        const b = owners[r] as number;
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

// Preference lists are asked for on every request, so they are computed once per ring and partition, and
// only as far as asked: a walk that meets every member of a 100-node ring crosses most of the Q partitions,
// while the homes (the first N) and most sloppy plans need a few steps.
interface Walk {
  /** The distinct owners met so far, in walk order (extended in place, never changed otherwise). */
  readonly nodes: NodeId[];
  /** How many partitions from the start the walk has crossed. */
  steps: number;
}

const walkCache = new WeakMap<Ring, (Walk | undefined)[]>();

/**
 * The walk from partition p, cached and shared (callers must not change it), holding at least the first
 * min(k, members) distinct owners; it may hold more. The same nodes in the same order as a full walk.
 */
export function walkAtLeast(ring: Ring, partition: number, k: number): readonly NodeId[] {
  let cache = walkCache.get(ring);
  if (cache === undefined) {
    cache = new Array<Walk | undefined>(ring.partitions);
    walkCache.set(ring, cache);
  }
  let walk = cache[partition];
  if (walk === undefined) cache[partition] = walk = { nodes: [], steps: 0 };
  const want = Math.min(k, ring.members.length);
  const out = walk.nodes;
  if (out.length >= want) return out;
  const q = ring.partitions;
  const seen = new Set<NodeId>(out);
  let i = walk.steps;
  for (; i < q && out.length < want; i++) {
    const o = ring.owners[(partition + i) % q] as NodeId;
    if (!seen.has(o)) {
      seen.add(o);
      out.push(o);
    }
  }
  // Every owner is a member, but a ring whose members list more ids than own partitions ends its walk early.
  walk.steps = i;
  return out;
}

/** The first n distinct nodes of the walk from partition p (the home replicas): a fresh array. */
export function homesForPartition(ring: Ring, partition: number, n: number): NodeId[] {
  return walkAtLeast(ring, partition, n).slice(0, n);
}

/**
 * Every distinct physical node in clockwise walk order from partition p: the first N are the home
 * replicas, the rest are the fallbacks (in the order sloppy quorum should try them).
 */
export function preferenceListForPartition(ring: Ring, partition: number): NodeId[] {
  return [...walkAtLeast(ring, partition, ring.members.length)];
}

export function preferenceList(ring: Ring, key: string): NodeId[] {
  return preferenceListForPartition(ring, partitionOf(key, ring.partitions));
}

export function partitionsOwnedBy(ring: Ring, id: NodeId): number[] {
  const out: number[] = [];
  ring.owners.forEach((o, p) => {
    if (o === id) out.push(p);
  });
  return out;
}

/**
 * The partitions a node replicates with replication factor n: those whose first n distinct nodes
 * include it (it owns them or follows their owner closely). Useful for anti-entropy and handoff.
 * Computed for every member at once, once per (ring, n): every node asks it of the rings it adopts, and
 * the rings are shared values.
 */
export function partitionsReplicatedBy(ring: Ring, id: NodeId, n: number): number[] {
  let byN = replicatedCache.get(ring);
  if (byN === undefined) replicatedCache.set(ring, (byN = new Map()));
  let byMember = byN.get(n);
  if (byMember === undefined) {
    byMember = new Map();
    for (let p = 0; p < ring.partitions; p++) {
      const walk = walkAtLeast(ring, p, n);
      for (let i = 0; i < n && i < walk.length; i++) {
        const m = walk[i] as NodeId;
        let parts = byMember.get(m);
        if (parts === undefined) byMember.set(m, (parts = []));
        parts.push(p);
      }
    }
    byN.set(n, byMember);
  }
  return [...(byMember.get(id) ?? [])];
}

const replicatedCache = new WeakMap<Ring, Map<number, Map<NodeId, number[]>>>();

/** The ownership changes from ring a to ring b (same Q), in partition order. */
export function ringDiff(a: Ring, b: Ring): { partition: number; from: NodeId; to: NodeId }[] {
  if (a.partitions !== b.partitions) throw new RangeError(`cannot diff rings of ${a.partitions} and ${b.partitions} partitions`);
  const out: { partition: number; from: NodeId; to: NodeId }[] = [];
  for (let p = 0; p < a.partitions; p++) {
    const from = a.owners[p] as NodeId;
    const to = b.owners[p] as NodeId;
    if (from !== to) out.push({ partition: p, from, to });
  }
  return out;
}

export function ringEqual(a: Ring, b: Ring): boolean {
  return a.partitions === b.partitions && a.owners.every((o, p) => o === b.owners[p]) &&
    a.members.length === b.members.length && a.members.every((m, i) => m === b.members[i]);
}
