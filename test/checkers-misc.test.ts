import t from 'tap';
import { checkAll, checkers, checkersFor } from '../checkers/index.js';
import { checkSiblings } from '../checkers/siblings.js';
import { checkAvailability } from '../checkers/availability.js';
import { checkPerf } from '../checkers/perf.js';
import { historyToEdn } from '../harness/edn.js';
import { paint, setColour } from '../harness/output.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

t.test('siblings: distribution of versions per ok get', async (t) => {
  const h = new HistoryBuilder();
  h.get(0, 'k', []);
  h.get(0, 'k', ['a']);
  h.get(0, 'k', ['a']);
  h.get(0, 'k', ['a', 'b']);
  h.get(0, 'k', ['a', 'b', 'c', 'd', 'e']);
  const r = checkSiblings(h.ops, opts());
  t.same(r.distribution, { '0': 1, '1': 2, '2': 1, '3': 0, '4+': 1 });
  t.equal(r.fractionOne, 0.5);
  t.equal(r.valid, true);
});

t.test('availability: outcomes inside and outside fault windows', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.nemesis('partition', { kind: 'halves' });
  h.invoke(1, 'get', 'k');
  h.complete(1, 'fail');
  h.put(0, 'k', 'b', undefined, 'info');
  h.nemesis('heal');
  h.get(2, 'k', ['a']);
  const r = checkAvailability(h.ops, opts());
  t.equal(r.valid, true);
  t.match(r.perF, {
    get: { inFault: { fail: 1, total: 1 }, outsideFault: { ok: 1, total: 1 } },
    put: { inFault: { info: 1 }, outsideFault: { ok: 1 } },
  });
  t.equal((r.faultWindows as unknown[]).length, 1);
  t.equal(checkAvailability([], opts()).valid, 'unknown');
});

t.test('perf: quantiles, series and throughput', async (t) => {
  const h = new HistoryBuilder();
  for (let i = 0; i < 10; i++) h.put(0, 'k', `v${i}`);
  const r = checkPerf(h.ops, opts());
  t.equal(r.valid, true);
  t.match(r.latency, { put: { count: 10, p50: 1, max: 1 } });
  t.equal((r.series as unknown[]).length, 10);
  t.match(r.throughput, [{ t: 0, ok: 10 }]);
});

t.test('checkAll composes verdicts and turns a throwing checker into unknown', async (t) => {
  t.same(checkersFor('cart'), ['cart', 'convergence', 'availability', 'perf']);
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(1, 'k', ['zzz']);
  const all = checkAll(h.ops, opts());
  t.equal(all.valid, false);
  t.equal(all.checkers.register!.valid, false);
  checkers.boom = () => {
    throw new Error('kaput');
  };
  try {
    const r = checkAll(h.ops, opts(), ['siblings', 'boom']);
    t.same(r.checkers.boom, { valid: 'unknown', error: 'kaput' });
    t.equal(r.valid, 'unknown');
  } finally {
    delete checkers.boom;
  }
  t.equal(checkAll(h.ops, opts(), ['nope']).valid, 'unknown');
});

t.test('EDN export uses keywords, escapes strings and maps values', async (t) => {
  const h = new HistoryBuilder();
  h.invoke(0, 'add', 'cart-7', 'sk"u\n1');
  h.nemesis('partition', { sides: [['n1'], ['n2', 'n3']] });
  const edn = historyToEdn(h.ops);
  const lines = edn.trim().split('\n');
  t.equal(lines[0], '{:type :invoke, :f :add, :process 0, :time 1000000, :key "cart-7", :value "sk\\"u\\n1", :index 0}');
  t.equal(lines[1], '{:type :invoke, :f :partition, :process :nemesis, :time 2000000, :value {"sides" [["n1"] ["n2" "n3"]]}, :index 1}');
});

t.test('paint falls back to plain text when colour is off', async (t) => {
  setColour(false);
  t.equal(paint.bad('x'), 'x');
  setColour(true);
  t.not(paint.ok('x'), 'x');
  setColour(false);
});
