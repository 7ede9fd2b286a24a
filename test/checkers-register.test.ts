import t from 'tap';
import { checkRegister } from '../checkers/register.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

t.test('a chain of writes that each read the previous one is valid', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.put(1, 'k', 'b', ['a']);
  h.get(0, 'k', ['b'], true);
  h.local('k', 'n1', ['b']);
  const r = checkRegister(h.ops, opts());
  t.equal(r.valid, true);
  t.equal(r.lostCount, 0);
  t.equal(r.superseded, 1);
  t.equal(r.survived, 1);
});

t.test('an acknowledged write missing from the final state with no successor is lost', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b'); // blind, concurrent-in-causality with a: both must survive as siblings
  h.get(0, 'k', ['b'], true);
  h.local('k', 'n1', ['b']);
  const r = checkRegister(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.lostCount, 1);
  t.match((r.lost as unknown[])[0], { key: 'k', value: 'a', cause: 'vanished' });
});

t.test('a context-carrying write that did not observe a lost write is named as the over-covering culprit', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  h.get(2, 'k', ['a']); // read saw only a
  h.put(2, 'k', 'c', ['a']); // c supersedes a only, yet b disappears
  h.local('k', 'n1', ['c']);
  const r = checkRegister(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.contextOvercoverCount, 1);
  t.match((r.contextOvercover as unknown[])[0], { dropped: 'b', by: 'c' });
});

t.test('under lww the loss of a concurrent blind write is reported as lww-overwrite', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  h.local('k', 'n1', ['b']);
  const r = checkRegister(h.ops, opts({ conflicts: 'lww' }));
  t.equal(r.valid, false);
  t.match((r.lost as unknown[])[0], { value: 'a', cause: 'lww-overwrite' });
});

t.test('a write superseded only by an info write is possibly lost, not lost', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.put(1, 'k', 'b', ['a'], 'info');
  h.local('k', 'n1', []);
  const r = checkRegister(h.ops, opts());
  t.equal(r.lostCount, 0);
  t.equal(r.possiblyLostCount, 1);
});

t.test('phantom reads: never written, failed write, read from the future', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'f', undefined, 'fail');
  h.get(0, 'k', ['a', 'zzz']);
  h.get(0, 'k', ['f']);
  h.get(0, 'k', ['later']);
  h.put(1, 'k', 'later');
  const r = checkRegister(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.phantomCount, 3);
  t.same((r.phantom as { reason: string }[]).map((p) => p.reason), ['never written', 'write failed (definitely not applied)', 'read before the write was invoked']);
});

t.test('without final states, a write no later read shows is lost; one never read is not judged', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', []);
  h.put(0, 'j', 'x');
  const r = checkRegister(h.ops, opts());
  t.equal(r.lostCount, 1);
  t.equal(r.neverRead, 1);
});
