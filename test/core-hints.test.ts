// A fallback's hints on disk (node/core/hints.ts): a base plus the hinted writes merged into it since, so a
// hinted write costs O(the write), not O(the hint). Every prefix of the batches (what a crash leaves) reads
// back as the hint acknowledged at that point; the deltas fold into a new base once they outweigh it; a
// delivered hint leaves nothing behind; a failed write makes the next one store the whole hint.
import t from 'tap';
import { type CartState, cartAddDelta, cartDotId, cartEqual, cartObserved, cartRemoveDelta, encodeCart } from '../node/core/cart.js';
import { HintStore, hintId } from '../node/core/hints.js';
import { dataTypes } from '../node/core/local-store.js';
import { MemoryStorage, envOf } from './helpers/memory-storage.js';

const types = dataTypes(false);
const id = hintId('n2', 'cart', 'c');

async function reloaded(disk: MemoryStorage): Promise<HintStore> {
  const hints = new HintStore(envOf(disk), types);
  await hints.load();
  return hints;
}

t.test('hinted writes append deltas, fold into a base once they outweigh it, and every crash point reads back', async (t) => {
  const disk = new MemoryStorage();
  const hints = new HintStore(envOf(disk), types);
  const acked: CartState[] = [];
  const snapshots: MemoryStorage[] = [];
  for (let i = 1; i <= 300; i++) {
    const cur = hints.get(id)?.state as CartState | undefined;
    const write = i % 6 === 0 && cur !== undefined ? cartRemoveDelta('sku-1', cartObserved(cur, 'sku-1')) : cartAddDelta(`sku-${i % 9}`, 1, cartDotId('n1', 'b', i));
    await hints.add('n2', 'cart', 'c', write);
    acked.push(hints.get(id)!.state as CartState);
    snapshots.push(new MemoryStorage(disk));
  }
  const bases = disk.batches.filter((b) => b.some((w) => w.ns === 'hint' && w.type === 'put')).length;
  t.ok(bases < 30, `the whole hint was written ${bases} times in 300 hinted writes (it was every time)`);
  t.ok(disk.batches.every((b) => b.every((w) => w.ns === 'hint' || w.ns === 'hint-delta')), 'hints write only their namespaces');
  const whole = encodeCart(acked.at(-1)!).byteLength;
  t.ok(disk.bytes() <= 3 * whole + 512, `stored ${disk.bytes()} bytes for a ${whole}-byte hint`);
  for (const [i, snapshot] of snapshots.entries()) {
    const h = (await reloaded(snapshot)).get(id);
    if (h === undefined || !cartEqual(h.state as CartState, acked[i]!)) {
      t.fail(`after write ${i + 1} a restart reads back another hint`);
      return;
    }
  }
  t.pass('a restart after any write reads back the hint acknowledged by then');
});

t.test('a delivered hint leaves neither its base nor its deltas', async (t) => {
  const disk = new MemoryStorage();
  const hints = new HintStore(envOf(disk), types);
  for (let i = 1; i <= 20; i++) await hints.add('n2', 'cart', 'c', cartAddDelta('x', 1, cartDotId('n1', 'b', i)));
  t.ok((disk.data.get('hint-delta')?.size ?? 0) > 0, 'deltas were appended');
  const h = hints.get(id)!;
  t.equal(await hints.remove(id, h.version), true);
  t.equal(disk.data.get('hint')?.size ?? 0, 0, 'no base left');
  t.equal(disk.data.get('hint-delta')?.size ?? 0, 0, 'no delta left');
  t.equal((await reloaded(disk)).size, 0, 'a restart finds no hint');
});

t.test('after a failed write the next stores the whole hint; deltas without a base are dropped at load', async (t) => {
  const disk = new MemoryStorage();
  const hints = new HintStore(envOf(disk), types);
  for (let i = 1; i <= 10; i++) await hints.add('n2', 'cart', 'c', cartAddDelta('x', 1, cartDotId('n1', 'b', i)));
  disk.failNext = true;
  await t.rejects(hints.add('n2', 'cart', 'c', cartAddDelta('y', 1, cartDotId('n1', 'b', 11))), /disk full/);
  await hints.add('n2', 'cart', 'c', cartAddDelta('z', 1, cartDotId('n1', 'b', 12)));
  t.ok(disk.batches.at(-1)!.some((w) => w.ns === 'hint' && w.type === 'put'), 'the write after the failure stored the whole hint');
  const back = (await reloaded(disk)).get(id)!;
  t.ok(cartEqual(back.state as CartState, hints.get(id)!.state as CartState), 'the failed write is not lost from the stored hint either');

  const orphaned = new MemoryStorage(disk);
  orphaned.data.get('hint')!.clear();
  await hints.add('n2', 'cart', 'c', cartAddDelta('w', 1, cartDotId('n1', 'b', 13)));
  orphaned.data.set('hint-delta', new Map(disk.data.get('hint-delta')));
  t.ok(orphaned.data.get('hint-delta')!.size > 0, 'deltas without their base');
  t.equal((await reloaded(orphaned)).size, 0, 'no hint from deltas alone');
  t.equal(orphaned.data.get('hint-delta')!.size, 0, 'and they are deleted');
});
