// Session guarantees (Terry et al., PDIS 1994) per client process and key, for register workloads:
// read-your-writes, monotonic reads, monotonic writes and writes-follow-reads. Measured as violation rates in
// every configuration, enforced (valid: false) only where the configuration promises them.
//
// "R reflects W" uses only contract fields (values and contexts): R returned W's value, or the value of a
// write whose context covered W directly or transitively (links.ts), or a delete that may have happened
// before R completed covered W. R reflects a delete D unless R returned a value D's context covered.
//
// The promise: a strict quorum (no sloppy quorum, R + W > N) with version vectors makes every read that
// begins after a write was acknowledged intersect a replica holding it, so a miss of a write acknowledged
// before the read began breaks the guarantee. A miss of a write still in flight (or whose outcome was
// unknown) when the read began is measured, never enforced: Dynamo quorums are not atomic. Sloppy or partial
// quorums and last-write-wins promise none of the four; they are measured.
//
// Of the four, only read-your-writes and monotonic reads are enforced. Monotonic writes and writes-follow-reads
// also rest on the context a write returns covering that write ("X-Context of the new version", NODE-API.md),
// and a version-vector context cannot always say so: when the coordinator minted dots the client never read, the
// reference node returns the client's own context (a blind write: an empty one) rather than cover writes the
// client never saw, so the session's next write stays a sibling of it and a delete sent with it removes nothing
// (sim seed 45 of the seed files, N=3 R=W=2 strict with pauses). That loses no acknowledged write (the quorum
// and register checkers judge that); it is measured here and shown, not enforced, until contexts carry dots.
// For the same reason a missed delete is measured only: what a delete removes is what its context covers, and a
// context the node returned for a blind write (an empty one) covers nothing (seen on local processes, strict
// register with partitions: a read after the session's acknowledged delete still returned the blind write).
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples, round } from './evidence.js';
import { pairHistory, toMs } from './ops.js';
import { buildRegisterModel, markReflected, type KeyModel, type WriteNode } from './register-model.js';
import type { CheckOptions } from './options.js';

export const SESSION_GUARANTEES = ['readYourWrites', 'monotonicReads', 'monotonicWrites', 'writesFollowReads'] as const;
export type SessionGuarantee = (typeof SESSION_GUARANTEES)[number];

/** Bounds per read keep the checker linear: own writes asked about, session predecessors per returned write. */
const OWN_WRITES = 8;
const PREDECESSORS = 4;

interface Tally {
  /** Reads the guarantee applies to (the session had something to reflect). */
  checked: number;
  /** Reads that missed something the guarantee required. */
  violations: number;
  /** Violations that break the configuration's promise (the missed write was acknowledged before the read began). */
  enforced: number;
  examples: Examples<Record<string, unknown>>;
}

/**
 * The questions one read is asked: guarantee index (into SESSION_GUARANTEES) and target write, in parallel
 * arrays reused for every read rather than an object per question.
 */
interface Asks {
  g: number[];
  target: WriteNode[];
}

/** Guarantee indices, in SESSION_GUARANTEES order. */
const RYW = 0;
const MR = 1;
const MW = 2;
const WFR = 3;

/** The guarantees a promising configuration enforces (see the header for why not all four). */
export const ENFORCED_GUARANTEES: ReadonlySet<SessionGuarantee> = new Set<SessionGuarantee>(['readYourWrites', 'monotonicReads']);

/** Whether the configuration promises the session guarantees (see the header). */
export function sessionPromised(options: CheckOptions): boolean {
  return !options.sloppy && options.r + options.w > options.n && options.conflicts === 'vclock';
}

export function checkSession(history: readonly HistoryOp[], options: CheckOptions): CheckerResult {
  const promised = sessionPromised(options);
  const tallies = Object.fromEntries(SESSION_GUARANTEES.map((g) => [g, { checked: 0, violations: 0, enforced: 0, examples: new Examples() }])) as Record<SessionGuarantee, Tally>;
  const sessions = new Set<number | string>();
  let reads = 0;
  for (const m of buildRegisterModel(pairHistory(history)).values()) {
    reads += m.reads.length;
    scanKey(m, options, promised, tallies, sessions);
  }
  const enforced = SESSION_GUARANTEES.some((g) => tallies[g].enforced > 0);
  const out: CheckerResult = {
    // Like the quorum checker: without a single ok read there is nothing to decide.
    valid: promised && enforced ? false : reads === 0 ? 'unknown' : true,
    promised,
    mode: promised
      ? 'strict quorum (R + W > N, no sloppy quorum, version vectors): a miss of a write acknowledged before the read began is a violation'
      : 'no promise in this configuration (sloppy or partial quorum, or last-write-wins): measuring',
    sessions: sessions.size,
  };
  for (const g of SESSION_GUARANTEES) {
    const t = tallies[g];
    out[g] = {
      checked: t.checked, violations: t.violations, rate: t.checked === 0 ? null : round(t.violations / t.checked),
      enforcedViolations: t.enforced, examples: t.examples.examples,
    };
  }
  return out;
}

