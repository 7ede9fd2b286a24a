// A counting bound for add-wins carts. Reads show quantities, not add instances, so a remove whose read
// completed after an add began "may have observed" that add, and per-instance reasoning must then excuse
// the add's absence. Counting is sharper: a remove sends the context of one read and takes away only the
// add instances that read observed, so it removes at most as many instances of the item as the read
// showed. However the removes are matched to adds, at most that many acknowledged adds can be gone, and
// every replica (and every read) after heal and quiescence must show at least the rest.
import type { ClientOp, PairedHistory } from './ops.js';
import { cartOps } from './cart-ops.js';

/** One remove of an item, as far as counting goes. */
export interface RemoveCapacity {
  /** Completion time of the read whose context the remove sent: adds invoked later cannot be observed. */
  readonly cutoff: number;
  /** Instances it can take away: the item's quantity in that read (Infinity when the read is unknown). */
  readonly capacity: number;
}

/**
 * The most acknowledged adds of one item that the removes can have taken away. Each remove may take up to
 * `capacity` of the adds invoked before its cutoff; these eligible sets are prefixes of the adds in invoke
 * order, so serving removes by increasing cutoff and letting each take all it can is a maximum matching.
 */
export function removableAtMost(addInvokeTimes: readonly number[], removes: readonly RemoveCapacity[]): number {
  const adds = [...addInvokeTimes].sort((a, b) => a - b);
  const byCutoff = [...removes].sort((a, b) => a.cutoff - b.cutoff);
  let next = 0;
  let available = 0;
  let removed = 0;
  for (const r of byCutoff) {
    while (next < adds.length && adds[next]! < r.cutoff) {
      next++;
      available++;
    }
    const take = Math.min(r.capacity, available);
    available -= take;
    removed += take;
  }
  return removed;
}

/** Per item: how many acknowledged adds must still be live once every write has spread. */
export type SurvivorBound = Map<string, { acknowledged: number; removableAtMost: number; mustSurvive: number }>;

// The cart and convergence checkers both ask for the bound of the same key's ops (the lists clientOpsByKey
// memoises per paired history), so it is computed once per list.
const boundCache = new WeakMap<readonly ClientOp[], SurvivorBound>();

/**
 * The survivor bound of every item of one key's client ops. A remove that failed definitely did nothing;
 * one that timed out may have happened, so it counts. Quantities are what reads show; every workload add
 * is of quantity 1, so a read's quantity is the number of add instances it observed. Callers must not
 * mutate the result.
 */
export function survivorBound(ops: readonly ClientOp[], paired: PairedHistory): SurvivorBound {
  let bound = boundCache.get(ops);
  if (bound === undefined) boundCache.set(ops, (bound = computeBound(ops, paired)));
  return bound;
}

function computeBound(ops: readonly ClientOp[], paired: PairedHistory): SurvivorBound {
  const adds = new Map<string, number[]>();
  const removes = new Map<string, RemoveCapacity[]>();
  const derived = cartOps(ops, paired);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.f !== 'add' && op.f !== 'remove') continue;
    const item = derived.items[i]!;
    if (op.f === 'add' && op.type === 'ok') {
      let list = adds.get(item);
      if (list === undefined) adds.set(item, (list = []));
      list.push(op.invokeTime);
    } else if (op.f === 'remove' && op.type !== 'fail') {
      const read = derived.observed[i];
      const known = read !== undefined && read.type === 'ok';
      const cap: RemoveCapacity = known
        ? { cutoff: read.completeTime, capacity: derived.observedQty[i]! }
        : { cutoff: op.completeTime === Infinity ? paired.endTime + 1 : op.completeTime, capacity: Infinity };
      let list = removes.get(item);
      if (list === undefined) removes.set(item, (list = []));
      list.push(cap);
    }
  }
  const out: SurvivorBound = new Map();
  for (const [item, times] of adds) {
    const removable = removableAtMost(times, removes.get(item) ?? []);
    out.set(item, { acknowledged: times.length, removableAtMost: removable, mustSurvive: times.length - removable });
  }
  return out;
}
