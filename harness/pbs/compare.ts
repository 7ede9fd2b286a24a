// `quorumlab pbs`: the PBS paper's experiment on the simulated cluster, beside the paper's published figures
// and a WARS Monte Carlo prediction made by quorumlab (wars.ts) from the same latency model. For each
// network model and each R/W row of Table 4 it runs the pbs workload under the paper's conditions (N=3 on
// 3 nodes, WARS coordination, read repair and anti-entropy off, no faults, clients at the coordinator) and
// reports the measured t-visibility curve against the prediction (RMSE and the sampling's own floor),
// P(consistent at t=0), t at 99.9 % and the p99.9 read and write latencies beside Table 4's columns. For R=W=1
// it also runs with read repair on and with Dynamo's own coordination, which the paper's model leaves out.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PBS_CONSISTENT_T0_N3_R1_W1, PBS_TABLE4_N3 } from '../../checkers/pbs.js';
import type { HistoryOp } from '../../checkers/history.js';
import { estimateVisibility, visibilityReads } from '../../checkers/visibility.js';
import { defaultPbsReadsPerWrite, pbsZeroLagShare } from '../../workloads/pbs.js';
import { runTest, type RunOptions } from '../run.js';
import type { Coordination } from '../sim-world.js';
import { createRunDir, updateLatest, writeJson } from '../store.js';
import { curveNoiseFloor, curveRmse, visibilityCurve, type CurvePoint } from './curve.js';
import { formatPbsTable, num, renderPbsHtml } from './compare-html.js';

export { formatPbsTable } from './compare-html.js';
import { consistentAt, quantileOf, simulateWars, tForConsistency, warsModelOf, type WarsPrediction } from './wars.js';

/** The targets of the calibration (issue 13): what a row must meet to count as reproduced. */
export const pbsTargets = { rmse: 0.02, t0Within: 0.05, tRelative: 0.25 } as const;

export interface PbsOptions {
  readonly nets: readonly string[];
  readonly rows: readonly { readonly r: number; readonly w: number }[];
  readonly timeLimitS: number;
  readonly seed: number;
  readonly store: string;
  /** Monte Carlo trials of each prediction. */
  readonly trials: number;
  /**
   * Writes each run should measure (default 60,000): the 99.9 % point is set by rare slow writes, so the
   * run's concurrency (one key per process) is chosen from the model so that this many fit in the time limit.
   */
  readonly writes?: number;
  /** Bootstrap replicates of the interval of t at 99.9 % (default 200). */
  readonly bootstrap?: number;
  /** Also run R=W=1 with read repair on and with Dynamo's coordination. */
  readonly extras: boolean;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
}

/** One measured run beside its prediction and the paper. */
export interface PbsRow {
  readonly net: string;
  readonly r: number;
  readonly w: number;
  /** 'paper': the paper's conditions; the others change one thing. */
  readonly variant: 'paper' | 'read-repair' | 'dynamo';
  readonly coordination: Coordination;
  readonly readRepair: boolean;
  readonly reads: number;
  /** Writes measured (read at least once) and the run's concurrency (keys written at once). */
  readonly writes: number;
  readonly concurrency: number;
  readonly rmse: number | null;
  readonly noiseFloor: number | null;
  readonly t0: { readonly measured: number | null; readonly predicted: number; readonly paper: number | null };
  readonly t999: { readonly measured: number | null; readonly predicted: number; readonly paper: number | null };
  /** 95 % bootstrap interval over writes of the measured t at 99.9 % (hi null: beyond the lags read). */
  readonly t999Interval: readonly [number | null, number | null];
  readonly readP999Ms: { readonly measured: number | null; readonly predicted: number; readonly paper: number | null };
  readonly writeP999Ms: { readonly measured: number | null; readonly predicted: number; readonly paper: number | null };
  readonly curve: readonly CurvePoint[];
  /** The prediction on a grid from 0 to the last measured lag, for the chart. */
  readonly predictedCurve: readonly { readonly tMs: number; readonly p: number }[];
  /** Whether the row meets the calibration targets (paper variant only; null for the others). */
  readonly meets: { readonly rmse: boolean; readonly t0: boolean | null; readonly t999: boolean | null } | null;
  readonly runDir: string | null;
  readonly error?: string;
}

export interface PbsResult {
  readonly exitCode: 0 | 1 | 2;
  readonly rows: PbsRow[];
  readonly dir: string;
}

/** The paper's name of a model ('lnkd-disk' → 'LNKD-DISK'). */
function paperName(net: string): string {
  return net.toUpperCase();
}

