// The counting bound of add-wins carts (checkers/cart-bound.ts): its matching is maximal (checked against
// brute force), it is sound (a cart that loses nothing passes even when reads are stale), and it names
// losses that per-instance reasoning must excuse because some remove "may have observed" the add.
import t from 'tap';
import fc from 'fast-check';
import { removableAtMost, type RemoveCapacity } from '../checkers/cart-bound.js';
import { checkCart } from '../checkers/cart.js';
import { checkConvergence } from '../checkers/convergence.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

/** Exhaustive maximum matching for tiny inputs: every remove tries every number it could take. */
function bruteForce(adds: number[], removes: RemoveCapacity[]): number {
  const sorted = [...adds].sort((a, b) => a - b);
  const used = sorted.map(() => false);
  let best = 0;
  const go = (ri: number, taken: number): void => {
    if (ri === removes.length) {
      best = Math.max(best, taken);
      return;
    }
    go(ri + 1, taken);
    const r = removes[ri]!;
    // Take any subset of up to `capacity` eligible unused adds; which ones matters, so branch on each.
    const pick = (from: number, left: number, got: number): void => {
      go(ri + 1, taken + got);
      if (left === 0) return;
      for (let i = from; i < sorted.length; i++) {
        if (used[i] || !(sorted[i]! < r.cutoff)) continue;
        used[i] = true;
        pick(i + 1, left - 1, got + 1);
        used[i] = false;
      }
    };
    pick(0, Math.min(r.capacity, sorted.length), 0);
  };
  go(0, 0);
  return best;
}

t.test('the greedy matching takes as many adds as any assignment of removes to adds can', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 6 }),
      fc.array(fc.record({ cutoff: fc.integer({ min: 0, max: 11 }), capacity: fc.integer({ min: 0, max: 3 }) }), { maxLength: 4 }),
      (adds, removes) => removableAtMost(adds, removes) === bruteForce(adds, removes),
    ),
    { numRuns: 300 },
  );
  t.equal(removableAtMost([1, 2, 3], [{ cutoff: 10, capacity: Infinity }]), 3, 'an unknown read may have observed everything before it');
  t.equal(removableAtMost([5, 6], [{ cutoff: 4, capacity: 9 }]), 0, 'adds invoked after the read completed cannot be observed');
});

const cart = opts({ workload: 'cart', sloppy: true });

/**
 * Two adds of x; a read (stale under a sloppy quorum) shows one instance and its remove follows; after
 * quiescence a final read and a home replica show `finalQty` of x. `extra` runs before the wait.
 */
function twoAddsOneRemove(finalQty: number, extra: (h: HistoryBuilder) => void = () => {}): HistoryBuilder {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.remove(1, 'c', 'x', ri);
  extra(h);
  h.wait(100);
  const items: Record<string, number> = finalQty > 0 ? { x: finalQty } : {};
  h.read(2, 'c', items, true);
  h.local('c', 'n1', { items });
  return h;
}

t.test('a remove whose read showed one instance takes at most one: the other acknowledged add must survive', async (t) => {
  // The remove may have taken either add, so per instance both are excused; but not both can be gone.
  const h = twoAddsOneRemove(0);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.lost, 1);
  t.match((r.lostExamples as unknown[])[0], { item: 'x', byCount: true, acknowledgedAdds: 2, removableAtMost: 1, finalQuantity: 0, missing: 1 });
  const c = checkConvergence(h.ops, cart);
  t.equal(c.valid, false);
  t.equal(c.missingAcknowledged, 1);
  t.match((c.missing as unknown[])[0], { key: 'c', node: 'n1', item: 'x', need: 1, have: 0 });
});

t.test('the same history with the surviving instance present passes, and so does one remove per instance', async (t) => {
  const h = twoAddsOneRemove(1);
  // Valid or unknown (no instance is provably stable when a remove may have taken either), never invalid.
  t.not(checkCart(h.ops, cart).valid, false);
  t.equal(checkCart(h.ops, cart).lost, 0);
  t.equal(checkConvergence(h.ops, cart).valid, true);

  const g = twoAddsOneRemove(0, (b) => {
    const r2 = b.read(3, 'c', { x: 1 });
    b.remove(3, 'c', 'x', r2, 'info'); // may or may not have happened: it counts
  });
  const r = checkCart(g.ops, cart);
  t.not(r.valid, false, JSON.stringify(r.lostExamples));
  t.equal(r.lost, 0);
  t.equal(checkConvergence(g.ops, cart).valid, true);
});

t.test('a failed remove takes nothing away; a cart kept in a register (cart-kv) is not held to the count', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(0, 'c', 'x');
  const r1 = h.read(1, 'c', { x: 2 });
  h.remove(1, 'c', 'x', r1, 'fail');
  h.wait(100);
  h.read(2, 'c', { x: 1 }, true);
  t.equal(checkCart(h.ops, cart).lost, 1);
  t.equal(checkCart(h.ops, opts({ workload: 'cart-kv', sloppy: true })).lost, 1, 'per instance, cart-kv still sees the plain loss');

  // Siblings rewritten by a cart-kv client can take more than the read showed: no count bound there.
  const kv = twoAddsOneRemove(0);
  t.equal(checkCart(kv.ops, opts({ workload: 'cart-kv', sloppy: true })).lost, 0);
  t.equal(checkConvergence(kv.ops, opts({ workload: 'cart-kv', sloppy: true })).missingAcknowledged, 0);
});
