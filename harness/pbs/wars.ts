// The WARS Monte Carlo of the PBS paper (Bailis et al., VLDB 2012, §4; ../../../shared/reference/
// pbs-vldb2012.json "wars_model"), computed by quorumlab itself so a measured t-visibility curve can be set
// beside a prediction made from the same latency model the simulated network uses (sim/delay.ts).
//
// One trial draws the four one-way delays W, A, R, S for each of the N replicas. The write commits at the
// W-th smallest W_i + A_i; a read sent t ms after the commit to all N replicas counts the first R responders
// by R_i + S_i, and is consistent iff one of them received the read no earlier than the write: commit + t +
// R_i ≥ W_i. That is t ≥ W_i − R_i − commit, so each trial yields one threshold t* (the least over the
// counted replicas) and P(consistent at t) is the distribution function of t*. The same trial gives the
// write's latency (the commit) and the read's (the R-th smallest R_i + S_i), Table 4's Lw and Lr.
import { seededRandom } from '../../node/core/random.js';
import { delaySampler, type DelayModel, type MessageClass, type Uniform } from '../runtime/sim/delay.js';
import { parseNet, wanRemoteDelayMs } from '../sim-world.js';

export interface WarsModel {
  /** One delay of a WARS class, in ms. */
  readonly sample: (cls: MessageClass, random: Uniform) => number;
  /**
   * WAN: extra one-way delay to a replica in another datacenter. Every replica is in a datacenter of its
   * own and each operation's coordinator sits beside one replica chosen at random (the paper's WAN).
   */
  readonly remoteDelayMs: number;
}

/** The WARS model of a `--net` model (sim-world.ts syntax). */
export function warsModelOf(net: string): WarsModel {
  const m = parseNet(net);
  const model: DelayModel =
    m.kind === 'constant' ? { kind: 'constant', delayMs: m.ms }
      : m.kind === 'uniform' ? { kind: 'uniform', delayMs: (m.minMs + m.maxMs) / 2, minDelayMs: m.minMs, maxDelayMs: m.maxMs }
        : m.kind === 'exponential' ? { kind: 'exponential', delayMs: m.meanMs }
          : { kind: m.kind === 'wan' ? 'lnkd-disk' : m.kind, delayMs: 1 };
  return { sample: delaySampler(model), remoteDelayMs: m.kind === 'wan' ? wanRemoteDelayMs : 0 };
}

export interface WarsOptions {
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly trials: number;
  readonly seed?: number;
}

export interface WarsPrediction {
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly trials: number;
  /** Each trial's consistency threshold t* (ms after commit), ascending. */
  readonly thresholdsMs: Float64Array;
  /** Write latencies (commit times) and read latencies, ascending. */
  readonly writeLatencyMs: Float64Array;
  readonly readLatencyMs: Float64Array;
}

export function simulateWars(model: WarsModel, options: WarsOptions): WarsPrediction {
  const { n, r, w, trials } = options;
  if (!(r >= 1 && r <= n && w >= 1 && w <= n)) throw new RangeError(`WARS needs 1 ≤ R, W ≤ N, got N=${n} R=${r} W=${w}`);
  const random = seededRandom(options.seed ?? 1);
  const thresholds = new Float64Array(trials);
  const writes = new Float64Array(trials);
  const reads = new Float64Array(trials);
  const wi = new Float64Array(n);
  const ri = new Float64Array(n);
  const ack = new Float64Array(n);
  const resp = new Float64Array(n);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < trials; k++) {
    const writer = model.remoteDelayMs > 0 ? Math.floor(random() * n) : -1;
    const reader = model.remoteDelayMs > 0 ? Math.floor(random() * n) : -1;
    for (let i = 0; i < n; i++) {
      const wExtra = writer >= 0 && i !== writer ? model.remoteDelayMs : 0;
      const rExtra = reader >= 0 && i !== reader ? model.remoteDelayMs : 0;
      wi[i] = model.sample('W', random) + wExtra;
      const a = model.sample('A', random) + wExtra;
      ri[i] = model.sample('R', random) + rExtra;
      const s = model.sample('S', random) + rExtra;
      ack[i] = wi[i]! + a;
      resp[i] = ri[i]! + s;
    }
    ack.sort();
    const commit = ack[w - 1]!;
    // Replicas in order of response (insertion sort: N is small and this runs once per trial).
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = 1; i < n; i++) {
      const x = order[i]!;
      let j = i - 1;
      while (j >= 0 && resp[order[j]!]! > resp[x]!) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = x;
    }
    let t = Infinity;
    for (let j = 0; j < r; j++) {
      const i = order[j]!;
      t = Math.min(t, wi[i]! - ri[i]! - commit);
    }
    thresholds[k] = t;
    writes[k] = commit;
    reads[k] = resp[order[r - 1]!]!;
  }
  thresholds.sort();
  writes.sort();
  reads.sort();
  return { n, r, w, trials, thresholdsMs: thresholds, writeLatencyMs: writes, readLatencyMs: reads };
}

/** Index of the first element > x in an ascending array. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** P(a read t ms after the commit is consistent): the share of trials whose threshold is ≤ t. */
export function consistentAt(p: WarsPrediction, tMs: number): number {
  return upperBound(p.thresholdsMs, tMs) / p.trials;
}

/** The q-quantile of an ascending sample (nearest rank). */
export function quantileOf(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** The least t ≥ 0 at which a read is consistent with probability `p` (Table 4's t for p = 0.999). */
export function tForConsistency(pred: WarsPrediction, p: number): number {
  return Math.max(0, quantileOf(pred.thresholdsMs, p));
}
