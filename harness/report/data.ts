// Turns a history (and the checkers' verdicts) into the figures the report plots. Pure: no I/O, so the
// campaign table reuses it and tests can feed it hand-made histories.
import type { HistoryOp, Validity } from '../../checkers/history.js';
import { visibilityReads } from '../../checkers/visibility.js';
import { visibilityCurve } from '../pbs/curve.js';
import { faultWindows, type FaultWindow } from './faults.js';

export { faultWindows, type FaultWindow } from './faults.js';

export interface LatencyPoint {
  /** Invoke time, seconds since the run started. */
  readonly x: number;
  /** Latency in milliseconds. */
  readonly y: number;
}

export interface ReportFigures {
  readonly durationS: number;
  /** Points keyed by "<f> <outcome>", e.g. "add ok". */
  readonly latency: Record<string, LatencyPoint[]>;
  readonly windows: FaultWindow[];
  /** Completions per whole second by outcome. */
  readonly throughput: { seconds: number[]; ok: number[]; fail: number[]; info: number[] };
  readonly availability: { inside: Rate; outside: Rate };
  readonly latencyMs: { p50: number | null; p99: number | null; max: number | null };
  /** How many reads returned k siblings (register reads; cart-kv reads that recorded `siblings`). */
  readonly siblings: Record<string, number>;
  /** Measured t-visibility: per lag bin (mean lag after the write's ok), the share of reads that saw the write. */
  readonly visibility: { targetMs: number; reads: number; visible: number; probability: number }[];
  /** Stale reads among reads the register/pbs checkers could judge, when they say so. */
  readonly staleReadRate: number | null;
  /** Every count the cart checker reports (null when no cart checker ran). */
  readonly cart: CartFigures | null;
  /** Home replicas that disagreed in the final states, per key. */
  readonly divergentKeys: string[];
  /** The session checker's guarantees (register workloads), or null when it did not run. */
  readonly session: SessionFigures | null;
}

/** One row per session guarantee: how many reads it applied to, how many missed, and whether that breaks a promise. */
export interface SessionFigures {
  readonly promised: boolean;
  readonly rows: { readonly guarantee: string; readonly label: string; readonly checked: number; readonly violations: number; readonly rate: number | null; readonly enforcedViolations: number }[];
}

/** The session checker's guarantees in report order, with the names application developers use. */
export const SESSION_LABELS: readonly (readonly [string, string, string])[] = [
  ['readYourWrites', 'read your writes', 'ryw'],
  ['monotonicReads', 'monotonic reads', 'mr'],
  ['monotonicWrites', 'monotonic writes', 'mw'],
  ['writesFollowReads', 'writes follow reads', 'wfr'],
];

/** The session checker's result as report rows, or null when it did not run (or errored). */
export function sessionFigures(checkers: Record<string, unknown>): SessionFigures | null {
  const r = checkers['session'];
  if (r === null || typeof r !== 'object') return null;
  const result = r as Record<string, unknown>;
  const rows = [];
  for (const [guarantee, label] of SESSION_LABELS) {
    const g = result[guarantee] as Record<string, unknown> | undefined;
    if (g === undefined || typeof g !== 'object' || typeof g['checked'] !== 'number') return null;
    rows.push({
      guarantee, label, checked: g['checked'], violations: Number(g['violations'] ?? 0),
      rate: typeof g['rate'] === 'number' ? g['rate'] : null, enforcedViolations: Number(g['enforcedViolations'] ?? 0),
    });
  }
  return { promised: result['promised'] === true, rows };
}

/**
 * The cart checker's counts. Every attempted add ends in exactly one of stable, removed, neverRead and lost;
 * stale is a subset of stable; the resurrection and duplication counts are of reads, not adds.
 */
