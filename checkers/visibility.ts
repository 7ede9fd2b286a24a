// t-visibility (PBS, Bailis et al., VLDB 2012) measured from a register history alone (HISTORY.md fields
// only, whatever workload wrote it): each ok read is paired with the last write of its key that completed
// before the read was invoked, its lag is the read's invoke time minus that write's ok time (the commit,
// when the client sits at the coordinator), and it is consistent when it returns that write's value or a
// later one. From these reads, the probability of a consistent read as a function of the lag is fitted as
// a non-decreasing curve, and t at a probability p (Table 4's "t for 99.9 %") is read off it.
//
// Why writes matter more than reads: the replicas' write delays are shared by every read of one write, so
// the reads of a write are not independent; a rare slow propagation is one event however often it is read.
// The confidence interval therefore resamples whole writes (a cluster bootstrap).
import type { HistoryOp } from './history.js';
import { mulberry32 } from './prng.js';

/** One read of a measured write. */
export interface VisibilityRead {
  /** The history index of the write's ok, naming the write (reads of one write share its delays). */
  readonly write: number;
  /** Read invoke time minus the write's ok time, ms (≥ 0). */
  readonly lagMs: number;
  readonly visible: boolean;
}

export interface VisibilityReads {
  readonly reads: VisibilityRead[];
  /** Distinct writes read at least once. */
  readonly writes: number;
  /** Ok reads left out: no completed write of the key before them, or another write of it in flight. */
  readonly skipped: number;
}

interface KeyState {
  /** The last write that completed ok: its value, ok time and ok index. */
  last?: { value: string; timeNs: number; index: number };
  /** Writes invoked and not yet completed ok (an info write stays, since it may still take effect). */
  inFlight: number;
  /** Values of writes invoked after `last` completed: a read returning one of them is not stale either. */
  later: Set<string>;
}

/**
 * The reads a t-visibility estimate is made from. Writes are `put` ops, reads `get` ops whose ok value is
 * the list of values read; final reads (`final: true`) are left out. A read is measured only when no other
 * write of its key was in flight when it was invoked, so "the last write" is unambiguous.
 */
export function visibilityReads(history: readonly HistoryOp[]): VisibilityReads {
  const keys = new Map<string, KeyState>();
  const stateOf = (key: string): KeyState => {
    let s = keys.get(key);
    if (s === undefined) {
      s = { inFlight: 0, later: new Set() };
      keys.set(key, s);
    }
    return s;
  };
  // Per process: the read it has in flight (key, invoke time, the write it measures), or the write.
  const open = new Map<unknown, { key: string; f: string; timeNs: number; measures?: { value: string; timeNs: number; index: number } }>();
  const reads: VisibilityRead[] = [];
  const written = new Set<number>();
  let skipped = 0;
  for (const op of history) {
    if (op.key === undefined || op.final === true || (op.f !== 'get' && op.f !== 'put')) continue;
    const s = stateOf(op.key);
    if (op.type === 'invoke') {
      if (op.f === 'put') {
        s.inFlight++;
        if (s.last !== undefined) s.later.add(String(op.value));
        open.set(op.process, { key: op.key, f: 'put', timeNs: op.time });
      } else {
        const measurable = s.last !== undefined && s.inFlight === 0;
        open.set(op.process, { key: op.key, f: 'get', timeNs: op.time, ...(measurable ? { measures: s.last } : {}) });
      }
      continue;
    }
    const inv = open.get(op.process);
    open.delete(op.process);
    if (inv === undefined || inv.key !== op.key || inv.f !== op.f) continue;
    if (op.f === 'put') {
      if (op.type === 'ok') {
        s.inFlight = Math.max(0, s.inFlight - 1);
        s.last = { value: String(op.value), timeNs: op.time, index: op.index };
        s.later = new Set();
      } else if (op.type === 'fail') {
        s.inFlight = Math.max(0, s.inFlight - 1);
      }
      continue;
    }
    if (op.type !== 'ok') continue;
    if (inv.measures === undefined) {
      skipped++;
      continue;
    }
    const values = Array.isArray(op.value) ? op.value.map(String) : [];
    const w = inv.measures;
    const visible = values.includes(w.value) || values.some((v) => s.later.has(v));
    reads.push({ write: w.index, lagMs: Math.max(0, (inv.timeNs - w.timeNs) / 1e6), visible });
    written.add(w.index);
  }
  return { reads, writes: written.size, skipped };
}

/** One point of the fitted curve: a pooled block of lag bins. */
export interface FittedPoint {
  /** Mean lag of the block's reads (ms); the block at lag 0 has 0. */
  readonly tMs: number;
  readonly loMs: number;
  readonly hiMs: number;
  readonly reads: number;
  readonly visible: number;
  /** The fitted (pooled) probability of a consistent read: non-decreasing, strictly, along the points. */
  readonly p: number;
}

