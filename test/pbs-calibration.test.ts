// PBS calibration: quorumlab's WARS Monte Carlo (harness/pbs/wars.ts) against the paper's published figures,
// the measured curve's binning (harness/pbs/curve.ts), and one measured-vs-predicted fit on the simulated
// cluster under the paper's conditions (quorumlab pbs, harness/pbs/compare.ts), bounded to a 20 s simulated run.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PBS_CONSISTENT_T0_N3_R1_W1, PBS_TABLE4_N3 } from '../checkers/pbs.js';
import { main } from '../harness/cli.js';
import { runPbsComparison } from '../harness/pbs/compare.js';
import { measuredTFor, visibilityCurve } from '../harness/pbs/curve.js';
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
  const samples = [
    ...Array.from({ length: 10 }, (_, i) => ({ targetMs: 0, sinceAckMs: 0, visible: i < 4 })),
    ...Array.from({ length: 20 }, (_, i) => ({ targetMs: 1, sinceAckMs: 1 + i / 10, visible: i >= 2 })),
  ];
  const curve = visibilityCurve(samples, 2, () => 0.5);
  t.same(curve.map((p) => [p.loMs, p.reads, p.probability]), [[0, 10, 0.4], [1, 10, 0.8], [2, 10, 1]]);
  t.equal(curve[0]!.predicted, 0.5);
  t.equal(measuredTFor(samples, 0.999, 15), 2, 'the first bin from which every later one is consistent');
});

t.test('quorumlab pbs: measured t-visibility agrees with the WARS prediction (LNKD-SSD, R=W=1, 20 s simulated)', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-pbs-'));
  const result = await runPbsComparison({ nets: ['lnkd-ssd'], rows: [{ r: 1, w: 1 }], timeLimitS: 20, seed: 5, store, trials: 50_000, extras: false, quiet: true });
  const row = result.rows[0]!;
  t.equal(row.error, undefined);
  t.ok(row.reads > 5000, `${row.reads} reads`);
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
