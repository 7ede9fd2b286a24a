// Scenario tests of the Dynamo node state machine on the product's simulator (harness/runtime/sim):
// quorums, siblings, LWW, hinted handoff, strict quorum failures, anti-entropy, join handoff, the cart
// and context checks.
import t, { type Test } from 'tap';
import { type ScenarioConfig, type SimCluster, dec, enc, makeCluster, okGet, okPut, testCluster, waitConverged } from './helpers/sim-cluster.js';

async function cluster(t: Test, n: number, config: ScenarioConfig = {}, seed = 1): Promise<SimCluster> {
  const c = await testCluster(t, n, config, seed);
  // Measured from the first boot: the runtime's setup already waited for the members to see each other.
  t.ok(c.nowMs < 5000, `membership converged in ${c.nowMs} virtual ms`);
  return c;
}

/** A node that is not among the key's home replicas (by n1's ring), if any. */
function outsider(c: SimCluster, key: string): string | undefined {
  const home = c.node('n1').preflist(key);
  return c.ids.find((id) => !home.includes(id));
}

t.test('put then get round trip with N=3 R=2 W=2', async (t) => {
  const c = await cluster(t, 4);
  const put = await c.run(c.node('n1').put('k1', enc('hello'), undefined));
  okPut(t, put);
  for (const id of c.ids) {
    const got = await c.run(c.node(id).get('k1'));
    t.same(okGet(t, got), ['hello'], `read through ${id}`);
  }
  await c.advance(500);
  const home = c.node('n1').preflist('k1');
  t.equal(home.length, 3);
  for (const id of home) {
    const local = await c.node(id).local('k1');
    t.equal(local?.kind, 'kv', `${id} stores k1`);
  }
  const missing = await c.run(c.node('n2').get('never-written'));
  t.same(missing, { ok: true, values: [] }, 'a key never written reads as empty without a context');
});

t.test('concurrent blind writes become siblings; a context write resolves them', async (t) => {
  const c = await cluster(t, 3);
  const [a, b] = await c.run(Promise.all([c.node('n1').put('k', enc('a'), undefined), c.node('n2').put('k', enc('b'), undefined)]));
  okPut(t, a);
  okPut(t, b);
  const r1 = await c.run(c.node('n3').get('k'));
  t.same(okGet(t, r1), ['a', 'b'], 'both blind writes survive as siblings');
  if (!r1.ok) return;
  okPut(t, await c.run(c.node('n3').put('k', enc('ab'), r1.context)));
  const r2 = await c.run(c.node('n1').get('k', { r: 3 }));
  t.same(okGet(t, r2), ['ab'], 'the context write replaced exactly what it read');
  // A write with a stale context (r1's) is concurrent with 'ab' and must not overwrite it.
  okPut(t, await c.run(c.node('n2').put('k', enc('stale'), r1.context)));
  t.same(okGet(t, await c.run(c.node('n2').get('k', { r: 3 }))), ['ab', 'stale']);
});

t.test('lww keeps exactly one value', async (t) => {
  const c = await cluster(t, 3, { conflicts: 'lww' });
  await c.run(Promise.all([c.node('n1').put('k', enc('a'), undefined), c.node('n2').put('k', enc('b'), undefined)]));
  await c.advance(10);
  okPut(t, await c.run(c.node('n3').put('k', enc('c'), undefined)));
  const r = await c.run(c.node('n1').get('k', { r: 3 }));
  t.same(okGet(t, r), ['c'], 'the latest write wins, no siblings');
});

t.test('bad or forged contexts are refused as bad-context', async (t) => {
  const c = await cluster(t, 3);
  okPut(t, await c.run(c.node('n1').put('k', enc('v'), undefined)));
  const r = await c.run(c.node('n1').get('k'));
  if (!r.ok || r.context === undefined) return t.fail('expected a context');
  const ctx = r.context;
  const [body, sig] = ctx.split('.') as [string, string];
  const forgedBody = Buffer.from(JSON.stringify({ k: 'kv', vv: { n1: 99, n2: 99, n3: 99 } })).toString('base64url');
  for (const bad of ['garbage', ctx.slice(0, ctx.length - 3), `${forgedBody}.${sig}`, `${body}.`, `${body}.${sig}.x`]) {
    const res = await c.run(c.node('n2').put('k', enc('x'), bad));
    t.match(res, { ok: false, error: 'bad-context' }, `refused: ${bad.slice(0, 20)}`);
  }
  const cart = await c.run(c.node('n1').cartRead('cart-1'));
  if (!cart.ok) return t.fail('cart read failed');
  t.match(await c.run(c.node('n1').put('k', enc('x'), cart.context)), { ok: false, error: 'bad-context' }, 'a cart context is no kv context');
  t.match(await c.run(c.node('n1').cartRemove('cart-1', 'i', ctx)), { ok: false, error: 'bad-context' }, 'a kv context is no cart context');
  t.match(await c.run(c.node('n1').get('k', { r: 4 })), { ok: false, error: 'bad-request' }, 'r above N');
  t.match(await c.run(c.node('n1').put('k', enc('x'), undefined, { w: 0 })), { ok: false, error: 'bad-request' }, 'w of 0');
  t.same(okGet(t, await c.run(c.node('n3').get('k', { r: 3 }))), ['v'], 'nothing was written by refused requests');
});

