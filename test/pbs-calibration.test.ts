// PBS calibration: quorumlab's WARS Monte Carlo (harness/pbs/wars.ts) against the paper's published figures,
// the t-visibility estimator (checkers/visibility.ts) on hand-made histories whose curve is known, the
// measured curve's binning (harness/pbs/curve.ts), and one measured-vs-predicted fit on the simulated
// cluster under the paper's conditions (quorumlab pbs, harness/pbs/compare.ts), bounded to a 12 s simulated run.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PBS_CONSISTENT_T0_N3_R1_W1, PBS_TABLE4_N3 } from '../checkers/pbs.js';
import { main } from '../harness/cli.js';
import { runPbsComparison } from '../harness/pbs/compare.js';
import { visibilityCurve } from '../harness/pbs/curve.js';
import type { HistoryOp } from '../checkers/history.js';
import { estimateVisibility, tAtProbability, visibilityReads, type VisibilityRead } from '../checkers/visibility.js';
import { warsHistory } from './helpers/wars-history.js';
import { seededRandom } from '../node/core/random.js';
import { consistentAt, quantileOf, simulateWars, tForConsistency, warsModelOf } from '../harness/pbs/wars.js';

t.test('the WARS Monte Carlo reproduces the paper (N=3, R=W=1 and Table 4)', async (t) => {
  for (const net of ['lnkd-ssd', 'lnkd-disk', 'ymmr', 'wan']) {
    const paper = net.toUpperCase();
    const p = simulateWars(warsModelOf(net), { n: 3, r: 1, w: 1, trials: 100_000, seed: 3 });
    const t0 = consistentAt(p, 0);
    t.ok(Math.abs(t0 - PBS_CONSISTENT_T0_N3_R1_W1[paper]!) <= 0.02, `${paper}: P(consistent at t=0) ${t0.toFixed(3)} vs published ${PBS_CONSISTENT_T0_N3_R1_W1[paper]}`);
    const [lr, lw, tPaper] = PBS_TABLE4_N3[0]!.rows[paper]!;
    const t999 = tForConsistency(p, 0.999);
    t.ok(Math.abs(t999 - tPaper) <= 0.25 * tPaper, `${paper}: t for 99.9 % ${t999.toFixed(2)} ms vs Table 4's ${tPaper} ms (within 25 %)`);
    const r999 = quantileOf(p.readLatencyMs, 0.999);
    const w999 = quantileOf(p.writeLatencyMs, 0.999);
    t.ok(Math.abs(r999 - lr) <= 0.1 * lr, `${paper}: read p99.9 ${r999.toFixed(2)} ms vs ${lr}`);
    t.ok(Math.abs(w999 - lw) <= 0.1 * lw, `${paper}: write p99.9 ${w999.toFixed(2)} ms vs ${lw}`);
  }
  // Rows whose quorums intersect (R + W > N) are consistent at once, as Table 4's t = 0 says.
  t.equal(tForConsistency(simulateWars(warsModelOf('lnkd-disk'), { n: 3, r: 2, w: 2, trials: 20_000 }), 0.999), 0);
  // A constant network is exact: W = A = R = S = 5 ms, so t* = 5 − 5 − 10 = −10 for every trial.
  t.equal(consistentAt(simulateWars(warsModelOf('constant:5'), { n: 3, r: 1, w: 1, trials: 100 }), 0), 1);
  t.throws(() => simulateWars(warsModelOf('ymmr'), { n: 3, r: 4, w: 1, trials: 1 }), /1 ≤ R, W ≤ N/);
});

t.test('the measured curve bins by real lag, with t = 0 a point of its own', async (t) => {
  const samples: VisibilityRead[] = [
    ...Array.from({ length: 10 }, (_, i) => ({ write: i, lagMs: 0, visible: i < 4 })),
    ...Array.from({ length: 20 }, (_, i) => ({ write: i, lagMs: 1 + i / 10, visible: i >= 2 })),
  ];
  const curve = visibilityCurve(samples, 2, () => 0.5);
  t.same(curve.map((p) => [p.loMs, p.reads, p.probability]), [[0, 10, 0.4], [1, 10, 0.8], [2, 10, 1]]);
  t.equal(curve[0]!.predicted, 0.5);
});

