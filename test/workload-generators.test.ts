// The workload generators: deterministic per seed, well-formed ops, and the chains the checkers rely on
// (read-modify-writes cite the read they build on, cart removes cite an ok read, pbs reads follow a write).
import t from 'tap';
import type { HistoryOp } from '../checkers/history.js';
import { seededRandom } from '../node/core/random.js';
import { createWorkload } from '../workloads/index.js';
import { mergeSiblings, parseCartVersion } from '../workloads/cart-kv.js';
import type { Workload, WorkloadName } from '../workloads/workload.js';
import { pbsLagsMs, pbsZeroLagShare } from '../workloads/pbs.js';

/**
 * Drives a workload without a cluster: each op completes ok at once with a made-up answer (reads see
 * a couple of values), recorded through observe() as the run would.
 */
function drive(workload: Workload, steps: number, processes = 4): HistoryOp[] {
  const history: HistoryOp[] = [];
  const nodes = ['n1', 'n2', 'n3'];
  let time = 0;
  const record = (op: Omit<HistoryOp, 'index'>): void => {
    const full = { ...op, index: history.length } as HistoryOp;
    history.push(full);
    workload.observe(full);
  };
  for (let i = 0; i < steps; i++) {
    const proc = i % processes;
    const op = workload.next(proc, nodes);
    time += 1_000_000 + (op.delayMs ?? 0) * 1e6;
    record({ time, process: proc, type: 'invoke', f: op.f, key: op.key, value: op.value, node: op.node ?? 'n1', context: op.context, readFrom: op.readFrom, readIndex: op.readIndex, ...op.extra });
    time += 500_000;
    const value = op.f === 'get' ? [`${i}-a`, `${i}-b`].slice(0, 1 + (i % 2)) : op.f === 'read' ? { 'sku-1': 1, 'sku-2': 1 } : op.value;
    record({ time, process: proc, type: 'ok', f: op.f, key: op.key, value, node: op.node ?? 'n1', context: `ctx-${i}` });
  }
  return history;
}

const names: WorkloadName[] = ['register', 'cart', 'cart-kv', 'pbs'];

for (const name of names) {
  t.test(`${name}: the same seed gives the same ops, another seed others`, async (t) => {
    const ops = (seed: number) => JSON.stringify(drive(createWorkload(name, { random: seededRandom(seed), concurrency: 4 }), 300));
    t.equal(ops(11), ops(11));
    t.not(ops(11), ops(12));
  });
}

t.test('register: unique values, a mix of blind and read-modify-write puts, deletes with contexts', async (t) => {
  const h = drive(createWorkload('register', { random: seededRandom(5), concurrency: 4 }), 600);
  const puts = h.filter((o) => o.f === 'put' && o.type === 'invoke');
  t.equal(new Set(puts.map((o) => o.value)).size, puts.length, 'every written value is unique');
  const rmw = puts.filter((o) => o.context !== undefined);
  t.ok(rmw.length > 50 && puts.length - rmw.length > 50, `both blind (${puts.length - rmw.length}) and chained (${rmw.length}) writes`);
  for (const op of rmw) {
    // A read-modify-write sends the context of the latest ok read of its key, or the context an
    // acknowledged put of that key returned (then it has observed exactly that value).
    const source = [...h.slice(0, op.index)].reverse().find((o) => o.type === 'ok' && o.key === op.key && o.context === op.context && (o.f === 'get' || o.f === 'put'));
    if (source === undefined) t.fail(`put ${op.index} sends a context no read or put of its key returned`);
    else {
      const observed = source.f === 'get' ? source.value : [source.value];
      if (JSON.stringify(observed) !== JSON.stringify(op.readFrom)) t.fail(`put ${op.index}: readFrom is not what its context observed`);
    }
  }
  t.ok(h.some((o) => o.f === 'delete' && o.type === 'invoke' && o.context !== undefined), 'deletes carry a context');
  t.ok(h.some((o) => o.f === 'get'), 'reads happen');
});

t.test('cart: removes cite the latest ok read of their key and remove an item it saw; items are re-added', async (t) => {
  const h = drive(createWorkload('cart', { random: seededRandom(9), concurrency: 4 }), 600);
  const removes = h.filter((o) => o.f === 'remove' && o.type === 'invoke');
  t.ok(removes.length > 30, `${removes.length} removes`);
  for (const op of removes) {
    const read = h[op.readIndex as number];
    if (read?.type !== 'ok' || read.f !== 'read' || read.key !== op.key || read.context !== op.context) t.fail(`remove ${op.index} cites ${op.readIndex}`);
    else if (!(String(op.value) in (read.value as Record<string, number>))) t.fail(`remove ${op.index} removes an item its read did not see`);
  }
  const adds = h.filter((o) => o.f === 'add' && o.type === 'invoke');
  t.ok(new Set(adds.map((o) => `${o.key}/${String(o.value)}`)).size < adds.length, 'the same item is added more than once');
});

