import t from 'tap';
import { checkCart } from '../checkers/cart.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

const cart = opts({ workload: 'cart' });

t.test('adds that every later read shows are stable', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(1, 'c', 'y');
  h.read(2, 'c', { x: 1, y: 1 });
  h.read(2, 'c', { x: 1, y: 1 }, true);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, true);
  t.equal(r.stable, 2);
  t.equal(r.lost, 0);
});

t.test('an add missing from the last reads is lost', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.read(2, 'c', { x: 1 });
  h.read(2, 'c', {}, true);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.lost, 1);
});

t.test('a stale read followed by reads that show it is stale, not lost', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.read(2, 'c', {});
  h.wait(10);
  h.read(2, 'c', { x: 1 });
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, true);
  t.equal(r.stale, 1);
  t.equal(r.lost, 0);
});

t.test('nothing read after the adds is unknown', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  t.equal(checkCart(h.ops, cart).valid, 'unknown');
});

t.test('a remove exempts the adds its read observed', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.remove(1, 'c', 'x', ri);
  h.add(0, 'c', 'y');
  h.read(2, 'c', { y: 1 }, true);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, true);
  t.equal(r.removed, 1);
  t.equal(r.lost, 0);
});

t.test('an add of the removed item invoked after the remove read completed must survive', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.add(0, 'c', 'x'); // not observed by the remove's read
  h.remove(1, 'c', 'x', ri);
  h.read(2, 'c', {}, true);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.lost, 1);
  t.match((r.lostExamples as unknown[])[0], { item: 'x', addIndex: 4 });
});

t.test('a repeated item keeps its quantity: two adds, one remaining', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(0, 'c', 'x');
  h.read(1, 'c', { x: 2 });
  h.read(1, 'c', { x: 1 }, true); // one instance vanished
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.lost, 1);
  t.equal(r.stable, 1);
});

t.test('a removed item showing up again with no newer add is resurrected (fails cart, expected for cart-kv)', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.remove(1, 'c', 'x', ri);
  h.add(0, 'c', 'y');
  h.read(2, 'c', { x: 1, y: 1 }, true);
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.resurrectedCount, 1);
  const kv = checkCart(h.ops, opts({ workload: 'cart-kv' }));
  t.equal(kv.resurrectedCount, 1);
  t.equal(kv.valid, true);
});

t.test('a removed item seen again during the workload is staleness under sloppy quorum, a violation under strict R + W > N', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.remove(1, 'c', 'x', ri);
  h.read(2, 'c', { x: 1 }); // not final: a read on the far side of a partition
  h.add(0, 'c', 'y');
  h.read(2, 'c', { y: 1 }, true); // after heal the remove has won
  const sloppy = checkCart(h.ops, opts({ sloppy: true }));
  t.equal(sloppy.resurrectedCount, 0);
  t.equal(sloppy.resurrectedTransientCount, 1);
  t.equal(sloppy.valid, true, 'transient resurrection under sloppy quorum is reported, not a violation');
  const strict = checkCart(h.ops, opts({ sloppy: false, n: 3, r: 2, w: 2 }));
  t.equal(strict.valid, false, 'under a strict quorum with R + W > N the read must have seen the remove');
});

t.test('under sloppy quorum a remove based on a stale read does not prove the newer add was removed', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const r1 = h.read(1, 'c', { x: 1 });
  h.remove(1, 'c', 'x', r1); // removes the first add
  h.add(0, 'c', 'x'); // a second add of the same item
  const r2 = h.read(2, 'c', { x: 1 }); // stale: it still shows the first add, not the second
  h.remove(2, 'c', 'x', r2); // so this remove takes away only the first add again
  h.read(3, 'c', { x: 1 }, true); // the second add survives, as it must
  const sloppy = checkCart(h.ops, opts({ sloppy: true }));
  t.equal(sloppy.resurrectedCount, 0, 'not a resurrection');
  t.not(sloppy.valid, false, 'not a violation (unknown: every add here may have been removed)');
});

t.test('a quantity above the possible adds is duplicated', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.read(1, 'c', { x: 2 });
  const r = checkCart(h.ops, cart);
  t.equal(r.valid, false);
  t.equal(r.duplicatedCount, 1);
});

t.test('an info add may or may not appear', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.add(1, 'c', 'y', 'info');
  h.read(2, 'c', { x: 1 }, true);
  const a = checkCart(h.ops, cart);
  t.equal(a.valid, true);
  const h2 = new HistoryBuilder();
  h2.add(0, 'c', 'x');
  h2.add(1, 'c', 'y', 'info');
  h2.read(2, 'c', { x: 1, y: 1 }, true);
  const b = checkCart(h2.ops, cart);
  t.equal(b.valid, true);
  t.equal(b.stable, 2);
});