function scanKey(m: KeyModel, options: CheckOptions, promised: boolean, tallies: Record<SessionGuarantee, Tally>, sessions: Set<number | string>): void {
  // Per process: its acknowledged writes (ack order = invoke order, a process being sequential) and its ok reads.
  const writesOf = new Map<number | string, WriteNode[]>();
  for (const w of m.acked) push(writesOf, w.op.process, w);
  const readsOf = new Map<number | string, number[]>();
  for (let i = 0; i < m.reads.length; i++) push(readsOf, m.reads[i]!.process, i);
  for (const p of writesOf.keys()) sessions.add(p);
  for (const p of readsOf.keys()) sessions.add(p);
  const lastReadPos = new Map<number | string, number>();
  const asks: Asks = { g: [], target: [] };
  const none: WriteNode[] = [];
  const noReads: number[] = [];

  for (let i = 0; i < m.reads.length; i++) {
    const read = m.reads[i]!;
    const p = read.process;
    const values = m.readVals[i]!;
    const written = m.readWrites[i]!;
    asks.g.length = 0;
    asks.target.length = 0;
    // Read your writes: the session's own writes acknowledged before this read.
    const own = writesOf.get(p) ?? none;
    const ownBefore = ackedBefore(own, read.invokeTime);
    for (let k = Math.max(0, ownBefore - OWN_WRITES); k < ownBefore; k++) ask(asks, RYW, own[k]!);
    // Monotonic reads: what the session's previous read of the key returned.
    const pos = lastReadPos.get(p);
    if (pos !== undefined) for (const w of m.readWrites[pos]!) addWrite(asks, MR, w);
    lastReadPos.set(p, i);
    // Monotonic writes and writes follow reads: for each write this read returned, what its session had
    // written and read before issuing it.
    for (const x of written) {
      if (x === undefined || x.isDelete) continue;
      const q = x.op.process;
      const qWrites = writesOf.get(q) ?? none;
      const before = ackedBefore(qWrites, x.invokeTime);
      for (let k = Math.max(0, before - PREDECESSORS); k < before; k++) if (qWrites[k] !== x) ask(asks, MW, qWrites[k]!);
      const qReads = readsOf.get(q) ?? noReads;
      const r = completedBefore(m, qReads, x.invokeTime);
      if (r > 0) for (const u of m.readWrites[qReads[r - 1]!]!) addWrite(asks, WFR, u);
    }
    if (asks.g.length === 0) continue;
    judge(m, read.invokeTime, read.completeTime, values, written, asks, options, promised, tallies, read.complete?.index, p);
  }
}

let askGeneration = 0;

// judge's scratch, reused for every read (judge runs to completion before the next read: nothing keeps them).
const view: ReadView = { written: [], mark: 0, lww: false, returned: undefined };
const scratchMissed: (WriteNode | undefined)[] = [undefined, undefined, undefined, undefined];
const scratchEnforced = [false, false, false, false];