function table4(net: string, r: number, w: number): readonly [number, number, number] | undefined {
  return PBS_TABLE4_N3.find((row) => row.R === r && row.W === w)?.rows[paperName(net)];
}

async function readHistory(runDir: string): Promise<HistoryOp[]> {
  const text = await readFile(join(runDir, 'history.jsonl'), 'utf8');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as HistoryOp);
}

/** p99.9 of the client-observed latency of ok ops of `f` (client delay 0: the coordinator's latency). */
function latencyP999(history: readonly HistoryOp[], f: string): number | null {
  const invoked = new Map<unknown, number>();
  const out: number[] = [];
  for (const op of history) {
    if (op.f !== f || typeof op.process !== 'number' || op['final'] === true) continue;
    if (op.type === 'invoke') invoked.set(op.process, op.time);
    else if (op.type === 'ok' && invoked.has(op.process)) out.push((op.time - invoked.get(op.process)!) / 1e6);
  }
  if (out.length === 0) return null;
  return quantileOf(Float64Array.from(out).sort(), 0.999);
}

export async function runPbsComparison(options: PbsOptions): Promise<PbsResult> {
  const log = options.quiet === true ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const dir = await createRunDir(options.store, 'pbs-calibration', new Date());
  const plan: { net: string; r: number; w: number; variant: PbsRow['variant'] }[] = [];
  for (const net of options.nets) {
    for (const { r, w } of options.rows) plan.push({ net, r, w, variant: 'paper' });
    if (options.extras) {
      plan.push({ net, r: 1, w: 1, variant: 'read-repair' });
      plan.push({ net, r: 1, w: 1, variant: 'dynamo' });
    }
  }
  log(`pbs: ${plan.length} simulated runs of ${options.timeLimitS} s → ${dir}`);
  const rows: PbsRow[] = [];
  for (const [i, p] of plan.entries()) {
    const coordination: Coordination = p.variant === 'dynamo' ? 'dynamo' : 'wars';
    const readRepair = p.variant === 'read-repair';
    const prediction = simulateWars(warsModelOf(p.net), { n: 3, r: p.r, w: p.w, trials: options.trials, seed: options.seed });
    const predictedT999 = tForConsistency(prediction, 0.999);
    const maxLagMs = Math.max(5, 2 * predictedT999);
    const concurrency = pbsConcurrency(options.writes ?? 60_000, options.timeLimitS, maxLagMs, prediction);
    const run: RunOptions = {
      name: `pbs-${p.net}-r${p.r}w${p.w}-${p.variant}`,
      runtime: 'sim', nodes: 3, n: 3, r: p.r, w: p.w, sloppy: true, conflicts: 'vclock', workload: 'pbs', nemesis: [],
      // Writes start as soon as the previous write's reads are done (no stagger: the rate is far above what
      // the processes can reach), so the concurrency alone sets how many writes a run measures.
      timeLimitS: options.timeLimitS, concurrency, rate: 1e9, seed: options.seed, quiesceS: 1,
      store: join(dir, 'runs'), quiet: true, skipReport: true,
      mechanisms: { readRepair, antiEntropy: false, hintedHandoff: true },
      world: { net: p.net, coordination },
      pbsMaxLagMs: maxLagMs,
    };
    const result = await runTest(run);
    const paper = table4(p.net, p.r, p.w);
    const paperT0 = p.r === 1 && p.w === 1 ? PBS_CONSISTENT_T0_N3_R1_W1[paperName(p.net)] ?? null : null;
    const predictedT0 = consistentAt(prediction, 0);
    const predictedRead = quantileOf(prediction.readLatencyMs, 0.999);
    const predictedWrite = quantileOf(prediction.writeLatencyMs, 0.999);
    let row: PbsRow;
    if (result.runDir === undefined || result.error !== undefined) {
      row = {
        net: p.net, r: p.r, w: p.w, variant: p.variant, coordination, readRepair, reads: 0, writes: 0, concurrency, rmse: null, noiseFloor: null,
        t0: { measured: null, predicted: predictedT0, paper: paperT0 }, t999: { measured: null, predicted: predictedT999, paper: paper?.[2] ?? null }, t999Interval: [null, null],
        readP999Ms: { measured: null, predicted: predictedRead, paper: paper?.[0] ?? null }, writeP999Ms: { measured: null, predicted: predictedWrite, paper: paper?.[1] ?? null },
        curve: [], predictedCurve: [], meets: null, runDir: result.runDir ?? null, error: result.error ?? 'the run left no results',
      };
    } else {
      const history = await readHistory(result.runDir);
      const measured = visibilityReads(history);
      const samples = measured.reads;
      const curve = visibilityCurve(samples, 24, (t) => consistentAt(prediction, t));
      const zero = curve[0]?.loMs === 0 && curve[0]?.hiMs === 0 ? curve[0] : undefined;
      const rmse = curveRmse(curve);
      const estimate = estimateVisibility(samples, { at: [0.999], bootstrap: options.bootstrap ?? 200, seed: options.seed });
      const t999 = estimate.tAt['0.999'] ?? null;
      const maxT = curve.length > 0 ? curve[curve.length - 1]!.hiMs : 0;
      const predictedCurve = Array.from({ length: 101 }, (_, k) => ({ tMs: (maxT * k) / 100, p: consistentAt(prediction, (maxT * k) / 100) }));
      const paperT999 = paper?.[2] ?? null;
      row = {
        net: p.net, r: p.r, w: p.w, variant: p.variant, coordination, readRepair, reads: samples.length, writes: measured.writes, concurrency,
        rmse, noiseFloor: curveNoiseFloor(curve),
        t0: { measured: zero?.probability ?? null, predicted: predictedT0, paper: paperT0 },
        t999: { measured: t999, predicted: predictedT999, paper: paperT999 },
        t999Interval: estimate.tInterval['0.999'] ?? [null, null],
        readP999Ms: { measured: latencyP999(history, 'get'), predicted: predictedRead, paper: paper?.[0] ?? null },
        writeP999Ms: { measured: latencyP999(history, 'put'), predicted: predictedWrite, paper: paper?.[1] ?? null },
        curve, predictedCurve,
        meets: p.variant !== 'paper' ? null : {
          rmse: rmse !== null && rmse <= pbsTargets.rmse,
          t0: paperT0 === null ? null : zero !== undefined && Math.abs(zero.probability - paperT0) <= pbsTargets.t0Within,
          // Table 4's t of 0 means "consistent at once"; within 25 % of 0 is then 0 itself.
          t999: paperT999 === null ? null : t999 !== null && Math.abs(t999 - paperT999) <= pbsTargets.tRelative * paperT999,
        },
        runDir: result.runDir,
      };
    }
    rows.push(row);
    log(`  [${i + 1}/${plan.length}] ${describeRow(row)}`);
    await writeJson(join(dir, 'pbs.json'), { options: { ...options, log: undefined }, targets: pbsTargets, rows });
  }
  const table = formatPbsTable(rows);
  await writeFile(join(dir, 'table.txt'), `${table}\n`);
  await writeFile(join(dir, 'pbs.html'), renderPbsHtml(rows));
  await updateLatest(options.store, dir);
  log(table);
  log(`pbs → ${join(dir, 'pbs.html')}`);
  const failed = rows.some((r) => r.error !== undefined);
  const missed = rows.some((r) => r.meets !== null && (!r.meets.rmse || r.meets.t0 === false || r.meets.t999 === false));
  return { exitCode: failed ? 2 : missed ? 1 : 0, rows, dir };
}

