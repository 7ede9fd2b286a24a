import t from 'tap';
import { checkQuorum } from '../checkers/quorum.js';
import { choose, pbsStaleOne, pbsWithinK } from '../checkers/pbs.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

t.test('strict quorum: reads after acks that reflect them (directly or via a successor) are valid', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.put(1, 'k', 'b', ['a']);
  h.get(2, 'k', ['b']);
  h.put(0, 'k', 'c'); // blind: a sibling of b
  h.get(2, 'k', ['b', 'c']);
  const r = checkQuorum(h.ops, opts());
  t.equal(r.valid, true);
  t.equal(r.staleReads, 0);
});

t.test('strict quorum: a read invoked after an ack that misses it is a stale read', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.put(1, 'k', 'b', ['a']);
  h.get(2, 'k', ['a']);
  const r = checkQuorum(h.ops, opts());
  t.equal(r.valid, false);
  t.equal(r.staleReads, 1);
  t.match((r.stale as unknown[])[0], { missed: 'b', returned: ['a'], versionsBehind: 1 });
});

t.test('a read concurrent with the write may miss it', async (t) => {
  const h = new HistoryBuilder();
  h.invoke(0, 'put', 'k', 'a');
  h.invoke(1, 'get', 'k');
  h.complete(0, 'ok', 'a');
  h.complete(1, 'ok', []);
  const r = checkQuorum(h.ops, opts());
  t.equal(r.valid, true);
});

t.test('a delete explains an empty read', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.invoke(1, 'delete', 'k', undefined, { context: 'c', readFrom: ['a'] });
  h.complete(1, 'ok');
  h.get(2, 'k', []);
  t.equal(checkQuorum(h.ops, opts()).valid, true);
});

t.test('partial quorum: stale reads are measured, not failed; k and t-visibility recorded', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['a']);
  h.put(1, 'k', 'b', ['a']);
  h.get(1, 'k', ['b']);
  h.put(1, 'k', 'c', ['b']);
  h.get(2, 'k', ['a']); // two versions behind
  const r = checkQuorum(h.ops, opts({ r: 1, w: 1 }));
  t.equal(r.valid, true);
  t.equal(r.staleReads, 1);
  t.same(r.kStaleness, [{ k: 0, count: 2 }, { k: 2, count: 1 }]);
  const tv = r.tVisibility as { tMs: number; pairs: number; pSeen: number | null }[];
  t.ok(tv.reduce((s, b) => s + b.pairs, 0) >= 3);
  t.match(r.pbs, { pStaleOneVersion: 0.666667 });
});

t.test('sloppy quorum is never strict even with R + W > N', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', []);
  const r = checkQuorum(h.ops, opts({ sloppy: true }));
  t.equal(r.valid, true);
  t.equal(r.staleReads, 1);
});

t.test('PBS closed form matches the paper', async (t) => {
  t.equal(choose(5, 2), 10);
  t.equal(pbsStaleOne(3, 2, 2), 0);
  const within = pbsWithinK(3, 1, 1);
  t.ok(Math.abs(within[1]!.p - 5 / 9) < 1e-12);
  t.ok(Math.abs(within[2]!.p - (1 - 8 / 27)) < 1e-12);
});
