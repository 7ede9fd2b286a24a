// Version vectors and dots: the causal bookkeeping behind siblings. A version vector maps a node to the
// highest counter of that node's events it covers; a dot names one single event.
import type { NodeId } from './env.js';

export type VersionVector = Readonly<Record<NodeId, number>>;

/** One event: the `counter`-th write coordinated by `node` for a key. */
export interface Dot {
  readonly node: NodeId;
  readonly counter: number;
}

export const emptyVersionVector: VersionVector = Object.freeze({});

/** Entries with a positive counter, sorted by node id, so that equal vectors look equal. */
export function vvNormalize(vv: VersionVector): VersionVector {
  const out: Record<NodeId, number> = {};
  for (const node of Object.keys(vv).sort()) {
    const c = vv[node] ?? 0;
    if (c > 0) out[node] = c;
  }
  return out;
}

/** The least upper bound: the pointwise maximum. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<NodeId, number> = { ...a };
  for (const [node, c] of Object.entries(b)) {
    if (c > (out[node] ?? 0)) out[node] = c;
  }
  return vvNormalize(out);
}

/** a ≥ b: a has seen every event b has seen. */
export function vvDescends(a: VersionVector, b: VersionVector): boolean {
  for (const [node, c] of Object.entries(b)) {
    if (c > (a[node] ?? 0)) return false;
  }
  return true;
}

export function vvCompare(a: VersionVector, b: VersionVector): 'equal' | 'before' | 'after' | 'concurrent' {
  const aGeB = vvDescends(a, b);
  const bGeA = vvDescends(b, a);
  if (aGeB && bGeA) return 'equal';
  if (aGeB) return 'after';
  if (bGeA) return 'before';
  return 'concurrent';
}

export function vvEqual(a: VersionVector, b: VersionVector): boolean {
  return vvDescends(a, b) && vvDescends(b, a);
}

/** Whether the vector has seen the event the dot names. */
export function vvCovers(vv: VersionVector, dot: Dot): boolean {
  return dot.counter <= (vv[dot.node] ?? 0);
}

/** The vector extended with one event (its entry raised to the dot's counter if lower). */
export function vvAddDot(vv: VersionVector, dot: Dot): VersionVector {
  if (vvCovers(vv, dot)) return vv;
  return vvNormalize({ ...vv, [dot.node]: dot.counter });
}

export function dotEqual(a: Dot, b: Dot): boolean {
  return a.node === b.node && a.counter === b.counter;
}

/** A total order on dots (node id, then counter), used for canonical sibling order. */
export function dotCompare(a: Dot, b: Dot): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.counter - b.counter;
}

/** Whether a value is a well-formed version vector (node → positive safe integer); for decoding. */
export function isVersionVector(x: unknown): x is VersionVector {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  return Object.values(x).every((c) => Number.isSafeInteger(c) && (c as number) >= 0);
}

/**
 * Bounds the size of a context handed back to a client, in the spirit of the Dynamo paper (which drops
 * the oldest (node, counter) pair once a clock exceeds a threshold, 10 in production).
 *
 * "Oldest" is judged by `lastUpdatedMs` (for example the wall-clock time of the newest sibling each node
 * coordinated, see `versionsEntryTimes`); entries without a time count as oldest, ties break by node id so
 * every node prunes the same way.
 *
 * Why this is safe: it is applied only to contexts carried back to clients, never to a sibling's dot or
 * stored past. A pruned context covers less than the client really saw, so a later write supersedes
 * fewer siblings than it could have: the cost is a spurious sibling the client must reconcile, never a
 * lost write. The dropped entries can therefore never make a write overwrite something it did not see —
 * provided no coordinator mints a dot twice. The state cannot promise that by itself: once a write made
 * with a pruned context supersedes the rest, no replica remembers the dropped nodes' counters. So each
 * node keeps what its actor minted per key (`ActorIds.mintedFloor`) and mints above it.
 */
export function pruneVersionVector(
  vv: VersionVector,
  maxEntries: number,
  lastUpdatedMs: Readonly<Record<NodeId, number>> = {},
  /**
   * Actors that minted one dot and never mint again: their entries go before any other. Such an entry
   * covers one dot, another actor's entry every dot it minted, so dropping it leaves the fewest versions
   * uncovered (spurious siblings, or a superseded version a stale replica can bring back).
   */
  oneShot: (node: NodeId) => boolean = () => false,
): VersionVector {
  const entries = Object.entries(vvNormalize(vv));
  if (maxEntries < 0 || entries.length <= maxEntries) return vvNormalize(vv);
  // Lasting actors first, then newest first; the first maxEntries survive.
  entries.sort(([na], [nb]) => {
    const oa = oneShot(na);
    if (oa !== oneShot(nb)) return oa ? 1 : -1;
    const ta = lastUpdatedMs[na] ?? Number.NEGATIVE_INFINITY;
    const tb = lastUpdatedMs[nb] ?? Number.NEGATIVE_INFINITY;
    if (ta !== tb) return tb > ta ? 1 : -1;
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  return vvNormalize(Object.fromEntries(entries.slice(0, maxEntries)));
}
