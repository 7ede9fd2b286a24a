// Tombstone reaping without reads (node/core/tombstone-reaper.ts) on the product's simulator: a deleted
// key nobody reads is reaped after the grace period, and the two ways a reap could bring a deleted value
// back are shut: a late hint of the old value held by a fallback, and a home replica that missed the delete
// (partitioned or crashed) and returns with the old value after the others would have reaped.
import t, { type Test } from 'tap';
import type { NodeId } from '../node/core/env.js';
import { type ScenarioConfig, type SimCluster, dec, enc, makeCluster, waitConverged } from './helpers/sim-cluster.js';

const timing: ScenarioConfig = { antiEntropyIntervalMs: 250, tombstoneGraceMs: 1000, hintIntervalMs: 200 };

async function cluster(t: Test, n: number, config: ScenarioConfig = {}, seed = 7): Promise<SimCluster> {
  const c = await makeCluster(n, { ...timing, ...config }, { seed });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  return c;
}

/** What a node stores for a key: 'none', 'tombstone', or its live values. */
async function held(c: SimCluster, id: NodeId, key: string): Promise<string> {
  const s = await c.node(id).local(key);
  if (s === undefined) return 'none';
  if (s.kind !== 'kv') return 'cart';
  const live = s.versions.filter((v) => !v.tombstone).map((v) => dec(v.value));
  return live.length === 0 ? 'tombstone' : live.sort().join(',');
}

async function heldBy(c: SimCluster, ids: readonly NodeId[], key: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ids) out[id] = await held(c, id, key);
  return out;
}

/** Puts `value` with W=all, reads it back and returns the read's context (what a delete needs). */
async function putAndRead(t: Test, c: SimCluster, via: NodeId, key: string, value: string, w: number): Promise<string> {
  const put = await c.run(c.node(via).put(key, enc(value), undefined, { w }));
  t.ok(put.ok, `put ${key}=${value}`);
  const r = await c.run(c.node(via).get(key));
  if (!r.ok || r.context === undefined) throw new Error(`read of ${key} failed: ${JSON.stringify(r)}`);
  t.same(r.values.map(dec), [value]);
  return r.context;
}

function reapedTotal(c: SimCluster, ids: readonly NodeId[]): number {
  return ids.reduce((n, id) => n + Number(c.node(id).status()['reaped']), 0);
}

/** Advances until no node of `ids` holds anything for `key` (bounded); the virtual ms it took, or -1. */
async function untilGone(c: SimCluster, ids: readonly NodeId[], key: string, maxMs: number): Promise<number> {
  const start = c.nowMs;
  for (;;) {
    const states = await heldBy(c, ids, key);
    if (Object.values(states).every((s) => s === 'none')) return c.nowMs - start;
    if (c.nowMs - start > maxMs) return -1;
    await c.advance(100);
  }
}

t.test('a deleted key nobody reads is reaped by anti-entropy once the grace period has passed', async (t) => {
  const c = await cluster(t, 3);
  const keys = Array.from({ length: 20 }, (_, i) => `gone-${i}`);
  for (const k of keys) {
    const ctx = await putAndRead(t, c, 'n1', k, 'v', 3);
    const del = await c.run(c.node('n2').delete(k, ctx, { w: 3 }));
    t.ok(del.ok, `delete ${k}`);
  }
  // Inside the grace period every home still holds the tombstone: one check passed at most.
  await c.advance(500);
  t.same(await heldBy(c, c.ids, 'gone-0'), { n1: 'tombstone', n2: 'tombstone', n3: 'tombstone' }, 'not reaped within the grace period');
  for (const k of keys) t.not(await untilGone(c, c.ids, k, 5000), -1, `${k} reaped on every replica without a read`);
  t.ok(reapedTotal(c, c.ids) >= keys.length * 3, 'every replica counted its reaps');
  t.same(c.node('n1').status()['tombstones'], { held: 0, waiting: 0 }, 'no tombstone left, none waiting');
  const again = await c.run(c.node('n3').put('gone-0', enc('again'), undefined));
  t.ok(again.ok);
  const r = await c.run(c.node('n1').get('gone-0', { r: 3 }));
  t.same(r.ok && r.values.map(dec), ['again'], 'a reaped key can be written again');
});

