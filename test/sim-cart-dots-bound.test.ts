// Issue 19's bound on a cart's removed dots, end to end in the simulation: 400 add+read+remove cycles on one
// cart through all five nodes as coordinators, each of which also coordinates adds to other carts
// meanwhile, every node killed and restarted (a new boot, so a new dot prefix) halfway. Every replica's
// stored cart then lists no add and one counter range per (node, boot, key) stream: its size depends on
// the streams, not on the cycles. With one dot counter per node for every key, the other carts' dots left
// a gap in this cart's runs at every cycle (about 3 KB here instead of a few hundred bytes).
import t from 'tap';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';

t.test('a cart emptied by 400 cycles through 5 coordinators and a restart of each stays a few ranges', async (t) => {
  const runtime = new SimRuntime();
  await runtime.setup({
    nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', vnodes: 8, seed: 3, runDir: '',
    sim: { delay: 'uniform', minDelayMs: 1, maxDelayMs: 5, fsyncMs: 1, partitions: 32 },
  } as Parameters<SimRuntime['setup']>[0]);
  t.teardown(() => runtime.teardown());
  const ids = runtime.nodeIds();
  await runtime.sleep(3000);
  const core = (i: number) => runtime.host(ids[i % ids.length]!)!.core!;
  for (let i = 0; i < 400; i++) {
    if (i === 200) {
      for (const id of ids) {
        await runtime.kill(id);
        await runtime.restart(id);
        await runtime.sleep(500);
      }
    }
    const item = `sku-${i % 3}`;
    await core(i).cartAdd(`other-${i % 7}`, 'x', 1);
    const add = await core(i).cartAdd('big', item, 1);
    if (!add.ok) t.fail(`add ${i}: ${JSON.stringify(add)}`);
    const read = await core(i + 1).cartRead('big');
    if (!read.ok) {
      t.fail(`read ${i}: ${JSON.stringify(read)}`);
      continue;
    }
    const rm = await core(i + 2).cartRemove('big', item, read.context);
    if (!rm.ok) t.fail(`remove ${i}: ${JSON.stringify(rm)}`);
  }
  // Anti-entropy and read repair bring every replica the last removes.
  await runtime.sleep(5000);
  const final = await core(0).cartRead('big', { r: 3 });
  t.same(final.ok ? final.items : final, {}, 'every add removed');
  let replicas = 0;
  for (let i = 0; i < ids.length; i++) {
    const local = await core(i).local('big');
    if (local === undefined) continue;
    if (local.kind !== 'cart') {
      t.fail(`${ids[i]} holds a ${local.kind} under the cart's key`);
      continue;
    }
    replicas += 1;
    const state = local.state as { a: unknown[]; r: Record<string, [number, number][]>; x: string[] };
    const bytes = Buffer.byteLength(JSON.stringify(state));
    const prefixes = Object.keys(state.r);
    t.equal(state.a.length, 0, `${ids[i]} lists no add`);
    t.ok(prefixes.length <= 10, `${ids[i]}: ${prefixes.length} streams (5 nodes × 2 boots at most)`);
    t.ok(Object.values(state.r).every((ranges) => ranges.length === 1), `${ids[i]}: one range per stream`);
    t.ok(bytes <= 500, `${ids[i]}: ${bytes} bytes`);
  }
  t.ok(replicas >= 3, `${replicas} replicas hold the cart`);
});
