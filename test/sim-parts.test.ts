// Unit tests of the simulator's parts: scheduler, delay models (against the PBS paper's figures),
// simulated storage and network.
import t from 'tap';
import { seededRandom } from '../node/core/random.js';
import { Scheduler, SchedulerHaltedError } from '../harness/runtime/sim/scheduler.js';
import { classifyMessage, delaySampler, pbsFits, type Uniform } from '../harness/runtime/sim/delay.js';
import { latencyClasses } from '../node/core/messages.js';
import { SimDisk, SimStorage } from '../harness/runtime/sim/storage.js';
import { SimNetwork, frozenMessage } from '../harness/runtime/sim/network.js';
import { parseSimKnobs } from '../harness/runtime/sim/options.js';

t.test('scheduler runs events in time order with a stable tie-break', async (t) => {
  const s = new Scheduler();
  const seen: string[] = [];
  s.after(5, () => seen.push('b5'));
  s.after(1, () => seen.push('a1'));
  s.after(5, () => seen.push('c5'));
  const cancelled = s.after(3, () => seen.push('never'));
  s.after(0, () => {
    seen.push('z0');
    s.after(1, () => seen.push('d1-later'));
  });
  s.cancel(cancelled);
  await s.runUntilIdle();
  t.same(seen, ['z0', 'a1', 'd1-later', 'b5', 'c5']);
  t.equal(s.nowMs, 5);
  t.equal(s.nowNs(), 5_000_000);
});

t.test('promise chains settle before virtual time advances', async (t) => {
  const s = new Scheduler();
  const times: number[] = [];
  s.start();
  const worker = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      await s.sleep(10);
      // Several awaits of already-resolved promises between sleeps must not let time move on.
      await Promise.resolve();
      await Promise.resolve();
      times.push(s.nowMs);
    }
  };
  await Promise.all([worker(), worker()]);
  await s.stop();
  t.same(times, [10, 10, 20, 20, 30, 30, 40, 40, 50, 50]);
});

t.test('runaway guard halts a zero-delay loop and rejects sleepers', async (t) => {
  const s = new Scheduler({ maxEventsWithoutProgress: 1000 });
  const again = (): void => {
    s.after(0, again);
  };
  again();
  s.start();
  await t.rejects(s.sleep(1), SchedulerHaltedError);
  await s.stop();
  t.ok(s.failure instanceof SchedulerHaltedError);
  t.match(s.failure?.message, /runaway loop/);
});

t.test('an exception escaping an event halts the pump and rejects sleepers', async (t) => {
  const s = new Scheduler();
  s.after(5, () => {
    throw new Error('boom');
  });
  s.start();
  await t.rejects(s.sleep(10), /boom/);
  await s.stop();
  t.equal(s.nowMs, 5, 'nothing ran after the failure');
});

t.test('runUntilIdle stops at a virtual deadline', async (t) => {
  const s = new Scheduler();
  let ticks = 0;
  const tick = (): void => {
    ticks++;
    s.after(100, tick);
  };
  s.after(100, tick);
  await s.runUntilIdle({ untilMs: 1000 });
  t.equal(ticks, 10);
  t.equal(s.nowMs, 1000);
});

function mean(sample: (r: Uniform) => number, random: Uniform, count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sample(random);
  return sum / count;
}

t.test('delay models have the configured means', async (t) => {
  const random = seededRandom(7);
  const cons = delaySampler({ kind: 'constant', delayMs: 3 });
  t.equal(cons('W', random), 3);
  const uni = delaySampler({ kind: 'uniform', delayMs: 2 });
  const expo = delaySampler({ kind: 'exponential', delayMs: 2 });
  const mu = mean((r) => uni('W', r), random, 20_000);
  const me = mean((r) => expo('W', r), random, 20_000);
  t.ok(Math.abs(mu - 2) < 0.05, `uniform mean ${mu}`);
  t.ok(Math.abs(me - 2) < 0.1, `exponential mean ${me}`);
  // LNKD-DISK's W: 38 % Pareto(1.05, 1.51) [mean 1.05·1.51/0.51] + 62 % Exp(0.183) [mean 1/0.183].
  const expected = 0.38 * ((1.05 * 1.51) / 0.51) + 0.62 * (1 / 0.183);
  const md = mean((r) => pbsFits['lnkd-disk'].W(r), random, 200_000);
  t.ok(Math.abs(md - expected) / expected < 0.06, `LNKD-DISK W mean ${md.toFixed(3)} vs ${expected.toFixed(3)}`);
});

/**
 * Monte Carlo of the PBS WARS model at t = 0 for N=3, R=1, W=1 (the paper's Figure/Table inputs): the
 * write commits at the first acknowledgement; a read sent then is consistent when the replica that answers
 * first had already received the write when the read request reached it.
 */