function judge(
  m: KeyModel, invokeT: number, completeT: number, values: string[], written: readonly (WriteNode | undefined)[], asks: Asks,
  options: CheckOptions, promised: boolean,
  tallies: Record<SessionGuarantee, Tally>, readIndex: number | undefined, process: number | string,
): void {
  // Most targets are among the values returned; the causal walk (markReflected) is needed only for the rest,
  // and only back to the oldest of those.
  const n = asks.g.length;
  let horizon = Infinity;
  for (let i = 0; i < n; i++) {
    const target = asks.target[i]!;
    if (!target.isDelete && !returns(written, target)) horizon = Math.min(horizon, target.invokeTime);
  }
  const mark = horizon === Infinity ? -1 : markReflected(m, written, completeT, horizon);
  const read = view;
  read.written = written;
  read.mark = mark;
  read.lww = options.conflicts === 'lww';
  read.returned = undefined;
  // Each (guarantee, write id) is judged once per read: a bit per guarantee on the write the id names.
  const gen = ++askGeneration;
  let hit = 0;
  const missedTarget = scratchMissed;
  const missedEnforced = scratchEnforced;
  missedTarget.fill(undefined);
  missedEnforced.fill(false);
  for (let i = 0; i < n; i++) {
    const g = asks.g[i]!;
    const target = asks.target[i]!;
    hit |= 1 << g;
    const canonical = target.canon;
    if (canonical.askedGen !== gen) {
      canonical.askedGen = gen;
      canonical.askedMask = 0;
    }
    if ((canonical.askedMask & (1 << g)) !== 0) continue;
    canonical.askedMask |= 1 << g;
    if (reflects(read, target)) continue;
    const enforced = promised && ENFORCED_GUARANTEES.has(SESSION_GUARANTEES[g]!) && !target.isDelete && target.ackTime < invokeT;
    if (missedTarget[g] === undefined || (enforced && !missedEnforced[g])) {
      missedTarget[g] = target;
      missedEnforced[g] = enforced;
    }
  }
  for (let g = 0; g < SESSION_GUARANTEES.length; g++) {
    if ((hit & (1 << g)) === 0) continue;
    const t = tallies[SESSION_GUARANTEES[g]!];
    t.checked++;
    const target = missedTarget[g];
    if (target === undefined) continue;
    const enforced = missedEnforced[g]!;
    t.violations++;
    if (enforced) t.enforced++;
    t.examples.add(() => ({
      key: m.key, process, readIndex, returned: values, missed: target.id, missedIndex: target.op.invoke.index,
      writer: target.op.process, ackedMsBeforeRead: target.ackTime === Infinity ? null : toMs(invokeT - target.ackTime), enforced,
    }));
  }
}

/** One judged read: its values, the mark markReflected stamped on what they reflect. */
interface ReadView {
  /** The read's readWrites (the write each returned value names, or undefined). */
  written: readonly (WriteNode | undefined)[];
  mark: number;
  lww: boolean;
  /** The writes it returned, resolved on first use (they matter only for deletes and under last-write-wins). */
  returned: WriteNode[] | undefined;
}

function returnedWrites(r: ReadView): WriteNode[] {
  if (r.returned === undefined) {
    r.returned = [];
    for (const w of r.written) if (w !== undefined) r.returned.push(w);
  }
  return r.returned;
}

/** Whether the read reflects write x. */
function reflects(r: ReadView, x: WriteNode): boolean {
  if (x.isDelete) return !returnedWrites(r).some((s) => coveredBy(x, s));
  if (x.mark === r.mark || returns(r.written, x)) return true;
  // Under last-write-wins a write concurrent with or after x may legitimately have replaced it.
  return r.lww && returnedWrites(r).some((s) => s !== x && s.op.completeTime > x.invokeTime);
}

/**
 * Whether a read returned x's value: whether its readWrites holds the write that id names (x's canon). The same
 * answer as looking for x.id among the values, without comparing strings.
 */
function returns(written: readonly (WriteNode | undefined)[], x: WriteNode): boolean {
  const c = x.canon;
  for (let i = 0; i < written.length; i++) if (written[i] === c) return true;
  return false;
}

/** Whether write s is in the causal past of delete d (bounded walk: ancestors are invoked earlier). */
function coveredBy(d: WriteNode, s: WriteNode): boolean {
  const stack = [...d.parents];
  let budget = 1000;
  while (stack.length > 0 && budget-- > 0) {
    const n = stack.pop()!;
    if (n === s) return true;
    if (n.invokeTime < s.invokeTime) continue;
    for (const p of n.parents) stack.push(p);
  }
  return false;
}

function ask(asks: Asks, g: number, target: WriteNode): void {
  asks.g.push(g);
  asks.target.push(target);
}

/** Asks about the write a returned value names (its readWrites entry), unless none or one that cannot count. */
function addWrite(asks: Asks, g: number, w: WriteNode | undefined): void {
  if (w !== undefined && !w.isDelete && w.op.type !== 'fail') ask(asks, g, w);
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  let list = map.get(k);
  if (list === undefined) map.set(k, (list = []));
  list.push(v);
}

/** The number of leading writes acknowledged before t (the list is in ack order). */
function ackedBefore(list: readonly WriteNode[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.ackTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The number of leading reads (indices into m.reads, in completion order per process) completed before t. */
function completedBefore(m: KeyModel, reads: readonly number[], t: number): number {
  let lo = 0;
  let hi = reads.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m.reads[reads[mid]!]!.completeTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