export interface VisibilityEstimate {
  readonly reads: number;
  readonly writes: number;
  /** Share of reads at lag exactly 0 that were consistent (null when none was at 0). */
  readonly p0: number | null;
  readonly readsAt0: number;
  /** The monotone fit, one point per pooled block. */
  readonly fit: FittedPoint[];
  /** t at each asked probability, from the fit (null: the measured lags never reach it). */
  readonly tAt: Readonly<Record<string, number | null>>;
  /** Percentile bootstrap interval over writes for each asked probability ([lo, hi]; hi null: beyond the lags measured). */
  readonly tInterval: Readonly<Record<string, readonly [number | null, number | null]>>;
  readonly bootstrap: number;
  readonly confidence: number;
}

export interface EstimateOptions {
  /** Probabilities to read t at (default [0.999]). */
  readonly at?: readonly number[];
  /** Reads per lag bin before pooling (default 50). */
  readonly readsPerBin?: number;
  /** Bootstrap replicates (default 200; 0 for none). */
  readonly bootstrap?: number;
  /** Two-sided coverage of the interval (default 0.95). */
  readonly confidence?: number;
  readonly seed?: number;
}

/** A read in bin form: which bin, which write (dense index), visible or not. */
interface Binned {
  readonly bins: { loMs: number; hiMs: number; lagSum: number; reads: number }[];
  readonly bin: Int32Array;
  readonly writeOf: Int32Array;
  readonly visible: Uint8Array;
  readonly writes: number;
}

function binReads(reads: readonly VisibilityRead[], readsPerBin: number): Binned {
  const order = reads.map((_, i) => i).sort((a, b) => reads[a]!.lagMs - reads[b]!.lagMs);
  const bin = new Int32Array(reads.length);
  const writeOf = new Int32Array(reads.length);
  const visible = new Uint8Array(reads.length);
  const dense = new Map<number, number>();
  reads.forEach((r, i) => {
    let w = dense.get(r.write);
    if (w === undefined) {
      w = dense.size;
      dense.set(r.write, w);
    }
    writeOf[i] = w;
    visible[i] = r.visible ? 1 : 0;
  });
  const bins: Binned['bins'] = [];
  let i = 0;
  // Lag 0 (a read invoked at the commit itself) is a bin of its own: P(consistent at t = 0) is a figure of the paper.
  const zeroEnd = order.findIndex((k) => reads[k]!.lagMs > 0);
  const firstPositive = zeroEnd < 0 ? order.length : zeroEnd;
  if (firstPositive > 0) {
    bins.push({ loMs: 0, hiMs: 0, lagSum: 0, reads: firstPositive });
    for (; i < firstPositive; i++) bin[order[i]!] = 0;
  }
  const size = Math.max(1, readsPerBin);
  while (i < order.length) {
    const end = Math.min(order.length, i + size);
    const b = { loMs: reads[order[i]!]!.lagMs, hiMs: reads[order[end - 1]!]!.lagMs, lagSum: 0, reads: end - i };
    for (let j = i; j < end; j++) {
      b.lagSum += reads[order[j]!]!.lagMs;
      bin[order[j]!] = bins.length;
    }
    bins.push(b);
    i = end;
  }
  return { bins, bin, writeOf, visible, writes: dense.size };
}

/**
 * Pool-adjacent-violators over weighted bins, pooling ties too, so the fitted points are strictly
 * increasing (centred isotonic regression, Oron & Flournoy 2017: each pooled block becomes one point at its
 * reads' mean lag, and the curve between points is linear, which keeps a quantile read off a flat stretch
 * from sticking to the stretch's left end).
 */
function fitBlocks(bins: Binned['bins'], reads: ArrayLike<number>, visible: ArrayLike<number>, lagSum: ArrayLike<number>): FittedPoint[] {
  const blocks: { reads: number; visible: number; lagSum: number; lo: number; hi: number }[] = [];
  for (let b = 0; b < bins.length; b++) {
    if (reads[b]! <= 0) continue;
    blocks.push({ reads: reads[b]!, visible: visible[b]!, lagSum: lagSum[b]!, lo: bins[b]!.loMs, hi: bins[b]!.hiMs });
    while (blocks.length > 1) {
      const y = blocks[blocks.length - 1]!;
      const x = blocks[blocks.length - 2]!;
      if (x.visible * y.reads < y.visible * x.reads) break;
      blocks.splice(blocks.length - 2, 2, { reads: x.reads + y.reads, visible: x.visible + y.visible, lagSum: x.lagSum + y.lagSum, lo: x.lo, hi: y.hi });
    }
  }
  return blocks.map((b) => ({ tMs: b.lagSum / b.reads, loMs: b.lo, hiMs: b.hi, reads: b.reads, visible: b.visible, p: b.visible / b.reads }));
}