function pConsistentAtZero(fit: (typeof pbsFits)['lnkd-ssd'], random: Uniform, trials: number): number {
  let consistent = 0;
  for (let i = 0; i < trials; i++) {
    const w = [0, 1, 2].map(() => fit.W(random));
    const commit = Math.min(...w.map((wi) => wi + fit.A(random)));
    let best = Infinity;
    let fresh = false;
    for (let j = 0; j < 3; j++) {
      const r = fit.R(random);
      const s = fit.S(random);
      if (r + s < best) {
        best = r + s;
        fresh = w[j]! <= commit + r;
      }
    }
    if (fresh) consistent++;
  }
  return consistent / trials;
}

t.test('PBS fits reproduce the paper\'s consistency at t=0 (N=3, R=W=1)', async (t) => {
  const random = seededRandom(42);
  const expected = { 'lnkd-ssd': 0.974, 'lnkd-disk': 0.439, ymmr: 0.893 } as const;
  for (const kind of ['lnkd-ssd', 'lnkd-disk', 'ymmr'] as const) {
    const p = pConsistentAtZero(pbsFits[kind], random, 40_000);
    t.ok(Math.abs(p - expected[kind]) < 0.03, `${kind}: simulated ${p.toFixed(3)} vs paper ${expected[kind]}`);
  }
});

t.test('message classification follows WARS, from the classes the node declares', async (t) => {
  // Every message type the reference node speaks declares its class; the simulator maps it onto WARS.
  const expected: Record<string, 'W' | 'A' | 'R' | 'S'> = {
    write: 'W', 'write-ack': 'A', read: 'R', 'read-reply': 'S', 'fwd-put': 'W', 'fwd-put-reply': 'A',
    hint: 'W', 'hint-ack': 'A', handoff: 'W', 'handoff-ack': 'A',
    gossip: 'A', ping: 'A', reap: 'A', 'reap-check': 'A', 'reap-check-reply': 'A', 'ae-roots': 'A', 'ae-leaves': 'A', 'ae-hashes': 'A', 'ae-states': 'A',
  };
  t.same(Object.keys(latencyClasses).sort(), Object.keys(expected).sort(), 'every declared type is checked here');
  for (const [type, cls] of Object.entries(expected)) t.equal(classifyMessage(type), cls, type);
  // A type the node does not declare is background traffic, whatever its name suggests.
  t.equal(classifyMessage('toy-put'), 'A');
});

t.test('storage: writes become visible and durable only after fsync; a crash loses the rest', async (t) => {
  const s = new Scheduler();
  const disk = new SimDisk();
  let alive = true;
  const storage = new SimStorage(disk, { scheduler: s, fsyncDelayMs: () => 5, alive: () => alive, runInNode: (fn) => fn() });
  const value = new Uint8Array([1, 2, 3]);
  let resolved = false;
  void storage.write([{ type: 'put', ns: 'kv', key: 'a', value }]).then(() => {
    resolved = true;
  });
  value[0] = 99; // the caller reusing its buffer must not change what was written
  t.equal(await storage.get('kv', 'a'), undefined, 'not visible before fsync');
  await s.runUntilIdle({ untilMs: 4 });
  t.notOk(resolved);
  await s.runUntilIdle({ untilMs: 6 });
  t.ok(resolved, 'resolves after fsync');
  t.same(await storage.get('kv', 'a'), new Uint8Array([1, 2, 3]));
  void storage.write([
    { type: 'put', ns: 'kv', key: 'b', value: new Uint8Array([4]) },
    { type: 'del', ns: 'kv', key: 'a' },
  ]);
  alive = false; // the process dies before the second fsync completes
  await s.runUntilIdle();
  t.same(await storage.get('kv', 'a'), new Uint8Array([1, 2, 3]), 'the lost batch is lost atomically');
  t.equal(await storage.get('kv', 'b'), undefined);
  t.equal(disk.batchesLost, 1);
  const keys: string[] = [];
  for await (const [k] of storage.scan('kv')) keys.push(k);
  t.same(keys, ['a']);
});

t.test('storage scans in bytewise key order with prefixes', async (t) => {
  const disk = new SimDisk();
  disk.apply(['b', 'a', 'ab', '\u00e9', 'z'].map((key) => ({ type: 'put' as const, ns: 'x', key, value: new Uint8Array([1]) })));
  t.same(disk.entries('x').map(([k]) => k), ['a', 'ab', 'b', 'z', '\u00e9']);
  t.same(disk.entries('x', 'a').map(([k]) => k), ['a', 'ab']);
});

