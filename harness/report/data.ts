// Turns a history (and the checkers' verdicts) into the figures the report plots. Pure: no I/O, so the
// campaign table reuses it and tests can feed it hand-made histories.
import type { HistoryOp, Validity } from '../../checkers/history.js';
import { visibilitySamples } from '../../workloads/pbs.js';

/** Undo steps: a fault window ends at the completion of the last of these before the next fault. */
const undoOps = new Set(['heal', 'restart', 'resume', 'clock-reset']);

export interface FaultWindow {
  readonly startS: number;
  readonly endS: number;
  readonly faults: string[];
}

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
  /** Measured t-visibility: per target delay, the share of reads that saw the write. */
  readonly visibility: { targetMs: number; reads: number; visible: number; probability: number }[];
  /** Stale reads among reads the register/pbs checkers could judge, when they say so. */
  readonly staleReadRate: number | null;
  readonly cart: { lost: number; stale: number; resurrected: number; acknowledged: number; stable: number } | null;
  /** Home replicas that disagreed in the final states, per key. */
  readonly divergentKeys: string[];
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

/** Fault windows from the nemesis ops: from a fault's invoke to the completion of its last undo. */
export function faultWindows(history: readonly HistoryOp[]): FaultWindow[] {
  const out: FaultWindow[] = [];
  let open: { startS: number; endS: number | undefined; faults: string[] } | undefined;
  let lastS = 0;
  for (const op of history) {
    lastS = Math.max(lastS, op.time / 1e9);
    if (op.process !== 'nemesis') continue;
    const s = op.time / 1e9;
    if (undoOps.has(op.f)) {
      if (open !== undefined && op.type !== 'invoke') open.endS = s;
      continue;
    }
    if (op.type !== 'invoke') continue;
    if (open !== undefined && open.endS !== undefined) {
      out.push({ startS: open.startS, endS: open.endS, faults: open.faults });
      open = undefined;
    }
    if (open === undefined) open = { startS: s, endS: undefined, faults: [] };
    if (!open.faults.includes(op.f)) open.faults.push(op.f);
  }
  if (open !== undefined) out.push({ startS: open.startS, endS: open.endS ?? lastS, faults: open.faults });
  return out;
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

  const byTarget = new Map<number, { reads: number; visible: number }>();
  for (const sample of visibilitySamples(history)) {
    const b = byTarget.get(sample.targetMs) ?? { reads: 0, visible: 0 };
    b.reads++;
    if (sample.visible) b.visible++;
    byTarget.set(sample.targetMs, b);
  }
  const visibility = [...byTarget.entries()].sort((a, b) => a[0] - b[0])
    .map(([targetMs, b]) => ({ targetMs, ...b, probability: b.visible / b.reads }));

  lat.sort((a, b) => a - b);
  // The quorum checker reports the share of reads that missed an acknowledged write (staleReadRate).
  const staleReadRate = evidenceNumber(checkers, ['staleReadRate']) ?? null;
  const lost = evidenceNumber(checkers, ['lost']);
  const cart = lost === undefined ? null : {
    lost,
    stale: evidenceNumber(checkers, ['stale']) ?? 0,
    resurrected: evidenceNumber(checkers, ['resurrectedCount']) ?? 0,
    acknowledged: evidenceNumber(checkers, ['acknowledged']) ?? 0,
    stable: evidenceNumber(checkers, ['stable']) ?? 0,
  };
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