/** The least lag at which the fitted curve (linear between points) reaches p; null when it never does. */
export function tAtProbability(fit: readonly FittedPoint[], p: number): number | null {
  if (fit.length === 0) return null;
  // A first block that starts at lag 0 and already reaches p: the fit is ≥ p at 0 itself (its point sits at
  // the block's mean lag only for interpolating beyond it), so t is 0 — Table 4's "consistent at once".
  if (fit[0]!.p >= p) return fit[0]!.loMs === 0 ? 0 : fit[0]!.tMs;
  for (let i = 1; i < fit.length; i++) {
    const b = fit[i]!;
    if (b.p < p) continue;
    const a = fit[i - 1]!;
    return a.tMs + ((b.tMs - a.tMs) * (p - a.p)) / (b.p - a.p);
  }
  return null;
}


/**
 * The t-visibility curve and t at the asked probabilities, with a bootstrap interval over writes. The
 * fit is the maximum-likelihood non-decreasing curve over lag bins of `readsPerBin` reads (lag 0 a bin of
 * its own), so no shape beyond "a later read is no less likely to be consistent" is assumed.
 */
export function estimateVisibility(reads: readonly VisibilityRead[], options: EstimateOptions = {}): VisibilityEstimate {
  const at = options.at ?? [0.999];
  const replicates = options.bootstrap ?? 200;
  const confidence = options.confidence ?? 0.95;
  const binned = binReads(reads, options.readsPerBin ?? 50);
  const nb = binned.bins.length;
  const binReadsArr = binned.bins.map((b) => b.reads);
  const binVisible = new Float64Array(nb);
  for (let i = 0; i < reads.length; i++) binVisible[binned.bin[i]!]! += binned.visible[i]!;
  const binLag = binned.bins.map((b) => b.lagSum);
  const fit = fitBlocks(binned.bins, binReadsArr, binVisible, binLag);
  const zero = binned.bins[0]?.hiMs === 0 ? binned.bins[0] : undefined;
  const tAt: Record<string, number | null> = {};
  for (const p of at) tAt[String(p)] = tAtProbability(fit, p);

  // Cluster bootstrap: draw as many writes as were measured, with replacement; every read of a drawn write
  // counts as often as the write was drawn. The bins stay those of the full sample.
  const tInterval: Record<string, [number | null, number | null]> = {};
  if (replicates > 0 && binned.writes > 0) {
    const random = mulberry32(options.seed ?? 1);
    const draws = new Float64Array(binned.writes);
    const bReads = new Float64Array(nb);
    const bVisible = new Float64Array(nb);
    const bLag = new Float64Array(nb);
    const lags = reads.map((r) => r.lagMs);
    const samples: Record<string, number[]> = Object.fromEntries(at.map((p) => [String(p), []]));
    const beyond: Record<string, number> = Object.fromEntries(at.map((p) => [String(p), 0]));
    for (let k = 0; k < replicates; k++) {
      draws.fill(0);
      for (let j = 0; j < binned.writes; j++) draws[Math.floor(random() * binned.writes)]!++;
      bReads.fill(0);
      bVisible.fill(0);
      bLag.fill(0);
      for (let i = 0; i < reads.length; i++) {
        const m = draws[binned.writeOf[i]!]!;
        if (m === 0) continue;
        const b = binned.bin[i]!;
        bReads[b]! += m;
        bVisible[b]! += m * binned.visible[i]!;
        bLag[b]! += m * lags[i]!;
      }
      const f = fitBlocks(binned.bins, bReads, bVisible, bLag);
      for (const p of at) {
        const t = tAtProbability(f, p);
        if (t === null) beyond[String(p)]!++;
        else samples[String(p)]!.push(t);
      }
    }
    for (const p of at) {
      // A replicate whose curve never reaches p puts t beyond every lag measured: it sorts last.
      const xs = samples[String(p)]!.sort((a, b) => a - b);
      const n = xs.length + beyond[String(p)]!;
      const pick = (q: number): number | null => {
        const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
        return i < xs.length ? xs[i]! : null;
      };
      tInterval[String(p)] = n === 0 ? [null, null] : [pick((1 - confidence) / 2), pick(1 - (1 - confidence) / 2)];
    }
  }
  return {
    reads: reads.length,
    writes: binned.writes,
    p0: zero === undefined ? null : binVisible[0]! / zero.reads,
    readsAt0: zero?.reads ?? 0,
    fit,
    tAt,
    tInterval,
    bootstrap: replicates,
    confidence,
  };
}
