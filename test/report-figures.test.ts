// The report's figures from a hand-made history: fault windows, availability inside vs outside faults,
// latency quantiles, sibling counts, t-visibility and PBS's closed form.
import t from 'tap';
import type { HistoryOp } from '../checkers/history.js';
import { describeFault, unappliedFaultLines } from '../harness/report/faults.js';
import { faultWindows, pbsQuorumIntersection, quantile, reportFigures, replayCommand } from '../harness/report/index.js';

const s = 1e9;
let index = 0;
const op = (o: Partial<HistoryOp> & Pick<HistoryOp, 'time' | 'process' | 'type' | 'f'>): HistoryOp => ({ index: index++, ...o });

const history: HistoryOp[] = [
  op({ time: 0.5 * s, process: 0, type: 'invoke', f: 'put', key: 'pbs-0', value: 'a', node: 'n1' }),
  op({ time: 0.51 * s, process: 0, type: 'ok', f: 'put', key: 'pbs-0', value: 'a', node: 'n1', context: 'c1' }),
  op({ time: 0.52 * s, process: 0, type: 'invoke', f: 'get', key: 'pbs-0', node: 'n2'}),
  op({ time: 0.53 * s, process: 0, type: 'ok', f: 'get', key: 'pbs-0', node: 'n2', value: ['a', 'b'] }),
  op({ time: 1 * s, process: 'nemesis', type: 'invoke', f: 'partition', value: { kind: 'halves' } }),
  op({ time: 1.1 * s, process: 'nemesis', type: 'info', f: 'partition', value: {} }),
  op({ time: 1.5 * s, process: 1, type: 'invoke', f: 'get', key: 'pbs-0', node: 'n3'}),
  op({ time: 2.5 * s, process: 1, type: 'fail', f: 'get', key: 'pbs-0', node: 'n3', error: 'quorum' }),
  op({ time: 2.6 * s, process: 2, type: 'invoke', f: 'get', key: 'pbs-0', node: 'n3'}),
  op({ time: 2.7 * s, process: 2, type: 'ok', f: 'get', key: 'pbs-0', node: 'n3', value: [] }),
  op({ time: 3 * s, process: 'nemesis', type: 'invoke', f: 'heal', value: {} }),
  op({ time: 3.2 * s, process: 'nemesis', type: 'info', f: 'heal', value: {} }),
  op({ time: 4 * s, process: 0, type: 'invoke', f: 'get', key: 'pbs-0', node: 'n1' }),
  op({ time: 4.002 * s, process: 0, type: 'ok', f: 'get', key: 'pbs-0', node: 'n1', value: ['a'] }),
  op({ time: 5 * s, process: 'final', type: 'ok', f: 'local', key: 'pbs-0', node: 'n1', final: true, value: ['a'] }),
  op({ time: 5 * s, process: 'final', type: 'ok', f: 'local', key: 'pbs-0', node: 'n2', final: true, value: ['a', 'b'] }),
];

t.test('fault windows run from a fault invoke to its undo completion', async (t) => {
  t.same(faultWindows(history), [{ startS: 1, endS: 3.2, faults: ['partition'], labels: ['partition halves'] }]);
  t.same(faultWindows([op({ time: 2 * s, process: 'nemesis', type: 'invoke', f: 'kill', value: {} }), op({ time: 9 * s, process: 0, type: 'invoke', f: 'get' })]),
    [{ startS: 2, endS: 9, faults: ['kill'], labels: [] }], 'a fault never undone lasts to the end');
});

