// Quorum checker. With a strict quorum and R + W > N every read invoked after a write's ack must reflect it
// (return it or a write that superseded it); a miss is a stale read and the history is invalid. Otherwise it
// measures staleness (PBS's k-staleness and t-visibility) and sets it beside the PBS prediction.
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples, round } from './evidence.js';
import { NS_PER_MS, pairHistory, toMs } from './ops.js';
import { buildRegisterModel, markReflected, type KeyModel, type WriteNode } from './register-model.js';
import type { CheckOptions } from './options.js';
import { PBS_CONSISTENT_T0_N3_R1_W1, PBS_SOURCE, PBS_TABLE4_N3, PBS_VALIDATION_RMSE, pbsStaleOne, pbsWithinK } from './pbs.js';

/** t-visibility bucket lower bounds in ms; the last bucket is [1000, 2000). */
export const T_VISIBILITY_BUCKETS_MS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;
const T_WINDOW_NS = 2000 * NS_PER_MS;
/** Bounds per read keep the checker linear: how many recent acks to score, how far back to count versions. */
const T_PAIRS_PER_READ = 32;
const K_MAX = 64;

export function checkQuorum(history: readonly HistoryOp[], options: CheckOptions): CheckerResult {
  const strict = !options.sloppy && options.r + options.w > options.n;
  const paired = pairHistory(history);
  const models = buildRegisterModel(paired);
  const stale = new Examples<Record<string, unknown>>();
  const kHist = new Map<number, number>();
  const tSeen = T_VISIBILITY_BUCKETS_MS.map(() => 0);
  const tAll = T_VISIBILITY_BUCKETS_MS.map(() => 0);
  let reads = 0;
  let staleReads = 0;
  for (const m of models.values()) {
    const r = scanKey(m, options, stale, kHist, tSeen, tAll);
    reads += r.reads;
    staleReads += r.stale;
  }
  const kBehind = [...kHist.entries()].sort((a, b) => a[0] - b[0]).map(([k, count]) => ({ k: k >= K_MAX ? `${K_MAX}+` : k, count }));
  const measuredWithin = [1, 2, 3, 4, 5].map((k) => {
    let n = 0;
    for (const [kk, c] of kHist) if (kk < k) n += c;
    return { k, p: reads === 0 ? null : round(n / reads) };
  });
  const tVisibility = T_VISIBILITY_BUCKETS_MS.map((t, i) => ({ tMs: t, pairs: tAll[i]!, pSeen: tAll[i] === 0 ? null : round(tSeen[i]! / tAll[i]!) }));
  const predicted = pbsWithinK(options.n, options.r, options.w).map(({ k, p }) => ({ k, p: round(p) }));
  const table4 = options.n === 3 ? PBS_TABLE4_N3.find((row) => row.R === options.r && row.W === options.w) : undefined;
  const pbs = {
    source: PBS_SOURCE,
    pStaleOneVersion: round(pbsStaleOne(options.n, options.r, options.w)),
    predictedWithinK: predicted,
    measuredWithinK: measuredWithin,
    measuredConsistentAtT0: tVisibility[0]!.pSeen,
    predictedConsistentAtT0: round(1 - pbsStaleOne(options.n, options.r, options.w)),
    ...(table4 !== undefined ? { publishedTable4: { R: table4.R, W: table4.W, columns: '[p99.9 read ms, p99.9 write ms, t ms for 99.9% consistency]', rows: table4.rows } } : {}),
    ...(options.n === 3 && options.r === 1 && options.w === 1 ? { publishedConsistentAtT0: PBS_CONSISTENT_T0_N3_R1_W1 } : {}),
    publishedValidationRmse: PBS_VALIDATION_RMSE,
  };
  let valid: CheckerResult['valid'] = true;
  if (reads === 0) valid = 'unknown';
  else if (strict && staleReads > 0) valid = false;
  return {
    valid,
    mode: strict ? 'strict (R + W > N, no sloppy quorum): stale reads are violations' : 'partial or sloppy quorum: measuring staleness',
    reads,
    staleReads,
    staleReadRate: reads === 0 ? null : round(staleReads / reads),
    stale: stale.examples,
    kStaleness: kBehind,
    tVisibility,
    pbs,
  };
}