t.test('visibilityReads: the last write completed before the read, from HISTORY.md fields alone', async (t) => {
  let index = 0;
  const ms = 1e6;
  const op = (o: Omit<HistoryOp, 'index'>): HistoryOp => ({ index: index++, ...o }) as HistoryOp;
  const h: HistoryOp[] = [
    op({ time: 0, process: 0, type: 'invoke', f: 'get', key: 'a' }), // nothing written yet: skipped
    op({ time: 1 * ms, process: 0, type: 'ok', f: 'get', key: 'a', value: [] }),
    op({ time: 2 * ms, process: 0, type: 'invoke', f: 'put', key: 'a', value: 'x' }),
    op({ time: 5 * ms, process: 0, type: 'ok', f: 'put', key: 'a', value: 'x' }),
    op({ time: 5 * ms, process: 1, type: 'invoke', f: 'get', key: 'a' }), // lag 0, stale
    op({ time: 6 * ms, process: 1, type: 'ok', f: 'get', key: 'a', value: [] }),
    op({ time: 9 * ms, process: 1, type: 'invoke', f: 'get', key: 'a' }), // lag 4, sees x
    op({ time: 9.5 * ms, process: 2, type: 'invoke', f: 'put', key: 'a', value: 'y' }),
    op({ time: 10 * ms, process: 1, type: 'ok', f: 'get', key: 'a', value: ['y'] }), // a later value counts as visible
    op({ time: 11 * ms, process: 3, type: 'invoke', f: 'get', key: 'a' }), // y in flight: ambiguous, skipped
    op({ time: 12 * ms, process: 3, type: 'ok', f: 'get', key: 'a', value: ['x'] }),
    op({ time: 13 * ms, process: 2, type: 'ok', f: 'put', key: 'a', value: 'y' }),
    op({ time: 14 * ms, process: 1, type: 'invoke', f: 'get', key: 'a' }), // lag 1 after y, sees only x: stale
    op({ time: 15 * ms, process: 1, type: 'ok', f: 'get', key: 'a', value: ['x'] }),
    op({ time: 16 * ms, process: 1, type: 'invoke', f: 'get', key: 'a' }), // failed reads measure nothing
    op({ time: 17 * ms, process: 1, type: 'fail', f: 'get', key: 'a', error: 'quorum' }),
    op({ time: 20 * ms, process: 9, type: 'invoke', f: 'get', key: 'a', final: true }),
    op({ time: 21 * ms, process: 9, type: 'ok', f: 'get', key: 'a', value: ['y'], final: true }),
  ];
  const m = visibilityReads(h);
  t.same(m.reads, [{ write: 3, lagMs: 0, visible: false }, { write: 3, lagMs: 4, visible: true }, { write: 11, lagMs: 1, visible: false }]);
  t.equal(m.writes, 2);
  t.equal(m.skipped, 2);
});

t.test('estimateVisibility recovers a known curve: thresholds uniform on [0, 10] ms, so P(t) = t / 10', async (t) => {
  // Each write becomes visible at its own threshold τ ~ U(0, 10); a read at lag t sees it iff t ≥ τ.
  const random = seededRandom(7);
  const reads: VisibilityRead[] = [];
  for (let w = 0; w < 4000; w++) {
    const tau = 10 * random();
    for (let k = 0; k < 3; k++) {
      const lag = 12 * random();
      reads.push({ write: w, lagMs: lag, visible: lag >= tau });
    }
  }
  const e = estimateVisibility(reads, { at: [0.5, 0.9], bootstrap: 100, seed: 3 });
  for (const [p, truth] of [[0.5, 5], [0.9, 9]] as const) {
    const est = e.tAt[String(p)]!;
    const [lo, hi] = e.tInterval[String(p)]!;
    t.ok(Math.abs(est - truth) < 0.5, `t at ${p}: ${est.toFixed(3)} ms vs ${truth}`);
    t.ok(lo !== null && hi !== null && lo <= truth && truth <= hi, `interval [${lo?.toFixed(3)}, ${hi?.toFixed(3)}] holds ${truth}`);
    t.ok(hi! - lo! < 1, 'and is narrow');
  }
  t.ok(e.fit.every((b, i) => i === 0 || b.p > e.fit[i - 1]!.p), 'the fit is strictly increasing');
  // The reads of one write share its threshold: taking them as independent (each read its own write) gives
  // an interval too narrow; resampling whole writes is what keeps it honest.
  const naive = estimateVisibility(reads.map((r, i) => ({ ...r, write: i })), { at: [0.9], bootstrap: 100, seed: 3 });
  const width = (x: readonly [number | null, number | null]): number => (x[1] ?? Infinity) - (x[0] ?? 0);
  t.ok(width(naive.tInterval['0.9']!) < width(e.tInterval['0.9']!), `resampling writes gives the wider interval (${width(e.tInterval['0.9']!).toFixed(3)} vs ${width(naive.tInterval['0.9']!).toFixed(3)})`);
  t.equal(e.p0, null, 'no read at lag 0');
  t.equal(tAtProbability(e.fit, 1.01), null, 'a probability the curve never reaches has no t');
  // Reads at lag 0 already consistent 999 times in 1000, pooled with a slightly worse bin after them: t at 99.9 % is 0.
  const early: VisibilityRead[] = [
    ...Array.from({ length: 2000 }, (_, i) => ({ write: i, lagMs: 0, visible: i !== 0 })),
    ...Array.from({ length: 1000 }, (_, i) => ({ write: 2000 + i, lagMs: 0.01 + i / 1e5, visible: i !== 0 })),
  ];
  const fitEarly = estimateVisibility(early, { bootstrap: 0, readsPerBin: 1000 }).fit;
  t.ok(fitEarly[0]!.tMs > 0, 'the lag-0 bin pooled with the next');
  t.equal(tAtProbability(fitEarly, 0.999), 0, 'a fit at or above p from lag 0 on gives t = 0');
});

