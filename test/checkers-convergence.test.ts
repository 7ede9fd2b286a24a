import t from 'tap';
import { checkConvergence } from '../checkers/convergence.js';
import { HistoryBuilder, MS, opts } from './checkers-fixtures.js';

t.test('register: equal replicas holding every unsuperseded acknowledged write converge', async (t) => {
  const h = new HistoryBuilder();
  h.nemesis('partition', { kind: 'halves' });
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  h.get(2, 'k', ['a', 'b']);
  h.put(2, 'k', 'c', ['a']);
  h.nemesis('heal');
  h.wait(100);
  h.get(0, 'k', ['b', 'c'], true);
  h.local('k', 'n1', ['c', 'b']);
  h.local('k', 'n2', ['b', 'c']);
  h.local('k', 'n3', [], 'info');
  const r = checkConvergence(h.ops, opts());
  t.equal(r.valid, true);
  t.equal(r.keysChecked, 1);
  t.equal(r.unreachableReplicas, 1);
  t.ok(typeof r.healToFinalStatesMs === 'number' && r.healToFinalStatesMs >= 100);
});

t.test('register: replicas that disagree are reported with per-node states', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.local('k', 'n1', ['a']);
  h.local('k', 'n2', []);
  const r = checkConvergence(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.disagreeingKeys, 1);
  t.same((r.disagreeing as { replicas: unknown[] }[])[0]!.replicas, [{ node: 'n1', state: ['a'] }, { node: 'n2', state: [] }]);
  t.equal(r.missingAcknowledged, 1);
});

t.test('register: agreeing replicas missing an acknowledged write fail', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  h.local('k', 'n1', ['b']);
  h.local('k', 'n2', ['b']);
  const r = checkConvergence(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.disagreeingKeys, 0);
  t.equal(r.missingAcknowledged, 2);
});

t.test('no final states at all is unknown', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  t.equal(checkConvergence(h.ops, opts()).valid, 'unknown');
});

t.test('cart: items maps compared; removed adds exempt, later adds required', async (t) => {
  const good = new HistoryBuilder();
  good.add(0, 'c', 'x');
  const ri = good.read(1, 'c', { x: 1 });
  good.remove(1, 'c', 'x', ri);
  good.add(0, 'c', 'y');
  good.add(0, 'c', 'y');
  good.local('c', 'n1', { y: 2 });
  good.local('c', 'n2', { y: 2, x: 0 });
  t.equal(checkConvergence(good.ops, opts({ workload: 'cart' })).valid, true);

  const bad = new HistoryBuilder();
  bad.add(0, 'c', 'x');
  const rj = bad.read(1, 'c', { x: 1 });
  bad.add(0, 'c', 'x'); // after the remove's read: must survive
  bad.remove(1, 'c', 'x', rj);
  bad.local('c', 'n1', {});
  bad.local('c', 'n2', {});
  const r = checkConvergence(bad.ops, opts({ workload: 'cart' }));
  t.equal(r.valid, false);
  t.match((r.missing as unknown[])[0], { key: 'c', item: 'x', need: 1, have: 0 });
});

t.test('heal → last final op is reported as healToFinalStatesMs; convergenceTimeMs is the run\'s measurement', async (t) => {
  const h = new HistoryBuilder();
  h.nemesis('kill', { node: 'n1' });
  h.put(0, 'k', 'a');
  h.nemesis('restart', { node: 'n1' });
  const healEnd = h.ops[h.ops.length - 1]!.time;
  h.wait(250);
  h.local('k', 'n1', ['a']);
  const r = checkConvergence(h.ops, opts());
  t.equal(r.healToFinalStatesMs, (h.ops[h.ops.length - 1]!.time - healEnd) / MS);
  t.equal(r.convergenceTimeMs, null, 'not measured');
  t.equal(checkConvergence(h.ops, opts({ measuredConvergenceMs: 12.5 })).convergenceTimeMs, 12.5);
  t.equal(checkConvergence(h.ops, opts({ measuredConvergenceMs: null })).convergenceTimeMs, null);
});