/** Sweeps one key's reads (invoke order) against its acks (ack order). */
function scanKey(
  m: KeyModel, options: CheckOptions, stale: Examples<Record<string, unknown>>,
  kHist: Map<number, number>, tSeen: number[], tAll: number[],
): { reads: number; stale: number } {
  // Frontier: acknowledged writes that no acknowledged write has superseded yet.
  const frontier = new Set<WriteNode>();
  const superseded = new Set<WriteNode>();
  let acks = 0;
  let staleCount = 0;
  const supersede = (from: WriteNode): void => {
    const stack = [...from.parents];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (superseded.has(n)) continue;
      superseded.add(n);
      frontier.delete(n);
      for (const p of n.parents) stack.push(p);
    }
  };
  const r: Reflection = { lww: options.conflicts === 'lww', mark: 0, written: [], returned: undefined };
  // The earliest invoke time among the last K_MAX acks, kept as the acks advance (a monotonic queue of their
  // indices, invoke times increasing) rather than by a scan of K_MAX acks per read.
  const window: number[] = [];
  let windowHead = 0;
  for (let ri = 0; ri < m.reads.length; ri++) {
    const read = m.reads[ri]!;
    const t = read.invokeTime;
    while (acks < m.acked.length && m.acked[acks]!.ackTime < t) {
      const w = m.acked[acks]!;
      while (window.length > windowHead && m.acked[window[window.length - 1]!]!.invokeTime >= w.invokeTime) window.pop();
      window.push(acks++);
      supersede(w);
      if (!superseded.has(w)) frontier.add(w);
    }
    const values = m.readVals[ri]!;
    // Horizon: the oldest write this read is asked about.
    let horizon = Infinity;
    for (const f of frontier) horizon = Math.min(horizon, f.invokeTime);
    const kFloor = Math.max(0, acks - K_MAX);
    while (windowHead < window.length && window[windowHead]! < kFloor) windowHead++;
    if (windowHead < window.length) horizon = Math.min(horizon, m.acked[window[windowHead]!]!.invokeTime);
    const written = m.readWrites[ri]!;
    const mark = markReflected(m, written, read.completeTime, horizon);
    // One state object per key rather than a closure per read: a million reads made a million closures.
    r.mark = mark;
    r.written = written;
    r.returned = undefined;
    let missed: WriteNode | undefined;
    for (const f of frontier) if (!reflects(r, f)) { missed = f; break; }
    // k: how many acknowledged versions newer than the newest reflected one.
    let k = 0;
    while (k < acks - kFloor && !reflects(r, m.acked[acks - 1 - k]!)) k++;
    if (k === acks - kFloor && acks - kFloor === K_MAX) k = K_MAX;
    if (missed !== undefined && k === 0) k = 1;
    kHist.set(k, (kHist.get(k) ?? 0) + 1);
    if (missed !== undefined) {
      staleCount++;
      const x = missed;
      stale.add(() => ({
        key: m.key, readIndex: read.complete?.index, returned: values, missed: x.id, missedIndex: x.op.invoke.index,
        ackedMsBeforeRead: toMs(t - x.ackTime), versionsBehind: k,
      }));
    }
    for (let i = acks - 1, n = 0; i >= 0 && n < T_PAIRS_PER_READ; i--, n++) {
      const w = m.acked[i]!;
      const delta = t - w.ackTime;
      if (delta >= T_WINDOW_NS) break;
      const b = bucketOf(delta / NS_PER_MS);
      tAll[b]!++;
      if (reflects(r, w)) tSeen[b]!++;
    }
  }
  return { reads: m.reads.length, stale: staleCount };
}

/** What one read reflects: the writes markReflected stamped with `mark`, and (last-write-wins) what replaced them. */
interface Reflection {
  lww: boolean;
  mark: number;
  /** The read's readWrites (the write each returned value names, or undefined). */
  written: readonly (WriteNode | undefined)[];
  /** The writes the read returned, resolved on first use (they matter only under last-write-wins). */
  returned: WriteNode[] | undefined;
}

function reflects(r: Reflection, x: WriteNode): boolean {
  if (x.mark === r.mark) return true;
  if (!r.lww) return false;
  if (r.returned === undefined) {
    r.returned = [];
    for (const w of r.written) if (w !== undefined) r.returned.push(w);
  }
  // Under last-write-wins a write concurrent with or after x may legitimately have replaced it.
  return r.returned.some((s) => s !== x && s.op.completeTime > x.invokeTime && !isAncestor(x, s));
}

function bucketOf(ms: number): number {
  let b = 0;
  while (b + 1 < T_VISIBILITY_BUCKETS_MS.length && ms >= T_VISIBILITY_BUCKETS_MS[b + 1]!) b++;
  return b;
}

/** Whether a is an ancestor of x (x read a, directly or transitively), bounded by a's invoke time. */
function isAncestor(a: WriteNode, x: WriteNode): boolean {
  const stack = [...x.parents];
  let budget = 1000;
  while (stack.length > 0 && budget-- > 0) {
    const n = stack.pop()!;
    if (n === a) return true;
    if (n.invokeTime < a.invokeTime) continue;
    for (const p of n.parents) stack.push(p);
  }
  return false;
}