function describeRow(r: PbsRow): string {
  if (r.error !== undefined) return `${r.net} R=${r.r} W=${r.w} ${r.variant}: ${r.error}`;
  return `${r.net} R=${r.r} W=${r.w} ${r.variant}: ${r.writes} writes, ${r.reads} reads, RMSE ${num(r.rmse, 4)} (floor ${num(r.noiseFloor, 4)}), ` +
    `P(t=0) ${num(r.t0.measured, 3)}, t99.9 ${num(r.t999.measured, 2)} ms [${num(r.t999Interval[0], 2)}, ${r.t999Interval[1] === null ? 'beyond' : num(r.t999Interval[1], 2)}]`;
}

/**
 * Processes (keys written at once) for `writes` writes in `timeLimitS`: a process's cycle is its write, then
 * its reads, the last of which waits for the largest of the write's lags, each read and the write taking
 * about their median latency.
 */
export function pbsConcurrency(writes: number, timeLimitS: number, maxLagMs: number, prediction: WarsPrediction): number {
  const k = defaultPbsReadsPerWrite;
  const z = pbsZeroLagShare;
  // P(largest lag ≤ x) = (z + (1 − z)·x/L)^k on [0, L], so its mean is L·(1 − (1 − z^(k+1)) / ((k+1)(1 − z))).
  const lastLagMs = maxLagMs * (1 - (1 - z ** (k + 1)) / ((k + 1) * (1 - z)));
  const cycleMs = lastLagMs + quantileOf(prediction.writeLatencyMs, 0.5) + k * quantileOf(prediction.readLatencyMs, 0.5);
  return Math.max(1, Math.ceil((writes * cycleMs) / (timeLimitS * 1000)));
}