t.test('a context is bound to its key: one read from another key is refused and supersedes nothing', async (t) => {
  const c = await cluster(t, 3);
  let ctxA: string | undefined;
  for (const v of ['a1', 'a2', 'a3']) {
    const r = await c.run(c.node('n1').put('A', enc(v), ctxA));
    if (!r.ok) return t.fail('put A failed');
    ctxA = r.context;
  }
  okPut(t, await c.run(c.node('n1').put('B', enc('b-unseen'), undefined)));
  t.match(await c.run(c.node('n1').put('B', enc('b-with-A-context'), ctxA)), { ok: false, error: 'bad-context' });
  t.same(okGet(t, await c.run(c.node('n1').get('B', { r: 3 }))), ['b-unseen'], 'the value the client never read survives');
});

t.test('sloppy quorum: a down home node receives its writes by hinted handoff when it returns', async (t) => {
  const c = await cluster(t, 5, { hintIntervalMs: 200 });
  const key = 'hinted-key';
  const home = c.node('n1').preflist(key);
  const down = home[2] as string;
  const coord = home[0] as string;
  c.crash(down);
  // Let the failure detectors notice the silence.
  await c.advance(3000);
  t.equal(c.node(coord).status().members.find((m) => m.id === down)?.status, 'down', `${coord} sees ${down} down`);
  const put = await c.run(c.node(coord).put(key, enc('while-down'), undefined, { w: 3 }));
  okPut(t, put);
  const pending = c.ids.filter((id) => id !== down).reduce((n, id) => n + c.node(id).status().hints.pending, 0);
  t.equal(pending, 1, 'one fallback holds a hint for the down node');
  t.equal(await c.node(down).local(key), undefined, 'the down node has nothing yet');
  await c.restart(down);
  await c.advance(4000);
  const local = await c.node(down).local(key);
  t.ok(local?.kind === 'kv' && local.versions.some((v) => dec(v.value) === 'while-down'), 'the hint reached its owner');
  const after = c.ids.reduce((n, id) => n + c.node(id).status().hints.pending, 0);
  const delivered = c.ids.reduce((n, id) => n + c.node(id).status().hints.delivered, 0);
  t.equal(after, 0, 'no hint pending');
  t.ok(delivered >= 1, 'delivery counted');
});

t.test('strict quorum with 2 of 3 home nodes cut off fails with a quorum error', async (t) => {
  const c = await cluster(t, 4, { sloppy: false, requestTimeoutMs: 300 });
  const key = 'strict-key';
  const home = c.node('n1').preflist(key);
  const coord = home[0] as string;
  c.partition(coord, home[1] as string);
  c.partition(coord, home[2] as string);
  await c.advance(3000);
  const put = await c.run(c.node(coord).put(key, enc('x'), undefined));
  t.match(put, { ok: false, error: 'quorum', needed: 2, replied: 1 }, 'write quorum not met');
  const get = await c.run(c.node(coord).get(key));
  t.match(get, { ok: false, error: 'quorum', needed: 2, replied: 1 }, 'read quorum not met');
  const other = c.ids.find((id) => !home.includes(id)) as string;
  t.equal(c.node(other).status().hints.pending, 0, 'strict mode writes no hints');
  c.heal();
  await c.advance(3000);
  okPut(t, await c.run(c.node(coord).put(key, enc('y'), undefined)));
});

