// Checkers judge any history that follows ../shared/HISTORY.md: what a write superseded and what a remove
// observed come from context equality; `readFrom` / `readIndex` are optional shortcuts. Every anomaly here
// is judged twice, with the shortcuts and with them stripped, and must get the same verdict.
import t from 'tap';
import { checkRegister } from '../checkers/register.js';
import { checkQuorum } from '../checkers/quorum.js';
import { checkConvergence } from '../checkers/convergence.js';
import { checkCart } from '../checkers/cart.js';
import type { CheckerResult, HistoryOp } from '../checkers/history.js';
import type { CheckOptions } from '../checkers/options.js';
import { HistoryBuilder, opts, stripShortcuts } from './checkers-fixtures.js';

type Check = (h: readonly HistoryOp[], o: CheckOptions) => CheckerResult;

/** Runs `check` on both forms and hands each result to `expect`, labelled. */
function bothForms(ops: HistoryOp[], check: Check, o: CheckOptions, expect: (r: CheckerResult, form: string) => void): void {
  const stripped = stripShortcuts(ops);
  if (!ops.some((op) => op.readFrom !== undefined || op.readIndex !== undefined)) throw new Error('fixture records no shortcut');
  if (stripped.some((op) => 'readFrom' in op || 'readIndex' in op)) throw new Error('stripShortcuts left a shortcut');
  expect(check(ops, o), 'with shortcuts');
  expect(check(stripped, o), 'contexts only');
}

t.test('register: a write superseded through a read context is not lost; a concurrent blind one that vanished is', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  const r = h.get(1, 'k', ['a']);
  h.rmw(1, 'k', 'b', r);
  h.get(0, 'k', ['b'], true);
  h.local('k', 'n1', ['b']);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, true, form);
    t.equal(res.superseded, 1, form);
    t.equal(res.lostCount, 0, form);
  });
  const lost = new HistoryBuilder();
  lost.put(0, 'k', 'a');
  const r2 = lost.get(1, 'k', ['a']);
  lost.rmw(1, 'k', 'b', r2);
  lost.put(2, 'k', 'x'); // blind: a sibling of b that must survive
  lost.get(0, 'k', ['b'], true);
  lost.local('k', 'n1', ['b']);
  bothForms(lost.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.equal(res.lostCount, 1, form);
    t.match(res.lost, [{ value: 'x', cause: 'vanished' }], form);
  });
});

t.test('register: a chain through the contexts writes return supersedes each predecessor', async (t) => {
  const h = new HistoryBuilder();
  const a = h.put(0, 'k', 'a');
  const b = h.rmw(0, 'k', 'b', a); // sends the context put a returned
  h.rmw(1, 'k', 'c', b);
  h.local('k', 'n1', ['c']);
  h.local('k', 'n2', ['c']);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, true, form);
    t.equal(res.superseded, 2, form);
  });
  bothForms(h.ops, checkConvergence, opts(), (res, form) => t.equal(res.valid, true, form));
});

t.test('register: a write returned its sent context unchanged, so a later write citing it does not supersede it', async (t) => {
  // The reference node does this when it cannot cover the new dot: the new version stays a sibling.
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  const r = h.get(1, 'k', ['a']);
  const b = h.rmw(1, 'k', 'b', r, 'ok', h.ops[r]!.context); // ok, but the returned context is the one it sent
  h.rmw(2, 'k', 'c', b); // the shortcut (as our workload records it) claims c read b; the context says only a
  h.local('k', 'n1', ['c']);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.match(res.lost, [{ value: 'b' }], form);
  });
});

t.test('register: a context several writes received covers only what they all agree on (the empty context of blind writes)', async (t) => {
  // The reference node returns the empty context for a blind write it cannot cover without a gap, so the same
  // string follows many unrelated writes; a delete sending it covers none of them.
  const h = new HistoryBuilder();
  h.invoke(0, 'put', 'k', 'a');
  h.complete(0, 'ok', 'a', { context: 'empty' });
  h.invoke(1, 'put', 'k', 'b');
  const b = h.complete(1, 'ok', 'b', { context: 'empty' });
  h.del(2, 'k', b); // the shortcut, as a workload trusting the put's context would record it, says it covers b
  h.get(3, 'k', ['a'], true);
  h.local('k', 'n1', ['a']);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.match(res.lost, [{ value: 'b' }], form);
  });
});

t.test('register: a context-carrying write that did not observe the lost write is the culprit', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  const r = h.get(2, 'k', ['a']);
  h.rmw(2, 'k', 'c', r);
  h.local('k', 'n1', ['c']);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.equal(res.lostCount, 1, form);
    t.match(res.contextOvercover, [{ dropped: 'b', by: 'c', byReadFrom: ['a'] }], form);
  });
});

t.test('register: superseded only by an info write is possibly lost', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  const r = h.get(1, 'k', ['a']);
  h.rmw(1, 'k', 'b', r, 'info');
  h.local('k', 'n1', []);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.equal(res.lostCount, 0, form);
    t.equal(res.possiblyLostCount, 1, form);
  });
});

t.test('register: a delete through a read context supersedes what that read returned', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  const r = h.get(1, 'k', ['a']);
  h.del(1, 'k', r);
  h.get(0, 'k', [], true);
  h.local('k', 'n1', []);
  bothForms(h.ops, checkRegister, opts(), (res, form) => {
    t.not(res.valid, false, form);
    t.equal(res.lostCount, 0, form);
  });
  bothForms(h.ops, checkConvergence, opts(), (res, form) => t.equal(res.valid, true, form));
});