export interface CartFigures {
  readonly attempted: number;
  readonly acknowledged: number;
  readonly stable: number;
  readonly removed: number;
  readonly neverRead: number;
  readonly lost: number;
  readonly stale: number;
  readonly resurrected: number;
  readonly resurrectedTransient: number;
  readonly duplicated: number;
  /** Final reads the home replicas' states contradict (weak quorums): reads, not adds. */
  readonly staleFinalReads: number;
}

export interface Rate {
  readonly ok: number;
  readonly total: number;
  readonly rate: number | null;
}

function rate(ok: number, total: number): Rate {
  return { ok, total, rate: total > 0 ? ok / total : null };
}

/** The q-quantile of sorted numbers (nearest rank), or null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function inside(windows: readonly FaultWindow[], s: number): boolean {
  return windows.some((w) => s >= w.startS && s <= w.endS);
}

/** Numeric evidence named like `name` in any checker's result (checkers name their counts plainly). */
function evidenceNumber(checkers: Record<string, unknown>, names: readonly string[]): number | undefined {
  for (const result of Object.values(checkers)) {
    if (result === null || typeof result !== 'object') continue;
    for (const name of names) {
      const v = (result as Record<string, unknown>)[name];
      if (typeof v === 'number') return v;
    }
  }
  return undefined;
}

export function reportFigures(history: readonly HistoryOp[], checkers: Record<string, unknown>): ReportFigures {
  const windows = faultWindows(history);
  const latency: Record<string, LatencyPoint[]> = {};
  const invokes = new Map<unknown, HistoryOp>();
  const seconds = new Map<number, { ok: number; fail: number; info: number }>();
  const lat: number[] = [];
  const siblings: Record<string, number> = {};
  let inOk = 0, inTotal = 0, outOk = 0, outTotal = 0;
  let durationS = 0;
  const finalStates = new Map<string, string[]>();

  for (const op of history) {
    durationS = Math.max(durationS, op.time / 1e9);
    if (op.process === 'final') {
      if (op.type === 'ok' && op.key !== undefined) {
        const list = finalStates.get(op.key) ?? [];
        list.push(JSON.stringify(op.value));
        finalStates.set(op.key, list);
      }
      continue;
    }
    if (typeof op.process !== 'number') continue;
    if (op.type === 'invoke') {
      invokes.set(op.process, op);
      continue;
    }
    const inv = invokes.get(op.process);
    invokes.delete(op.process);
    if (inv === undefined) continue;
    const x = inv.time / 1e9;
    const y = (op.time - inv.time) / 1e6;
    (latency[`${op.f} ${op.type}`] ??= []).push({ x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000 });
    if (op.type === 'ok') lat.push(y);
    const sec = Math.floor(op.time / 1e9);
    const bucket = seconds.get(sec) ?? { ok: 0, fail: 0, info: 0 };
    bucket[op.type as 'ok' | 'fail' | 'info']++;
    seconds.set(sec, bucket);
    if (op.final !== true) {
      if (inside(windows, x)) {
        inTotal++;
        if (op.type === 'ok') inOk++;
      } else {
        outTotal++;
        if (op.type === 'ok') outOk++;
      }
    }
    if (op.type === 'ok') {
      const count = op.f === 'get' && Array.isArray(op.value) ? op.value.length : typeof op['siblings'] === 'number' ? op['siblings'] : undefined;
      if (count !== undefined) siblings[String(count)] = (siblings[String(count)] ?? 0) + 1;
    }
  }

  const maxSec = Math.max(0, ...seconds.keys());
  const tp = { seconds: [] as number[], ok: [] as number[], fail: [] as number[], info: [] as number[] };
  for (let s = 0; s <= maxSec && seconds.size > 0; s++) {
    const b = seconds.get(s) ?? { ok: 0, fail: 0, info: 0 };
    tp.seconds.push(s);
    tp.ok.push(b.ok);
    tp.fail.push(b.fail);
    tp.info.push(b.info);
  }

  // Binned by the reads' real lag after the write's ok (from the history alone, checkers/visibility.ts).
  const visibility = visibilityCurve(visibilityReads(history).reads, 24)
    .map((p) => ({ targetMs: p.tMs, reads: p.reads, visible: p.visible, probability: p.probability }));

  lat.sort((a, b) => a - b);
  // The quorum checker reports the share of reads that missed an acknowledged write (staleReadRate).
  const staleReadRate = evidenceNumber(checkers, ['staleReadRate']) ?? null;
  const cart = cartFigures(checkers);
  return {
    durationS,
    latency,
    windows,
    throughput: tp,
    availability: { inside: rate(inOk, inTotal), outside: rate(outOk, outTotal) },
    latencyMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat.length > 0 ? lat[lat.length - 1]! : null },
    siblings,
    visibility,
    staleReadRate,
    cart,
    divergentKeys: [...finalStates.entries()].filter(([, s]) => new Set(s).size > 1).map(([k]) => k).sort(),
    session: sessionFigures(checkers),
  };
}