t.test('cart-kv: adds and removes write whole carts from the read they cite', async (t) => {
  t.same(parseCartVersion('["a","b"]'), ['a', 'b']);
  t.equal(parseCartVersion('{"a":1}'), undefined, 'a non-list version is reported, not guessed');
  const enc = new TextEncoder();
  t.same(mergeSiblings([enc.encode('["a#1","b#2"]'), enc.encode('["b#2","b#3","c#4"]'), enc.encode('oops')]),
    { entries: ['a#1', 'b#2', 'b#3', 'c#4'], items: { a: 1, b: 2, c: 1 }, malformed: 1 }, 'siblings merge by union of add entries');
  const w = createWorkload('cart-kv', { random: seededRandom(2), concurrency: 4 });
  const h = drive(w, 300);
  const cited = h.filter((o) => (o.f === 'remove' || o.f === 'add') && o.type === 'invoke' && o.readIndex !== undefined);
  t.ok(cited.length > 20, 'adds and removes build on reads');
  const adds = h.filter((o) => o.f === 'add' && o.type === 'invoke');
  t.equal(new Set(adds.map((o) => o['addId'])).size, adds.length, 'every add has its own id');
});

t.test('pbs: after an acknowledged write, a few reads go to other nodes at ascending lags after the ack', async (t) => {
  const w = createWorkload('pbs', { random: seededRandom(4), concurrency: 1, pbsMaxLagMs: 50, pbsReadsPerWrite: 9 });
  const put = w.next(0, ['n1', 'n2', 'n3'], 0);
  t.equal(put.f, 'put', 'starts with a write');
  const ackNs = 7e6;
  w.observe({ index: 1, time: ackNs, process: 0, type: 'ok', f: 'put', key: put.key, value: put.value, node: put.node, context: 'ctx-0' });
  // Asked at the ack itself, each read's wait is its lag after the ack.
  const reads = Array.from({ length: 9 }, () => w.next(0, ['n1', 'n2', 'n3'], ackNs));
  t.ok(reads.every((o) => o.f === 'get' && o.node !== put.node && o.key === put.key), 'then reads of its key from other nodes');
  const lags = reads.map((o) => o.delayMs!);
  t.ok(lags.every((x, i) => i === 0 || (x >= lags[i - 1]! && x <= 50)), `ascending lags within [0, 50] ms: ${lags.map((x) => x.toFixed(1)).join(', ')}`);
  t.ok(reads.every((o) => o.extra === undefined), 'nothing beyond HISTORY.md fields: the lag is measured from the history');
  const next = w.next(0, ['n1', 'n2', 'n3'], ackNs);
  t.equal(next.f, 'put', 'then writes again');
  t.equal(next.context, 'ctx-0', 'the next write supersedes the previous one by its context');
  t.same(next.readFrom, [put.value]);
});

t.test('pbs: lags are dense from 0 to the maximum, a quarter at exactly 0', async (t) => {
  const lags = Array.from({ length: 2000 }, (_, i) => pbsLagsMs(100, 2, seededRandom(i))).flat();
  const zeros = lags.filter((x) => x === 0).length;
  t.ok(Math.abs(zeros / lags.length - pbsZeroLagShare) < 0.03, `${zeros} of ${lags.length} reads at t = 0`);
  for (let lo = 0; lo < 100; lo += 10) {
    const n = lags.filter((x) => x > lo && x <= lo + 10).length;
    t.ok(Math.abs(n / lags.length - 0.075) < 0.02, `uniform: ${n} reads in (${lo}, ${lo + 10}] ms`);
  }
  t.ok(Math.max(...lags) <= 100, 'none beyond the maximum');
  const w = createWorkload('pbs', { random: seededRandom(4), concurrency: 1, pbsAnyReader: true });
  const h = drive(w, 200, 1);
  const put = h.find((o) => o.type === 'invoke' && o.f === 'put')!;
  t.ok(h.some((o) => o.type === 'invoke' && o.f === 'get' && o.node === put.node), 'WARS coordination: any node reads, the writer too');
});