t.test('anti-entropy repairs a replica that missed writes (no reads involved)', async (t) => {
  const c = await cluster(t, 3, { sloppy: false, antiEntropyIntervalMs: 100, requestTimeoutMs: 300 });
  // n3 is cut off from both peers, or anti-entropy with n2 would repair it while the writes go on.
  c.isolate('n3');
  await c.advance(3000);
  const keys = Array.from({ length: 12 }, (_, i) => `ae-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(`v-${k}`), undefined)));
  // n2 got everything (W=2 with n1); n3 got nothing.
  let missing = 0;
  for (const k of keys) if ((await c.node('n3').local(k)) === undefined) missing += 1;
  t.equal(missing, keys.length, 'n3 missed every write');
  const repairsBefore = c.ids.reduce((n, id) => n + c.node(id).status().readRepair.repairs, 0);
  c.heal();
  await c.advance(15_000);
  for (const k of keys) {
    const local = await c.node('n3').local(k);
    t.ok(local?.kind === 'kv' && local.versions.length === 1 && dec(local.versions[0]?.value ?? new Uint8Array()) === `v-${k}`, `n3 has ${k}`);
  }
  const repaired = c.ids.reduce((n, id) => n + c.node(id).status().antiEntropy.keysRepaired, 0);
  t.ok(repaired >= keys.length, `anti-entropy repaired ${repaired} keys`);
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().readRepair.repairs, 0), repairsBefore, 'no read repair involved');
  const digests = await Promise.all(c.ids.map((id) => c.node(id).digest()));
  t.same(digests[2], digests[0], 'digests agree after repair');
});

t.test('read repair brings a stale replica up to date', async (t) => {
  // Anti-entropy is pushed out of the test's time span, so only read repair can bring n3 up to date.
  const c = await cluster(t, 3, { sloppy: false, requestTimeoutMs: 300, antiEntropyIntervalMs: 3_600_000 });
  c.partition('n1', 'n3');
  await c.advance(3000);
  okPut(t, await c.run(c.node('n1').put('rr', enc('new'), undefined)));
  c.heal();
  await c.advance(2000);
  t.same(okGet(t, await c.run(c.node('n2').get('rr', { r: 3 }))), ['new']);
  await c.advance(100);
  const local = await c.node('n3').local('rr');
  t.ok(local?.kind === 'kv' && local.versions.length === 1, 'n3 repaired');
  t.ok(c.node('n2').status().readRepair.repairs >= 1, 'counted');
});

t.test('a joining node receives its partitions; reads through it return old data; nothing is lost', async (t) => {
  const c = await cluster(t, 3, { hintIntervalMs: 200 });
  const keys = Array.from({ length: 30 }, (_, i) => `join-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(`v-${k}`), undefined, { w: 3 })));
  t.equal(await c.addNode(), 'n4');
  // Writes acknowledged while the ring changes must all survive.
  const during: string[] = [];
  for (let i = 0; i < 20; i++) {
    const k = `during-${i}`;
    const r = await c.run(c.node(`n${(i % 3) + 1}`).put(k, enc(`d-${k}`), undefined));
    if (r.ok) during.push(k);
    await c.advance(37);
  }
  await waitConverged(c);
  t.same(c.node('n1').status().ringMembers, ['n1', 'n2', 'n3', 'n4'], 'the ring includes n4');
  t.ok(c.node('n4').status().ring.owned > 0, 'n4 owns partitions');
  await c.advance(6000);
  const mine = keys.filter((k) => c.node('n4').preflist(k).includes('n4'));
  t.ok(mine.length > 0, `n4 is home for ${mine.length} old keys`);
  for (const k of mine) t.not(await c.node('n4').local(k), undefined, `n4 received ${k}`);
  for (const k of keys) t.same(okGet(t, await c.run(c.node('n4').get(k))), [`v-${k}`], `read ${k} through n4`);
  for (const k of during) t.same(okGet(t, await c.run(c.node('n4').get(k, { r: 3 }))), [`d-${k}`], `write during join ${k} kept`);
  // Old owners let go of what they handed off: each key ends on exactly its home replicas.
  for (const k of keys.slice(0, 10)) {
    const holders: string[] = [];
    for (const id of ['n1', 'n2', 'n3', 'n4']) if ((await c.node(id).local(k)) !== undefined) holders.push(id);
    t.same(holders.sort(), c.node('n1').preflist(k).sort(), `${k} stored on its home replicas only`);
  }
});