t.test('figures: availability, latency, siblings, t-visibility, divergent replicas', async (t) => {
  const f = reportFigures(history, { quorum: { valid: true, staleReadRate: 0.25 }, cart: { valid: true, attempted: 12, acknowledged: 9, stable: 7, removed: 2, neverRead: 1, lost: 2, stale: 1, resurrectedCount: 0, resurrectedTransientCount: 3, duplicatedCount: 1, staleFinalReads: 4 } });
  t.same(f.availability.inside, { ok: 1, total: 2, rate: 0.5 });
  t.same(f.availability.outside, { ok: 3, total: 3, rate: 1 });
  t.same(f.siblings, { '0': 1, '1': 1, '2': 1 });
  // By each read's lag after the write's ok (0.51 s), from the history alone: the failed read measures nothing.
  t.same(f.visibility.map((v) => [Math.round(v.targetMs), v.reads, v.visible]), [[10, 1, 1], [2090, 1, 0], [3490, 1, 1]]);
  t.equal(f.staleReadRate, 0.25);
  t.same(f.cart, { attempted: 12, acknowledged: 9, stable: 7, removed: 2, neverRead: 1, lost: 2, stale: 1, resurrected: 0, resurrectedTransient: 3, duplicated: 1, staleFinalReads: 4 });
  t.same(f.divergentKeys, ['pbs-0']);
  t.same(f.latency['get fail'], [{ x: 1.5, y: 1000 }]);
  t.same(f.throughput.seconds, [0, 1, 2, 3, 4]);
  t.same(f.throughput.fail, [0, 0, 1, 0, 0]);
});

t.test('faults are named from what was done, and unapplied ones are said', async (t) => {
  t.equal(describeFault('partition', { kind: 'halves' }, { kind: 'halves', sides: [['n1', 'n2'], ['n3', 'n4', 'n5']] }), 'partition halves: n1 n2 | n3 n4 n5');
  t.equal(describeFault('kill', { targets: 'minority' }, { nodes: ['n2', 'n5'] }), 'crash n2 n5');
  t.equal(describeFault('clock-skew', { targets: 'minority', offsetS: 5 }, { nodes: ['n2'], offsetMs: 5000 }), 'clock skew n2 by +5000 ms');
  t.equal(describeFault('clock-bump', {}, { nodes: ['n1', 'n3'], deltaMs: -250 }), 'clock bump n1 n3 by -250 ms');
  const h = [
    op({ time: 1 * s, process: 'nemesis', type: 'invoke', f: 'partition', value: { kind: 'ring' } }),
    op({ time: 1.1 * s, process: 'nemesis', type: 'info', f: 'partition', value: { error: 'iptables: not found' }, error: 'iptables: not found' }),
    op({ time: 2 * s, process: 'nemesis', type: 'invoke', f: 'kill', value: { targets: 'one' } }),
    op({ time: 2.1 * s, process: 'nemesis', type: 'info', f: 'kill', value: { nodes: ['n3'] } }),
  ];
  t.same(faultWindows(h).map((w) => [w.startS, w.faults, w.labels]), [[2, ['kill'], ['crash n3']]], 'a step that failed opens no window');
  t.same(unappliedFaultLines(h, { unavailableFaults: { pause: 'no SIGSTOP on this runtime' } }), [
    'pause was requested but is unavailable here: no SIGSTOP on this runtime',
    'partition at 1.1 s could not be applied: iptables: not found',
  ]);
});

t.test('PBS closed form and quantiles', async (t) => {
  t.equal(pbsQuorumIntersection(3, 1, 1).toFixed(4), '0.3333', 'N=3 R=W=1: a third');
  t.equal(pbsQuorumIntersection(3, 2, 2), 1, 'R+W>N always intersects');
  t.equal(pbsQuorumIntersection(5, 2, 2).toFixed(2), '0.70', 'N=5 R=W=2: 1 − C(3,2)/C(5,2)');
  t.equal(quantile([1, 2, 3, 4], 0.5), 2);
  t.equal(quantile([], 0.99), null);
  t.equal(replayCommand({ runtime: 'local', nodes: 5, n: 3, r: 2, w: 2, sloppy: false, nemesis: [], seed: 9, nodeCmd: 'my node --x' }),
    "npx quorumlab run --runtime local --nodes 5 --n 3 --r 2 --w 2 --strict --nemesis none --seed 9 --node-cmd 'my node --x'");
});
