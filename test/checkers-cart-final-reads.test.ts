// What decides a cart verdict after heal and quiesce. The history is seed 49's cart-2 (harness/sim-property.ts)
// cut to its bones: an add of x invoked after a remove's read (so it must survive), a removed y, then four
// final reads, some answered by a home replica that anti-entropy or read repair had not reached yet (they miss
// x and still show y), and the home replicas' recorded states. At N=3 R=1 W=1 one read may meet only a stale
// replica, so final reads are measured and the replica states, the latest evidence, decide (as set-full lets
// the latest read decide). Under a strict R + W > N quorum every final read meets every write, so each decides.
import t from 'tap';
import { checkCart } from '../checkers/cart.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

type Final = Record<string, number>;
const fresh: Final = { x: 1 };
const stale: Final = { y: 1 };

function history(finals: readonly Final[], replicas: Final | null = fresh): HistoryBuilder {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(1, 'c', 'y');
  const seen = h.read(0, 'c', { x: 1, y: 1 });
  h.remove(2, 'c', 'x', seen);
  h.remove(1, 'c', 'y', seen);
  // Invoked after the remove's read completed: that remove cannot have observed it.
  h.add(0, 'c', 'x');
  h.read(2, 'c', { x: 1 });
  h.nemesis('heal');
  h.wait(2500);
  finals.forEach((items, i) => h.read(4_000_000 + i, 'c', items, true));
  if (replicas !== null) for (const node of ['n2', 'n3', 'n4']) h.local('c', node, replicas);
  return h;
}

const weak = opts({ workload: 'cart', r: 1, w: 1 });
const strong = opts({ workload: 'cart', r: 2, w: 2 });

t.test('R=W=1: a stale final read that later final reads contradict is stale, not lost or resurrected', async (t) => {
  const r = checkCart(history([stale, fresh, fresh, fresh]).ops, weak);
  t.equal(r.valid, true, JSON.stringify(r));
  t.equal(r.lost, 0);
  t.equal(r.resurrectedCount, 0);
  t.equal(r.staleFinalReads, 1, 'the first final read is counted as stale');
  t.ok((r.resurrectedTransientCount as number) > 0, 'its y is a transient resurrection');
  t.ok((r.stale as number) > 0, 'the second x is stable after a stale read');
});

t.test('R=W=1: stale final reads last (seed 119: read repair had not landed) are stale too: the replicas decide', async (t) => {
  const r = checkCart(history([fresh, fresh, stale, stale]).ops, weak);
  t.equal(r.valid, true, JSON.stringify(r));
  t.equal(r.lost, 0);
  t.equal(r.resurrectedCount, 0);
  t.equal(r.staleFinalReads, 2);
  t.equal(r.reads, 6, 'replica states are evidence, not client reads');
});

t.test('R=W=1: an add every home replica lacks is lost, even if a final read showed it', async (t) => {
  const r = checkCart(history([fresh, fresh, fresh, fresh], {}).ops, weak);
  t.equal(r.valid, false);
  t.ok((r.lost as number) > 0, `lost: ${String(r.lost)}`);
});

t.test('R=W=1: a removed item every home replica still shows is resurrected', async (t) => {
  const r = checkCart(history([fresh, fresh, fresh, fresh], { x: 1, y: 1 }).ops, weak);
  t.equal(r.valid, false);
  t.equal(r.resurrectedCount, 3);
});

t.test('R=W=1 without recorded replica states: the latest final read decides', async (t) => {
  t.equal(checkCart(history([stale, fresh, fresh, fresh], null).ops, weak).valid, true);
  const r = checkCart(history([fresh, fresh, fresh, stale], null).ops, weak);
  t.equal(r.valid, false);
  t.ok((r.lost as number) > 0, `lost: ${String(r.lost)}`);
  t.equal(r.resurrectedCount, 1);
});

t.test('R=W=2 strict: every final read decides, so the same stale first read is a loss and a resurrection', async (t) => {
  const r = checkCart(history([stale, fresh, fresh, fresh]).ops, strong);
  t.equal(r.valid, false);
  t.ok((r.lost as number) > 0, `lost: ${String(r.lost)}`);
  t.equal(r.resurrectedCount, 1);
  t.equal(r.staleFinalReads, 0);
});

t.test('sloppy R=W=2: a hint not yet delivered may leave one final read stale, as at R=W=1', async (t) => {
  const r = checkCart(history([stale, fresh, fresh, fresh]).ops, opts({ workload: 'cart', r: 2, w: 2, sloppy: true }));
  t.equal(r.valid, true, JSON.stringify(r));
  t.equal(r.staleFinalReads, 1);
});

t.test('R=W=1: an add missing from every final read and every replica is lost (the count bound still holds)', async (t) => {
  const r = checkCart(history([{}, {}, {}, {}], {}).ops, weak);
  t.equal(r.valid, false);
  t.ok((r.lost as number) > 0);
});