t.test('strict R+W>N holds while a node joins: reads meet the old ring\'s quorum until its handoff is confirmed', async (t) => {
  // Anti-entropy is off and n1 is down while n4 joins, so the homes n4 replaces cannot all hand it their
  // data: without joint quorums a read through n3 answered by n3 (which missed the write) and the empty n4
  // was stale.
  const slow = { sloppy: false, antiEntropyIntervalMs: 600_000 };
  const c = await cluster(t, 3, slow);
  const keys = Array.from({ length: 40 }, (_, i) => `joint-${i}`);
  // Every key's homes are n1, n2, n3; with n3 cut off each write is acknowledged by n1 and n2 only.
  c.isolate('n3');
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(`v-${k}`), undefined, { w: 2 })));
  c.heal();
  c.crash('n1');
  await c.advance(3000);
  t.equal(await c.addNode(), 'n4');
  await c.advance(1500);
  t.same(c.node('n3').status().ringMembers, ['n1', 'n2', 'n3', 'n4'], 'n3 has the ring with n4');
  t.ok((c.node('n3').status()['ringTransition'] as number[]).length > 0, 'n3 still meets the earlier ring\'s quorums');
  const moved = keys.filter((k) => c.node('n3').preflist(k).includes('n4') && c.node('n3').preflist(k).includes('n3'));
  t.ok(moved.length >= 10, `n4 took a home of ${moved.length} keys that n3 still replicates`);
  t.ok((c.node('n4').status()['ringTransition'] as number[]).length > 0, 'n4, which never saw the earlier ring, learned it from gossip');
  let stale = 0;
  // Through n3, and through the joiner itself: it is a home of these keys and still empty.
  for (const [i, k] of moved.entries()) {
    const r = await c.run(c.node(i % 2 === 0 ? 'n3' : 'n4').get(k, { r: 2 }));
    if (!r.ok || r.values.length === 0) stale++;
    else t.same(r.values.map(dec), [`v-${k}`]);
  }
  t.equal(stale, 0, 'no read during the transition missed an acknowledged write');
  // Once n1 is back and every member confirmed its handoff the transition ends everywhere.
  await c.restart('n1');
  await c.advance(10_000);
  for (const id of ['n1', 'n2', 'n3', 'n4']) t.same(c.node(id).status()['ringTransition'], [], `${id} ended the transition`);
  for (const k of moved) t.same(okGet(t, await c.run(c.node('n4').get(k, { r: 2 }))), [`v-${k}`], `${k} after the transition`);
});