t.test('network delays, drops, duplicates, copies and partitions', async (t) => {
  const s = new Scheduler();
  const got: { from: string; to: string; n: number; at: number }[] = [];
  const original = { type: 'ping', n: 0, nested: { x: 1 } };
  const net = new SimNetwork({
    scheduler: s,
    random: seededRandom(3),
    model: { kind: 'uniform', delayMs: 5 },
    dropRate: 0.2,
    duplicateRate: 0.1,
    deliver: (from, to, m) => {
      const nested = (m as { nested?: { x: number } }).nested;
      // A receiver cannot change what it was sent (for the sender or for a duplicate's receiver).
      if (nested !== undefined) t.throws(() => (nested.x = 42), TypeError);
      got.push({ from, to, n: m['n'] as number, at: s.nowMs });
    },
  });
  const sent: { nested: { x: number } }[] = [];
  for (let i = 0; i < 1000; i++) {
    const m = { ...original, nested: { x: 1 }, n: i };
    sent.push(m);
    net.send('a', 'b', m);
  }
  // Nor can the sender, once it has sent it.
  t.throws(() => (sent[0]!.nested.x = 7), TypeError);
  await s.runUntilIdle();
  t.ok(sent.every((m) => m.nested.x === 1), 'messages arrive as they were sent');
  t.ok(net.stats.dropped > 150 && net.stats.dropped < 250, `dropped ${net.stats.dropped}`);
  t.ok(net.stats.duplicated > 50 && net.stats.duplicated < 130, `duplicated ${net.stats.duplicated}`);
  t.equal(got.length, 1000 - net.stats.dropped + net.stats.duplicated);
  const order = got.map((g) => g.n);
  t.notSame(order, [...order].sort((x, y) => x - y), 'random delays reorder messages');
  t.ok(got.every((g) => g.at <= 10));
});

t.test('the network carries plain JSON data only, and says where it is not', async (t) => {
  const s = new Scheduler();
  const got: unknown[] = [];
  const net = new SimNetwork({
    scheduler: s,
    random: seededRandom(3),
    model: { kind: 'uniform', delayMs: 5 },
    dropRate: 0,
    duplicateRate: 0,
    deliver: (_from, _to, m) => got.push(m),
  });
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['bytes', { type: 'write', s: { v: new Uint8Array([1]) } }, /message\.s\.v is a Uint8Array/],
    ['a Map', { type: 'write', s: new Map() }, /message\.s is a Map/],
    ['a bigint', { type: 'ping', n: 1n }, /message\.n is a bigint/],
    ['NaN', { type: 'ping', list: [1, Number.NaN] }, /message\.list is NaN/],
    ['a frozen Set', { type: 'ping', x: Object.freeze(new Set()) }, /message\.x is a Set/],
    ['bytes after a valid field', { type: 'write', ok: { a: [['d', 'i', 1]] }, s: { r: {}, v: new Uint8Array([1]) } }, /message\.s\.v is a Uint8Array/],
  ];
  for (const [what, m, re] of bad) t.throws(() => frozenMessage(m as never), { name: 'NotJsonError', message: re }, what);
  // Undefined fields are what JSON.stringify drops: they travel as absent fields do, for every decoder.
  net.send('a', 'b', { type: 'write', req: undefined, key: 'k', s: { a: [['d', 'i', 1]], r: {}, x: [] } });
  await s.runUntilIdle();
  t.same(got, [{ type: 'write', req: undefined, key: 'k', s: { a: [['d', 'i', 1]], r: {}, x: [] } }]);
  t.ok(Object.isFrozen((got[0] as { s: { a: unknown[][] } }).s.a[0]), 'deeply frozen');
});

t.test('a partition cuts one direction, including messages already in flight', async (t) => {
  // A lossless network, so that anything missing was cut by the grudge and not by a random drop.
  const s = new Scheduler();
  const got: number[] = [];
  const net = new SimNetwork({
    scheduler: s,
    random: seededRandom(3),
    model: { kind: 'uniform', delayMs: 5 },
    dropRate: 0,
    duplicateRate: 0,
    deliver: (_from, _to, m) => got.push(m['n'] as number),
  });
  net.setGrudge({ b: ['a'] });
  net.send('a', 'b', { type: 'ping', n: 1 });
  net.send('b', 'a', { type: 'ping', n: 2 });
  // A message in flight when the partition starts is cut too.
  net.setGrudge({});
  net.send('a', 'b', { type: 'ping', n: 3 });
  net.setGrudge({ b: ['a'] });
  await s.runUntilIdle();
  t.same(got, [2], 'b drops what a sends (also what was in flight); a still hears b');
  t.equal(net.stats.partitioned, 2, 'two messages were cut by the partition');
  net.setGrudge({});
  net.send('a', 'b', { type: 'ping', n: 4 });
  await s.runUntilIdle();
  t.same(got, [2, 4], 'after the heal b hears a again');
});

t.test('knobs parse with defaults and reject bad values', async (t) => {
  const { knobs, ignored } = parseSimKnobs({ delay: 'LNKD-SSD', dropRate: '0.1', bogus: 1 });
  t.equal(knobs.delay, 'lnkd-ssd');
  t.equal(knobs.dropRate, 0.1);
  t.equal(knobs.fsyncMs, 1);
  t.same(ignored, ['bogus']);
  t.throws(() => parseSimKnobs({ delay: 'pigeon' }), /delay must be one of/);
  t.throws(() => parseSimKnobs({ dropRate: 2 }), /probability/);
});
