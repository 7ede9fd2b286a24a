// A replica's carts on disk: a base plus appended deltas (node/core/local-store.ts). A write merged from
// the stored cart appends only its delta; the deltas are folded into a new base once they outweigh it; every
// prefix of the batches (what a crash leaves) reads back as the state acknowledged at that point; a failed
// or a non-durable write makes the next one store the whole cart.
import t from 'tap';
import type { Storage } from '../node/core/env.js';
import { type CartState, cartAddDelta, cartDotId, cartEqual, cartHash, cartObserved, cartRemoveDelta, encodeCart } from '../node/core/cart.js';
import { LocalStore, dataTypes, type State } from '../node/core/local-store.js';
import { MemoryStorage, envOf } from './helpers/memory-storage.js';

function storeOn(storage: Storage): LocalStore {
  return new LocalStore(envOf(storage), dataTypes(false), () => 0);
}

async function reloaded(storage: Storage, key: string): Promise<{ state: CartState | undefined; hash: string | undefined }> {
  const s = storeOn(storage);
  await s.load();
  return { state: (await s.get('cart', key)) as CartState | undefined, hash: s.hashOf('cart', key) };
}

t.test('cart writes append deltas, fold them into a base once they outweigh it, and read back alike', async (t) => {
  const disk = new MemoryStorage();
  const store = storeOn(disk);
  const states: State[] = [];
  const snapshots: MemoryStorage[] = [];
  let baseWrites = 0;
  for (let i = 1; i <= 400; i++) {
    // Mostly adds; every fifth write removes what the replica holds of one item.
    const cur = (await store.get('cart', 'c')) as CartState | undefined;
    const delta = i % 5 === 0 && cur !== undefined ? cartRemoveDelta('sku-1', cartObserved(cur, 'sku-1')) : cartAddDelta(`sku-${i % 7}`, 1, cartDotId('n1', 'b', i));
    const { state } = await store.merge('cart', 'c', delta);
    states.push(state);
    const batch = disk.batches[disk.batches.length - 1]!;
    if (batch.some((w) => w.ns === 'cart')) baseWrites++;
    else t.ok(batch.length === 1 && batch[0]!.ns === 'cart-delta', `write ${i} appends one delta`);
    // Stored bytes: the base, and deltas no heavier than it (plus the one that tipped the balance).
    const whole = encodeCart(state as CartState).byteLength;
    if (disk.bytes() > 2 * whole + 200) t.fail(`write ${i}: ${disk.bytes()} bytes stored for a ${whole}-byte cart`);
    snapshots.push(new MemoryStorage(disk));
  }
  t.ok(baseWrites < 40, `${baseWrites} of 400 writes stored the whole cart`);
  const back = await reloaded(disk, 'c');
  t.ok(back.state !== undefined && cartEqual(back.state, states[399] as CartState), 'a restart reads the last state back');
  t.equal(back.hash, store.hashOf('cart', 'c'), 'with the same Merkle value hash');
  t.equal(back.hash, cartHash(states[399] as CartState));
  // What a crash leaves is a prefix of the batches: each one reads back as the state acknowledged then.
  for (const i of [0, 1, 2, 7, 50, 123, 250, 398]) {
    const r = await reloaded(snapshots[i]!, 'c');
    t.ok(r.state !== undefined && cartEqual(r.state, states[i] as CartState), `after batch ${i + 1}`);
  }
  // A read without load (a cache miss) sees base and deltas too.
  const cold = storeOn(disk);
  const got = (await cold.get('cart', 'c')) as CartState | undefined;
  t.ok(got !== undefined && cartEqual(got, states[399] as CartState));
  // A delete leaves nothing, deltas included.
  await store.del('cart', 'c');
  t.same([...(disk.data.get('cart-delta') ?? new Map()).keys()], []);
  t.equal((await reloaded(disk, 'c')).state, undefined);
});

t.test("another key's deltas never mix in, whatever the keys hold", async (t) => {
  const disk = new MemoryStorage();
  const store = storeOn(disk);
  const keys = ['a', 'a"', 'a\u0000b', 'ab', '"a"', 'a\\'];
  for (let i = 0; i < 30; i++) for (const [k, key] of keys.entries()) await store.merge('cart', key, cartAddDelta(`i${k}`, 1, cartDotId('n1', 'b', i * 10 + k)));
  const again = storeOn(disk);
  await again.load();
  for (const [k, key] of keys.entries()) {
    const s = (await again.get('cart', key)) as CartState;
    t.same(Object.keys(s === undefined ? {} : Object.fromEntries(s.adds)).length, 30, `${JSON.stringify(key)}: its own 30 adds`);
    t.same([...new Set([...s.adds.values()].map((a) => a.item))], [`i${k}`]);
  }
});

t.test('after a failed or a non-durable write the next write stores the whole cart', async (t) => {
  const disk = new MemoryStorage();
  const store = storeOn(disk);
  for (let i = 1; i <= 20; i++) await store.merge('cart', 'c', cartAddDelta('x', 1, cartDotId('n1', 'b', i)));
  disk.failNext = true;
  await t.rejects(store.merge('cart', 'c', cartAddDelta('y', 1, cartDotId('n1', 'b', 21))), /disk full/);
  const after = await store.merge('cart', 'c', cartAddDelta('z', 1, cartDotId('n1', 'b', 22)));
  t.ok(disk.batches[disk.batches.length - 1]!.some((w) => w.ns === 'cart' && w.type === 'put'), 'whole after a failure');
  let back = await reloaded(disk, 'c');
  t.ok(back.state !== undefined && cartEqual(back.state, after.state as CartState), 'nothing of the failed write is missing on disk');

  await store.merge('cart', 'c', cartAddDelta('w', 1, cartDotId('n1', 'b', 23)), false);
  const count = disk.batches.length;
  const last = await store.merge('cart', 'c', cartAddDelta('v', 1, cartDotId('n1', 'b', 24)));
  t.equal(disk.batches.length, count + 1);
  t.ok(disk.batches[count]!.some((w) => w.ns === 'cart' && w.type === 'put'), 'whole after a write held in memory only');
  back = await reloaded(disk, 'c');
  t.ok(back.state !== undefined && cartEqual(back.state, last.state as CartState));
});