t.test('leave hands everything to the remaining owners', async (t) => {
  const c = await cluster(t, 4, { hintIntervalMs: 200 });
  const keys = Array.from({ length: 20 }, (_, i) => `leave-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(`v-${k}`), undefined, { w: 3 })));
  await c.run(c.node('n4').leave(), 60_000);
  t.same([...(await collect(c.node('n4').keys()))], [], 'n4 holds nothing');
  await c.advance(1000);
  t.same(c.node('n1').status().ringMembers, ['n1', 'n2', 'n3']);
  t.equal(c.node('n1').status().members.find((m) => m.id === 'n4')?.status, 'down', 'n4 is reported as gone');
  for (const k of keys) t.same(okGet(t, await c.run(c.node('n2').get(k, { r: 3 }))), [`v-${k}`], `${k} readable from the rest`);
});

t.test('a node joining through seeds refuses requests until it has the cluster\'s ring, never answers from a ring of its own', async (t) => {
  const c = await cluster(t, 3, { sloppy: false });
  okPut(t, await c.run(c.node('n1').put('before-join', enc('v'), undefined, { w: 3 })));
  t.equal(await c.addNode(), 'n4');
  // Cut off before its first gossip arrives anywhere (no virtual time has passed since it started).
  c.isolate('n4');
  const n4 = c.node('n4');
  t.same(n4.preflist('before-join'), [], 'no homes before it knows the ring');
  t.equal(n4.status().ring.version, 0, 'no ring of its own');
  const read = await c.run(n4.get('before-join', { r: 1 }));
  t.match(read, { ok: false, error: 'quorum' }, 'a read is refused, not answered empty');
  t.match(await c.run(n4.put('during-join', enc('x'), undefined, { w: 1 })), { ok: false, error: 'quorum' }, 'a write is refused');
  t.match(await c.run(n4.cartRead('cart-join', { r: 1 })), { ok: false, error: 'quorum' }, 'a cart read is refused');
  c.heal();
  await waitConverged(c);
  t.same(okGet(t, await c.run(n4.get('before-join', { r: 1 }))), ['v'], 'once joined it reads what the cluster holds');
});

t.test('a leave whose new homes are not all up waits, then hands off to the healthy ones rather than to none', async (t) => {
  const c = await cluster(t, 4, { hintIntervalMs: 200, antiEntropyIntervalMs: 600_000 });
  const keys = Array.from({ length: 30 }, (_, i) => `partial-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n2').put(k, enc(`v-${k}`), undefined, { w: 3 })));
  const viaN4 = keys.filter((k) => c.node('n2').preflist(k).includes('n4') && !c.node('n2').preflist(k).includes('n3'));
  t.ok(viaN4.length > 0, `${viaN4.length} keys live on n4 but not on n3`);
  c.crash('n1');
  const started = c.nowMs;
  await c.run(c.node('n4').leave(), 90_000);
  t.ok(c.nowMs - started >= 30_000, `the leave waited for n1 before handing off partially (${c.nowMs - started} virtual ms)`);
  t.same([...(await collect(c.node('n4').keys()))], [], 'n4 handed everything off');
  for (const k of viaN4) t.not(await c.node('n3').local(k), undefined, `${k} reached n3 although n1 was down`);
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

t.test('cart: concurrent adds and a remove keep the adds the remove did not observe', async (t) => {
  const c = await cluster(t, 3);
  t.same(await c.run(c.node('n1').cartAdd('cart', 'apple', 1)), { ok: true });
  t.same(await c.run(c.node('n2').cartAdd('cart', 'pear', 2)), { ok: true });
  const read = await c.run(c.node('n3').cartRead('cart'));
  if (!read.ok) return t.fail('cart read failed');
  t.same(read.items, { apple: 1, pear: 2 });
  // An add of apple the remover never saw, then the remove with the old context.
  t.same(await c.run(c.node('n2').cartAdd('cart', 'apple', 5)), { ok: true });
  t.same(await c.run(c.node('n1').cartRemove('cart', 'apple', read.context)), { ok: true });
  const after = await c.run(c.node('n2').cartRead('cart', { r: 3 }));
  if (!after.ok) return t.fail('cart read failed');
  t.same(after.items, { apple: 5, pear: 2 }, 'the unobserved add survives, the observed one is gone');
  const local = await c.node('n1').local('cart');
  t.equal(local?.kind, 'cart');
  // Removing with a fresh context takes the rest.
  t.same(await c.run(c.node('n3').cartRemove('cart', 'apple', after.context)), { ok: true });
  const last = await c.run(c.node('n1').cartRead('cart', { r: 3 }));
  t.same(last.ok && last.items, { pear: 2 });
});

t.test('delete writes a tombstone that is reaped once every home replica has it', async (t) => {
  const c = await cluster(t, 3, { tombstoneGraceMs: 500, antiEntropyIntervalMs: 250 });
  okPut(t, await c.run(c.node('n1').put('gone', enc('v'), undefined, { w: 3 })));
  const r = await c.run(c.node('n2').get('gone'));
  if (!r.ok) return t.fail('get failed');
  okPut(t, await c.run(c.node('n2').delete('gone', r.context, { w: 3 })));
  const after = await c.run(c.node('n3').get('gone', { r: 3 }));
  t.ok(after.ok && after.values.length === 0 && after.context !== undefined, 'deleted: no values, still a context');
  await c.advance(2500);
  for (const id of c.ids) t.equal(await c.node(id).local('gone'), undefined, `${id} reaped the tombstone`);
  okPut(t, await c.run(c.node('n3').put('gone', enc('again'), undefined)));
  t.same(okGet(t, await c.run(c.node('n1').get('gone', { r: 3 }))), ['again'], 'the key can be written again');
});

t.test('a put through a non-replica is forwarded to a home node; restart keeps membership and data', async (t) => {
  const c = await cluster(t, 5);
  const key = 'fwd';
  const out = outsider(c, key) as string;
  const ctx = okPut(t, await c.run(c.node(out).put(key, enc('1'), undefined)));
  okPut(t, await c.run(c.node(out).put(key, enc('2'), ctx)));
  t.same(okGet(t, await c.run(c.node(out).get(key, { r: 3 }))), ['2'], 'the context write replaced the first');
  const home = c.node(out).preflist(key);
  const local = await c.node(home[0] as string).local(key);
  t.ok(local?.kind === 'kv' && Object.keys(local.versions[0]?.clock ?? {}).every((a) => home.includes(a.split('@')[0] as string)), 'dots were minted by home replicas');
  c.crash('n2');
  await c.restart('n2');
  await waitConverged(c);
  t.equal(c.node('n2').status().members.length, 5, 'the restarted node remembers its members');
  t.same(okGet(t, await c.run(c.node('n2').get(key, { r: 3 }))), ['2']);
});

// ---- test faults: each one must visibly break the guarantee it names ----------------------------

t.test("fault 'ack-before-w' and 'read-fewer-than-r' answer without a quorum", async (t) => {
  const c = await cluster(t, 3, { sloppy: false, requestTimeoutMs: 300, testFaults: ['ack-before-w', 'read-fewer-than-r'] });
  const home = c.node('n1').preflist('k');
  const coord = home[0] as string;
  c.isolate(coord);
  await c.advance(2000);
  okPut(t, await c.run(c.node(coord).put('k', enc('lonely'), undefined)));
  t.same(okGet(t, await c.run(c.node(coord).get('k'))), ['lonely'], 'read answered from the coordinator alone');
});

t.test("fault 'lww-in-vclock' drops a concurrent sibling", async (t) => {
  const c = await cluster(t, 3, { testFaults: ['lww-in-vclock'] });
  await c.run(Promise.all([c.node('n1').put('k', enc('a'), undefined), c.node('n2').put('k', enc('b'), undefined)]));
  await c.advance(500);
  const r = await c.run(c.node('n3').get('k', { r: 3 }));
  t.equal(okGet(t, r).length, 1, 'only one of two concurrent writes survives');
});

t.test("fault 'drop-hints' loses the hinted write for the returning node", async (t) => {
  // The simulator's hints-dropped-only-when-acked invariant would halt this run at the first dropped
  // hint (sim-invariants.test.ts); off here, the run goes on to show the owner never gets the write.
  const c = await makeCluster(5, { hintIntervalMs: 200, testFaults: ['drop-hints', 'no-repair'] }, { invariants: false });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  const key = 'hinted-key';
  const home = c.node('n1').preflist(key);
  const down = home[2] as string;
  c.crash(down);
  await c.advance(3000);
  okPut(t, await c.run(c.node(home[0] as string).put(key, enc('while-down'), undefined, { w: 3 })));
  await c.restart(down);
  await c.advance(4000);
  t.equal(await c.node(down).local(key), undefined, 'the owner never received the hint');
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().hints.pending, 0), 0, 'the hint is gone');
});

t.test("fault 'no-repair' leaves a stale replica stale", async (t) => {
  const c = await cluster(t, 3, { sloppy: false, antiEntropyIntervalMs: 100, requestTimeoutMs: 300, testFaults: ['no-repair'] });
  c.partition('n1', 'n3');
  await c.advance(3000);
  okPut(t, await c.run(c.node('n1').put('k', enc('v'), undefined)));
  c.heal();
  await c.advance(3000);
  t.same(okGet(t, await c.run(c.node('n2').get('k', { r: 3 }))), ['v']);
  await c.advance(5000);
  t.equal(await c.node('n3').local('k'), undefined, 'neither read repair nor anti-entropy ran');
});

t.test("fault 'remove-unobserved' removes an add the remove never saw", async (t) => {
  const c = await cluster(t, 3, { testFaults: ['remove-unobserved'] });
  await c.run(c.node('n1').cartAdd('cart', 'apple', 1));
  const read = await c.run(c.node('n3').cartRead('cart'));
  if (!read.ok) return t.fail('cart read failed');
  await c.run(c.node('n2').cartAdd('cart', 'apple', 5, { w: 3 }));
  await c.run(c.node('n1').cartRemove('cart', 'apple', read.context, { w: 3 }));
  const after = await c.run(c.node('n2').cartRead('cart', { r: 3 }));
  t.same(after.ok && after.items, {}, 'the unobserved add was removed too');
});

t.test("fault 'context-overcovers' lets a write supersede a version its client never read", async (t) => {
  for (const faulty of [false, true]) {
    const c = await makeCluster(3, faulty ? { testFaults: ['context-overcovers'] } : {}, { seed: 3 });
    await waitConverged(c);
    const coord = c.node('n1').preflist('k')[0] as string;
    const ctxA = okPut(t, await c.run(c.node(coord).put('k', enc('a'), undefined, { w: 3 })));
    okPut(t, await c.run(c.node(coord).put('k', enc('b'), undefined, { w: 3 })));
    okPut(t, await c.run(c.node(coord).put('k', enc('c'), ctxA, { w: 3 })));
    const got = okGet(t, await c.run(c.node(coord).get('k', { r: 3 })));
    t.same(got, faulty ? ['c'] : ['b', 'c'], faulty ? 'the unseen write b was lost' : 'b and c are siblings');
    await c.stopAll();
  }
});

t.test("acknowledged writes survive a crash of every replica; fault 'ack-not-durable' loses them", async (t) => {
  for (const faulty of [false, true]) {
    // The simulator's replica-acks-durable invariant would halt the faulty run at its first ack
    // (sim-invariants.test.ts); off here, the run goes on to show the loss a client would see.
    const c = await makeCluster(3, { w: 3, ...(faulty ? { testFaults: ['ack-not-durable' as const] } : {}) }, { seed: 5, fsyncMs: 40, invariants: !faulty });
    await waitConverged(c, 20_000);
    const put = await c.run(c.node('n1').put('durable', enc('v'), undefined, { w: 3 }));
    okPut(t, put);
    for (const id of c.ids) c.crash(id);
    for (const id of c.ids) await c.restart(id);
    await waitConverged(c, 20_000);
    const got = okGet(t, await c.run(c.node('n2').get('durable', { r: 3 })));
    t.same(got, faulty ? [] : ['v'], faulty ? 'the acknowledged write was lost' : 'the acknowledged write survived');
    await c.stopAll();
  }
});

t.test('cart adds on both sides of a partition all survive the heal (sloppy, w=1 on the minority)', async (t) => {
  const c = await cluster(t, 5, { hintIntervalMs: 200 });
  c.isolate('n1');
  await c.advance(3000);
  t.same(await c.run(c.node('n1').cartAdd('cart-p', 'minority', 1, { w: 1 })), { ok: true }, 'the isolated node accepts with w=1');
  t.same(await c.run(c.node('n2').cartAdd('cart-p', 'majority', 2)), { ok: true });
  c.heal();
  await c.advance(6000);
  const r = await c.run(c.node('n3').cartRead('cart-p', { r: 3 }));
  t.same(r.ok && r.items, { minority: 1, majority: 2 }, 'both adds are there');
  const st = c.node('n1').status();
  t.equal(st.id, 'n1');
  t.equal(st.members.length, 5);
  t.ok(st.members.every((m) => m.status === 'up'), 'everyone up again after the heal');
  t.equal(st.ring.partitions, 32);
  t.same(c.node('n1').preflist('cart-p'), c.node('n4').preflist('cart-p'), 'all nodes agree on the preference list');
  const holders = [];
  for (const id of c.ids) if ((await collect(c.node(id).keys())).includes('cart-p')) holders.push(id);
  t.same(holders.sort(), c.node('n1').preflist('cart-p').sort(), 'keys() lists the key on its home replicas');
});

t.test('random partitions and crashes: no acknowledged cart add or kv write is lost', async (t) => {
  for (const seed of [11, 12]) {
    const c = await makeCluster(5, { hintIntervalMs: 200, antiEntropyIntervalMs: 300, requestTimeoutMs: 400 }, { seed, maxDelayMs: 8, fsyncMs: 2 });
    await waitConverged(c);
    let rnd = seed * 7919;
    const next = (n: number): number => {
      rnd = (rnd * 1103515245 + 12345) % 2147483648;
      return rnd % n;
    };
    const ackedAdds: string[] = [];
    const ackedKeys = new Map<string, string>();
    const crashedNow = new Set<string>();
    for (let step = 0; step < 60; step++) {
      const r = next(10);
      if (r === 0) c.partition(c.ids[next(5)] as string, c.ids[next(5)] as string);
      else if (r === 1) c.heal();
      else if (r === 2 && crashedNow.size < 1) {
        const victim = c.ids[next(5)] as string;
        c.crash(victim);
        crashedNow.add(victim);
      } else if (r === 3 && crashedNow.size > 0) {
        for (const id of crashedNow) await c.restart(id);
        crashedNow.clear();
      }
      const live = c.ids.filter((id) => !crashedNow.has(id));
      const via = c.node(live[next(live.length)] as string);
      const item = `i${step}`;
      const [add, put] = await c.run(Promise.all([via.cartAdd('cart-chaos', item, 1), via.put(`kv-${step}`, enc(item), undefined)]));
      if (add.ok) ackedAdds.push(item);
      if (put.ok) ackedKeys.set(`kv-${step}`, item);
      await c.advance(50 + next(200));
    }
    c.heal();
    for (const id of crashedNow) await c.restart(id);
    await c.advance(15_000);
    t.ok(ackedAdds.length > 20, `seed ${seed}: ${ackedAdds.length} acknowledged adds`);
    const final = await c.run(c.node('n1').cartRead('cart-chaos', { r: 3 }));
    if (!final.ok) {
      t.fail('final cart read failed');
    } else {
      const lost = ackedAdds.filter((i) => final.items[i] !== 1);
      t.same(lost, [], `seed ${seed}: no acknowledged add lost`);
    }
    const lostKeys: string[] = [];
    for (const [k, v] of ackedKeys) {
      const g = await c.run(c.node('n2').get(k, { r: 3 }));
      if (!g.ok || !g.values.map(dec).includes(v)) lostKeys.push(k);
    }
    t.same(lostKeys, [], `seed ${seed}: all ${ackedKeys.size} acknowledged writes readable`);
    // Hinted handoff and anti-entropy must leave every home replica complete, not just a quorum.
    const incomplete: string[] = [];
    for (const id of c.node('n1').preflist('cart-chaos')) {
      const local = await c.node(id).local('cart-chaos');
      const items = local?.kind === 'cart' ? local.items : {};
      if (ackedAdds.some((i) => items[i] !== 1)) incomplete.push(`cart@${id}`);
    }
    for (const [k, v] of ackedKeys) {
      for (const id of c.node('n1').preflist(k)) {
        const local = await c.node(id).local(k);
        if (local?.kind !== 'kv' || !local.versions.some((x) => dec(x.value) === v)) incomplete.push(`${k}@${id}`);
      }
    }
    t.same(incomplete, [], `seed ${seed}: every home replica converged`);
    await c.stopAll();
  }
});

t.test('a node restarted on an empty disk rejoins and anti-entropy refills it', async (t) => {
  const c = await cluster(t, 3, { antiEntropyIntervalMs: 100 });
  const keys = Array.from({ length: 8 }, (_, i) => `wipe-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(k), undefined, { w: 3 })));
  c.crash('n3');
  await c.restart('n3', { wipe: true });
  t.equal(await c.node('n3').local(keys[0] as string), undefined, 'n3 came back on an empty disk');
  await waitConverged(c);
  t.ok(c.ids.every((id) => c.node(id).status().members.every((m) => m.status === 'up')), 'everyone sees everyone up');
  await c.advance(10_000);
  for (const k of keys) t.not(await c.node('n3').local(k), undefined, `n3 has ${k} again`);
});

t.test('a node back on an empty disk never reuses a dot of its earlier life', async (t) => {
  const c = await cluster(t, 3);
  const key = 'reuse';
  const coord = c.node('n1').preflist(key)[0] as string;
  const first = await c.run(c.node(coord).put(key, enc('old'), undefined, { w: 3 }));
  okPut(t, first);
  // Let enough gossip happen that the others remember a well-advanced entry of coord.
  await c.advance(2000);
  c.crash(coord);
  await c.restart(coord, { wipe: true });
  await waitConverged(c);
  // A blind write through the wiped node must become a sibling of 'old', not collide with its dot.
  okPut(t, await c.run(c.node(coord).put(key, enc('new'), undefined, { w: 3 })));
  await c.advance(3000);
  t.same(okGet(t, await c.run(c.node(coord).get(key, { r: 3 }))), ['new', 'old'], 'both versions survive');
});

t.test("a write through a node back on an empty disk survives; fault 'actor-reuse' loses it (kv679)", async (t) => {
  for (const faulty of [false, true]) {
    const c = await makeCluster(3, faulty ? { testFaults: ['actor-reuse'] } : {}, { seed: 7 });
    await waitConverged(c);
    const key = 'kv679';
    const coord = c.node('n1').preflist(key)[0] as string;
    const ctxA = okPut(t, await c.run(c.node(coord).put(key, enc('a'), undefined, { w: 3 })));
    okPut(t, await c.run(c.node(coord).put(key, enc('b'), ctxA, { w: 3 })));
    c.crash(coord);
    await c.restart(coord, { wipe: true });
    await waitConverged(c);
    // A blind write through the wiped coordinator: under its old actor it is dot 1 again, which 'b' (dot 2,
    // having read dot 1) covers, so every replica discards it although all three acknowledged it.
    okPut(t, await c.run(c.node(coord).put(key, enc('c'), undefined, { w: 3 })));
    await c.advance(3000);
    const got = okGet(t, await c.run(c.node(coord).get(key, { r: 3 })));
    t.same(got, faulty ? ['b'] : ['b', 'c'], faulty ? 'the acknowledged blind write c was lost' : 'c is a sibling of b');
    await c.stopAll();
  }
});

t.test('a node on an empty disk mints under a base of its own boot before it has heard any gossip', async (t) => {
  const c = await cluster(t, 3, {}, 9);
  const key = 'window';
  const coord = c.node('n1').preflist(key)[0] as string;
  okPut(t, await c.run(c.node(coord).put(key, enc('a'), undefined, { w: 3 })));
  c.crash(coord);
  await c.restart(coord, { wipe: true });
  // Before any gossip reaches it the node knows no ring but itself, so a w=1 write is stored there alone;
  // minted under the old actor it would be dot 1 again, colliding with 'a' on the other replicas.
  okPut(t, await c.run(c.node(coord).put(key, enc('fresh'), undefined, { w: 1 })));
  await waitConverged(c);
  await c.advance(5000);
  t.same(okGet(t, await c.run(c.node(coord).get(key, { r: 3 }))), ['a', 'fresh'], 'both acknowledged writes survive');
});
