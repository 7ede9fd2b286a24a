// A coordinator must never mint the same dot twice for one key, even after the state it mints from has
// forgotten its vector entry. Read contexts are pruned to `clockPruneEntries` (10) entries, as in the
// Dynamo paper; a client that writes with a pruned context makes a version whose past lacks the dropped
// entries, and once that version supersedes the rest, no replica's state remembers the dropped node's
// counter. Found by the local detection campaign (reference node, register, sloppy, partitions, seed 3):
// a home minted `n4@…:2` for reg-0 at 8.9 s and again at 23.5 s, so two writes handed back the same context,
// and a client holding the older one could replace a write it never saw.
import t from 'tap';
import { ActorIds } from '../node/core/actor-ids.js';
import { enc, okGet, okPut, testCluster, waitConverged } from './helpers/sim-cluster.js';

t.test('a home whose vector entry was pruned away does not mint its old dot again', async (t) => {
  const c = await testCluster(t, 3, { n: 3, r: 2, w: 2, sloppy: false });
  const key = 'k';
  const n1 = () => c.node('n1');
  const n3 = () => c.node('n3');
  // A: n3's first dot for the key. B (through n1, having read A) supersedes it.
  const ctxA = okPut(t, await c.run(n3().put(key, enc('A'), undefined)));
  let read = await c.run(n1().get(key, { r: 3 }));
  t.same(okGet(t, read), ['A']);
  okPut(t, await c.run(n1().put(key, enc('B'), read.ok ? read.context : undefined)));
  // Each restart of n1 starts a new epoch, a new actor; a read-modify-write under each adds one entry to
  // the key's vector until a read context no longer has room for n3's (its id sorts last among entries
  // with no live sibling, so pruning drops it first).
  for (let i = 0; i < 11; i++) {
    c.crash('n1');
    await c.restart('n1');
    await waitConverged(c);
    read = await c.run(n1().get(key, { r: 3 }));
    t.equal(okGet(t, read).length, 1, `one value before write ${i}`);
    okPut(t, await c.run(n1().put(key, enc(`W${i}`), read.ok ? read.context : undefined)));
  }
  read = await c.run(n1().get(key, { r: 3 }));
  t.same(okGet(t, read), ['W10']);
  await c.advance(3_000);

  // D: a blind write through n3, whose stored state now holds only W10 (its past lacks n3's entry).
  const ctxD = okPut(t, await c.run(n3().put(key, enc('D'), undefined)));
  t.not(ctxD, ctxA, 'D is handed back a context of its own, not the one A got');
  // E: a client still holding A's context writes. It never saw D, so D must survive as a sibling.
  okPut(t, await c.run(n3().put(key, enc('E'), ctxA)));
  await c.advance(3_000);
  const values = okGet(t, await c.run(n1().get(key, { r: 3 }))).sort();
  t.ok(values.includes('D'), `D survives a write made with a context that never saw it (read ${JSON.stringify(values)})`);
  t.ok(values.includes('E'));
});

t.test('the per-key minted table is bounded: a full table moves to a fresh, persisted epoch first', async (t) => {
  let persisted = 0;
  const ids = new ActorIds('n1', async () => {
    persisted++;
  });
  ids.bootWithoutMetadata();
  const first = ids.ownActor();
  ids.noteMinted(first, 'a', 3);
  ids.noteMinted(first, 'a', 2);
  t.equal(ids.mintedFloor(first, 'a'), 3, 'the largest counter minted is kept');
  t.equal(ids.mintedFloor('someone-else', 'a'), 0);
  t.equal(ids.roomToMint(), undefined, 'room: mint in this very turn');
  for (let i = 0; i < 100_000; i++) ids.noteMinted(first, `k${i}`, 1);
  const wait = ids.roomToMint();
  t.ok(wait !== undefined, 'a full table makes the next mint wait');
  t.equal(ids.roomToMint() !== undefined, true, 'and any other mint meanwhile');
  await wait;
  t.equal(persisted, 1, 'one epoch bump, persisted before anyone mints under it');
  const second = ids.ownActor();
  t.not(second, first);
  t.equal(ids.mintedFloor(second, 'a'), 0, 'the new actor has minted nothing');
  t.equal(ids.roomToMint(), undefined);
});