t.test('register: a context no op in the history received makes a write possibly, not certainly, lost', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.invoke(1, 'put', 'k', 'b', { context: 'from-another-client' });
  h.complete(1, 'ok', 'b', { context: 'ctx-b' });
  h.local('k', 'n1', ['b']);
  const res = checkRegister(h.ops, opts());
  t.equal(res.lostCount, 0);
  t.equal(res.possiblyLostCount, 1);
  t.match(res.writeLinks, { unlinked: 1 });
  t.equal(checkConvergence(h.ops, opts()).valid, true, 'convergence does not require a write that may be covered');
});

t.test('quorum: a strict-quorum read of the successor is fresh; one missing it is stale', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  const r = h.get(1, 'k', ['a']);
  h.rmw(1, 'k', 'b', r);
  h.get(2, 'k', ['b']);
  bothForms(h.ops, checkQuorum, opts(), (res, form) => {
    t.equal(res.valid, true, form);
    t.equal(res.staleReads, 0, form);
  });
  h.get(3, 'k', ['a']);
  bothForms(h.ops, checkQuorum, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.equal(res.staleReads, 1, form);
    t.match(res.stale, [{ missed: 'b' }], form);
  });
});

t.test('convergence: a superseded write absent from every replica is not missing', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'x');
  const r = h.get(2, 'k', ['a', 'x']);
  h.rmw(2, 'k', 'b', r);
  h.local('k', 'n1', ['b']);
  h.local('k', 'n2', ['b']);
  bothForms(h.ops, checkConvergence, opts(), (res, form) => {
    t.equal(res.valid, true, form);
    t.equal(res.missingAcknowledged, 0, form);
  });
});

t.test('convergence: an unsuperseded write absent from the replicas is missing in both forms', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'x');
  const r = h.get(2, 'k', ['a']);
  h.rmw(2, 'k', 'b', r);
  h.local('k', 'n1', ['b']);
  bothForms(h.ops, checkConvergence, opts(), (res, form) => {
    t.equal(res.valid, false, form);
    t.match(res.missing, [{ value: 'x' }], form);
  });
});

const cart = opts({ workload: 'cart' });

t.test('cart: an add invoked after the remove read completed must survive (the remove did not observe it)', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.add(0, 'c', 'x');
  h.remove(1, 'c', 'x', ri);
  h.read(2, 'c', {}, true);
  h.local('c', 'n1', {});
  bothForms(h.ops, checkCart, cart, (res, form) => {
    t.equal(res.valid, false, form);
    t.equal(res.lost, 1, form);
  });
  bothForms(h.ops, checkConvergence, cart, (res, form) => {
    t.equal(res.valid, false, form);
    t.match(res.missing, [{ item: 'x', need: 1, have: 0 }], form);
  });
  // The same remove, with the second add invoked before the read: the read may have observed both.
  const ok = new HistoryBuilder();
  ok.add(0, 'c', 'x');
  ok.add(0, 'c', 'x');
  const rj = ok.read(1, 'c', { x: 2 });
  ok.remove(1, 'c', 'x', rj);
  ok.add(0, 'c', 'y');
  ok.read(2, 'c', { y: 1 }, true);
  ok.local('c', 'n1', { y: 1 });
  bothForms(ok.ops, checkCart, cart, (res, form) => {
    t.equal(res.valid, true, form);
    t.equal(res.removed, 2, form);
  });
  bothForms(ok.ops, checkConvergence, cart, (res, form) => t.equal(res.valid, true, form));
});

t.test('cart: a remove citing another process\'s read context (a shared client) links to that read', async (t) => {
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  const ri = h.read(1, 'c', { x: 1 });
  h.add(0, 'c', 'x');
  h.remove(2, 'c', 'x', ri); // process 2 sends process 1's context
  h.read(3, 'c', {}, true);
  bothForms(h.ops, checkCart, cart, (res, form) => t.equal(res.lost, 1, form));
});

for (const sloppy of [true, false]) {
  const mode = sloppy ? 'sloppy' : 'strict';
  t.test(`cart (${mode}): a unique removed item back in the final reads after heal is a lost remove`, async (t) => {
    const h = new HistoryBuilder();
    h.add(0, 'c', 'x');
    h.add(0, 'c', 'y');
    const ri = h.read(1, 'c', { x: 1, y: 1 });
    h.nemesis('partition', { kind: 'halves' });
    h.remove(1, 'c', 'x', ri);
    h.nemesis('heal');
    h.wait(100);
    h.read(2, 'c', { x: 1, y: 1 }, true);
    bothForms(h.ops, checkCart, opts({ workload: 'cart', sloppy }), (res, form) => {
      t.equal(res.valid, false, form);
      t.equal(res.resurrectedCount, 1, form);
      t.match(res.resurrected, [{ item: 'x' }], form);
    });
  });

  t.test(`cart (${mode}): a removed item seen again only during the fault is ${sloppy ? 'a measurement' : 'a violation'}`, async (t) => {
    const h = new HistoryBuilder();
    h.add(0, 'c', 'x');
    h.add(0, 'c', 'y');
    const ri = h.read(1, 'c', { x: 1, y: 1 });
    h.nemesis('partition', { kind: 'halves' });
    h.remove(1, 'c', 'x', ri);
    h.read(2, 'c', { x: 1, y: 1 }); // the far side of the partition
    h.nemesis('heal');
    h.read(2, 'c', { y: 1 }, true);
    bothForms(h.ops, checkCart, opts({ workload: 'cart', sloppy }), (res, form) => {
      t.equal(res.resurrectedCount, 0, form);
      t.equal(res.resurrectedTransientCount, 1, form);
      t.equal(res.valid, sloppy ? true : false, form);
    });
  });
}