t.test('a late hint of the deleted value does not bring it back', async (t) => {
  const c = await cluster(t, 5, { n: 3, r: 2, w: 2, sloppy: true });
  const key = 'late-hint';
  const [a, b, home3] = c.node('n1').preflist(key) as [NodeId, NodeId, NodeId];
  const others = c.ids.filter((id) => ![a, b, home3].includes(id));
  // home3 is away while v1 is written: a fallback keeps v1 as a hint for it.
  c.isolate(home3);
  await c.advance(3000);
  const put = await c.run(c.node(a).put(key, enc('v1'), undefined, { w: 2 }));
  t.ok(put.ok, 'v1 written while a home is away');
  await c.advance(50);
  const x = others.find((id) => Number(c.node(id).status().hints.pending) > 0);
  if (x === undefined) return t.fail('no fallback holds a hint for the away home');
  const y = others.find((id) => id !== x) as NodeId;
  const read = await c.run(c.node(a).get(key));
  if (!read.ok || read.context === undefined) return t.fail('read failed');
  t.same(read.values.map(dec), ['v1']);
  // The hint holder is cut off from the coordinator too, so the delete's own hint goes to the other
  // fallback and x keeps v1 alone.
  c.heal();
  c.isolate(home3);
  c.partition(x, a);
  await c.advance(3000);
  const del = await c.run(c.node(a).delete(key, read.context, { w: 2 }));
  t.ok(del.ok, 'deleted while the home is still away');
  // The home comes back and receives the tombstone, but x still cannot reach it: x holds v1 as a hint.
  c.heal();
  c.partition(x, home3);
  await c.advance(8000);
  t.same(await heldBy(c, [a, b, home3], key), { [a]: 'tombstone', [b]: 'tombstone', [home3]: 'tombstone' }, 'every home holds the tombstone, and keeps it');
  t.ok(Number(c.node(x).status().hints.pending) > 0, `${x} still holds the late hint`);
  t.equal(reapedTotal(c, c.ids), 0, 'nothing reaped while a hint of the key is pending anywhere');
  t.equal(await held(c, y, key), 'none');
  // The hint is delivered at last: it merges into the tombstone, and only then is the key reaped.
  c.heal();
  const took = await untilGone(c, c.ids, key, 15_000);
  t.not(took, -1, 'reaped once the hint was delivered');
  t.equal(Number(c.node(x).status().hints.pending), 0, 'the late hint was delivered');
  const after = await c.run(c.node(b).get(key, { r: 3 }));
  t.same(after.ok && after.values, [], 'v1 did not come back');
  await c.advance(3000);
  t.same(await heldBy(c, c.ids, key), Object.fromEntries(c.ids.map((id) => [id, 'none'])), 'nothing of the key anywhere, and nothing came back');
});

for (const away of ['partitioned', 'crashed'] as const) {
  t.test(`a home that missed the delete (${away}) does not bring the old value back when it returns`, async (t) => {
    const c = await cluster(t, 3, { n: 3, r: 2, w: 2 });
    const key = `returning-${away}`;
    const ctx = await putAndRead(t, c, 'n1', key, 'v1', 3);
    const gone: NodeId = 'n3';
    if (away === 'partitioned') c.isolate(gone);
    else c.crash(gone);
    await c.advance(3000);
    const del = await c.run(c.node('n1').delete(key, ctx, { w: 2 }));
    t.ok(del.ok, 'deleted while n3 is away');
    // Many grace periods pass: the two homes that hold the tombstone must not reap it, since n3 still
    // holds v1 and would hand it back.
    await c.advance(10_000);
    t.same(await heldBy(c, ['n1', 'n2'], key), { n1: 'tombstone', n2: 'tombstone' }, 'the tombstone outlives the grace period while a member is away');
    t.equal(await held(c, gone, key), 'v1', 'n3 still holds the deleted value');
    t.equal(reapedTotal(c, ['n1', 'n2']), 0, 'nothing reaped');
    if (away === 'partitioned') c.heal();
    else await c.restart(gone);
    await waitConverged(c);
    t.not(await untilGone(c, c.ids, key, 20_000), -1, 'reaped everywhere once n3 was repaired');
    const r = await c.run(c.node('n2').get(key, { r: 3 }));
    t.same(r.ok && r.values, [], 'v1 did not come back');
    await c.advance(3000);
    t.same(await heldBy(c, c.ids, key), { n1: 'none', n2: 'none', n3: 'none' }, 'nothing came back later either');
  });
}