t.test('estimateVisibility on a WARS history (LNKD-SSD, R=W=1): P(t=0) and the 99.9 % point of the Monte Carlo', async (t) => {
  const model = warsModelOf('lnkd-ssd');
  const truth = simulateWars(model, { n: 3, r: 1, w: 1, trials: 200_000, seed: 11 });
  const t999 = tForConsistency(truth, 0.999);
  const h = warsHistory(model, { n: 3, r: 1, w: 1, writes: 30_000, seed: 2, lags: (rnd) => [0, 2 * t999 * rnd()] });
  const m = visibilityReads(h);
  t.equal(m.reads.length, 60_000);
  t.equal(m.writes, 30_000);
  const e = estimateVisibility(m.reads, { bootstrap: 100, seed: 1 });
  t.ok(e.p0 !== null && Math.abs(e.p0 - consistentAt(truth, 0)) < 0.01, `P(t=0) ${e.p0?.toFixed(4)} vs ${consistentAt(truth, 0).toFixed(4)}`);
  const [lo, hi] = e.tInterval['0.999']!;
  t.ok(lo !== null && hi !== null && lo <= t999 && t999 <= hi, `t99.9 interval [${lo?.toFixed(2)}, ${hi?.toFixed(2)}] ms holds the Monte Carlo's ${t999.toFixed(2)} ms (estimate ${e.tAt['0.999']?.toFixed(2)})`);
});

t.test('quorumlab pbs: measured t-visibility agrees with the WARS prediction (LNKD-SSD, R=W=1, 12 s simulated)', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-pbs-'));
  const result = await runPbsComparison({ nets: ['lnkd-ssd'], rows: [{ r: 1, w: 1 }], timeLimitS: 12, writes: 3000, seed: 5, store, trials: 50_000, extras: false, quiet: true, bootstrap: 100 });
  const row = result.rows[0]!;
  t.equal(row.error, undefined);
  t.ok(row.writes >= 3000, `${row.writes} writes, ${row.reads} reads, concurrency ${row.concurrency}`);
  const [lo, hi] = row.t999Interval;
  t.ok(lo !== null && hi !== null && lo <= row.t999.predicted && row.t999.predicted <= hi, `t99.9 ${row.t999.measured} ms, interval [${lo}, ${hi}] holds the prediction ${row.t999.predicted.toFixed(2)}`);
  t.ok(row.rmse !== null && row.rmse <= 0.02, `RMSE ${row.rmse} ≤ 0.02 (sampling floor ${row.noiseFloor})`);
  t.ok(row.t0.measured !== null && Math.abs(row.t0.measured - row.t0.predicted) <= 0.03, `P(t=0) measured ${row.t0.measured} vs predicted ${row.t0.predicted.toFixed(3)}`);
  t.ok(existsSync(join(result.dir, 'pbs.html')) && readFileSync(join(result.dir, 'pbs.html'), 'utf8').includes('<svg'), 'pbs.html charts it');
  t.match(readFileSync(join(result.dir, 'table.txt'), 'utf8'), /lnkd-ssd\s+1\/1\s+paper/);
});

t.test('quorumlab pbs: bad values are one line, exit 2', async (t) => {
  for (const args of [['pbs', '--rows', '4/1'], ['pbs', '--nets', 'lnkd-ssd,foo'], ['pbs', '--time-limit', 'long']]) {
    let message = '';
    const codes: number[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { message += s; return true; }) as typeof process.stderr.write;
    try {
      await main(args, (c) => codes.push(c));
    } finally {
      process.stderr.write = write;
    }
    t.same(codes, [2], args.join(' '));
    t.equal(message.trim().split('\n').length, 1, `one line: ${message.trim()}`);
  }
});