/** The counts of the checker that reports cart fates (it has `neverRead`), whatever it is named. */
function cartFigures(checkers: Record<string, unknown>): CartFigures | null {
  const found = Object.values(checkers).find((c) => c !== null && typeof c === 'object' && typeof (c as Record<string, unknown>)['neverRead'] === 'number');
  if (found === undefined) return null;
  const c = found as Record<string, unknown>;
  const n = (name: string): number => (typeof c[name] === 'number' ? c[name] : 0);
  return {
    attempted: n('attempted'), acknowledged: n('acknowledged'), stable: n('stable'), removed: n('removed'), neverRead: n('neverRead'),
    lost: n('lost'), stale: n('stale'), resurrected: n('resurrectedCount'), resurrectedTransient: n('resurrectedTransientCount'),
    duplicated: n('duplicatedCount'), staleFinalReads: n('staleFinalReads'),
  };
}

/** PBS (VLDB 2012) Table 4, N=3: ms until a read is consistent with probability 99.9%, per latency fit. */
export const pbsTable4N3: readonly { r: number; w: number; t: Record<string, number> }[] = [
  { r: 1, w: 1, t: { 'LNKD-SSD': 1.85, 'LNKD-DISK': 45.5, YMMR: 1364, WAN: 113 } },
  { r: 1, w: 2, t: { 'LNKD-SSD': 1.79, 'LNKD-DISK': 43.3, YMMR: 1352, WAN: 0 } },
  { r: 2, w: 1, t: { 'LNKD-SSD': 0, 'LNKD-DISK': 13.6, YMMR: 202, WAN: 30.2 } },
  { r: 2, w: 2, t: { 'LNKD-SSD': 0, 'LNKD-DISK': 0, YMMR: 0, WAN: 0 } },
  { r: 3, w: 1, t: { 'LNKD-SSD': 0, 'LNKD-DISK': 0, YMMR: 0, WAN: 0 } },
  { r: 1, w: 3, t: { 'LNKD-SSD': 0, 'LNKD-DISK': 0, YMMR: 0, WAN: 0 } },
];

/** PBS: probability a read at t=0 is consistent for N=3, R=W=1, per production latency fit. */
export const pbsConsistentAtT0N3R1W1: Readonly<Record<string, number>> = { 'LNKD-SSD': 0.974, 'LNKD-DISK': 0.439, YMMR: 0.893, WAN: 0.33 };

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}

/**
 * PBS's closed form with no propagation at all (the worst case at t=0): the probability that a read
 * quorum of R intersects the write quorum of W among N replicas chosen uniformly, 1 − C(N−W,R)/C(N,R).
 */
export function pbsQuorumIntersection(n: number, r: number, w: number): number {
  return 1 - choose(n - w, r) / choose(n, r);
}

export interface ReportInput {
  readonly history: readonly HistoryOp[];
  /** config.json's contents (any object with at least n, r, w). */
  readonly config: { readonly n: number; readonly r: number; readonly w: number };
  readonly valid: Validity;
  readonly checkers: Record<string, unknown>;
  readonly stats?: object;
  readonly error?: string;
}
