// Cart checker: Jepsen's set-full analysis per add instance, extended to items that repeat and to removes
// that take away only the adds their read observed. Reads show quantities, not instances, so a read with
// quantity q is taken to contain the q oldest instances it is required to contain (the newest are the ones
// still propagating), and any surplus is attributed to instances that may be present.
//
// What decides lost and resurrected items after heal and quiesce. Under a strict quorum with R + W > N every
// final read meets every acknowledged write, so each final read decides. Otherwise a final read may be
// answered by one replica that anti-entropy (periodic, to a random peer) or read repair has not reached yet,
// seconds after quiesce, so final reads are only measured (stale final reads). What decides is then the
// latest evidence, as in set-full: every home replica's state, recorded after the final reads (HISTORY.md's
// `process: "final"` ops), each taken as a read; a history without them falls back on the latest final read.
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples, quantiles } from './evidence.js';
import { clientOpsByKey, pairHistory, readItems, toMs, type ClientOp, type PairedHistory } from './ops.js';
import { survivorBound } from './cart-bound.js';
import { cartOps } from './cart-ops.js';
import type { CheckOptions } from './options.js';

interface Instance {
  op: ClientOp;
  item: string;
  invokeT: number;
  /** Ack time of an ok add, Infinity otherwise. */
  okT: number;
  /** Invoke time of the earliest remove that may have taken this instance away (it may have observed it). */
  exemptT: number;
  /** Ack time of a remove that certainly took this instance away (its read observed every instance). */
  removedT: number;
  knownT: number;
  lastPresent: number;
  lastAbsent: number;
}

interface RemoveInfo {
  op: ClientOp;
  item: string;
  /** Completion time of the read whose context the remove sent: adds invoked later cannot be observed. */
  cutoff: number;
  /** Quantity of the item in that read (Infinity when the read is unknown). */
  readQty: number;
  readInvokeT: number;
}

/** Removes and adds of the removed item: which instances each remove may, or certainly did, take away. */
function applyRemoves(instances: Instance[], removes: RemoveInfo[], strongQuorum: boolean): void {
  // exemptT: the min invoke time over removes whose cutoff is after the instance's invoke. Sort removes by
  // cutoff descending and walk instances by invoke descending with a running minimum: O((a + r) log).
  const byCutoff = removes.filter((r) => r.readQty > 0).sort((a, b) => b.cutoff - a.cutoff);
  const byInvoke = [...instances].sort((a, b) => b.invokeT - a.invokeT);
  let j = 0;
  let minInvoke = Infinity;
  for (const inst of byInvoke) {
    while (j < byCutoff.length && byCutoff[j]!.cutoff > inst.invokeT) minInvoke = Math.min(minInvoke, byCutoff[j++]!.op.invokeTime);
    inst.exemptT = minInvoke;
  }
  // removedT: an ok remove whose read showed every instance that could have been there removed all of them.
  // Reads show quantities, not add instances. Under a strict quorum with R + W > N a read cannot show an
  // add already removed before it began, so instances removed earlier are out of the count. Under sloppy
  // or partial quorums a stale read may still show such an add instead of a newer one; its count then
  // proves nothing about the newer add unless it covers every add ever invoked before the read.
  const oks = removes.filter((r) => r.op.type === 'ok' && r.readQty !== Infinity).sort((a, b) => a.op.completeTime - b.op.completeTime);
  for (const r of oks) {
    if (!strongQuorum) {
      const everInvoked = instances.filter((i) => i.op.type !== 'fail' && i.invokeT < r.cutoff);
      if (r.readQty < everInvoked.length) continue;
    }
    const observable = instances.filter((i) => i.op.type !== 'fail' && i.invokeT < r.cutoff && !(i.removedT < r.readInvokeT));
    if (observable.length > 0 && r.readQty >= observable.length) {
      for (const i of observable) i.removedT = Math.min(i.removedT, r.op.completeTime);
    }
  }
}

export interface CartCounts {
  attempted: number;
  acknowledged: number;
  stable: number;
  lost: number;
  neverRead: number;
  stale: number;
  removed: number;
  /** Weak quorums: final reads that fell short of the bound or showed a removed item while the deciding
   *  evidence (the home replicas' states) did not. Staleness, not a loss or a resurrection. */
  staleFinalReads: number;
}

export function checkCart(history: readonly HistoryOp[], options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const lost = new Examples<Record<string, unknown>>();
  const stale = new Examples<Record<string, unknown>>();
  const resurrected = new Examples<Record<string, unknown>>();
  const resurrectedTransient = new Examples<Record<string, unknown>>();
  const duplicated = new Examples<Record<string, unknown>>();
  const staleLatenciesMs: number[] = [];
  const staleFinals = new Set<ClientOp>();
  const counts: CartCounts = { attempted: 0, acknowledged: 0, stable: 0, lost: 0, neverRead: 0, stale: 0, removed: 0, staleFinalReads: 0 };
  let reads = 0;
  const strongQuorum = !options.sloppy && options.r + options.w > options.n;
  const kvFlavour = options.workload === 'cart-kv';
  const replicaReads = strongQuorum ? new Map<string, ClientOp[]>() : replicaStatesAsReads(paired);
  for (const [key, ops] of clientOpsByKey(paired)) {
    const sinks = { lost, stale, resurrected, resurrectedTransient, duplicated, staleLatenciesMs, staleFinals, counts };
    reads += checkKey(key, ops, replicaReads.get(key) ?? [], paired, sinks, strongQuorum, !kvFlavour);
  }
  counts.staleFinalReads = staleFinals.size;
  // A removed item that a read shows again is a lost remove only if it comes back after heal and
  // quiescence (every final read under a strict quorum with R + W > N, the home replicas' states otherwise),
  // or, under such a strict quorum, in any read that began after the remove was acknowledged. With sloppy or
  // partial quorums a read on the far side of a partition, or one answered by a replica anti-entropy has not
  // reached yet, may legitimately not have seen the remove: that is staleness, reported but not a violation.
  const failingResurrections = resurrected.count + (strongQuorum ? resurrectedTransient.count : 0);
  const failing = counts.lost > 0 || duplicated.count > 0 || (!kvFlavour && failingResurrections > 0);
  const valid = failing ? false : counts.stable === 0 ? 'unknown' : true;
  return {
    valid,
    reads,
    ...counts,
    lostExamples: lost.examples,
    staleExamples: stale.examples,
    staleLatencyMs: quantiles(staleLatenciesMs),
    resurrectedCount: resurrected.count,
    resurrected: resurrected.examples,
    resurrectedExpected: kvFlavour,
    resurrectedTransientCount: resurrectedTransient.count,
    resurrectedTransient: resurrectedTransient.examples,
    duplicatedCount: duplicated.count,
    duplicated: duplicated.examples,
  };
}

/**
 * Each home replica's recorded state of a key (an ok `local` op of process "final") as a read invoked and
 * completed when it was recorded, after every final read. Unreachable replicas (`info`) say nothing.
 */
function replicaStatesAsReads(paired: PairedHistory): Map<string, ClientOp[]> {
  const out = new Map<string, ClientOp[]>();
  for (const op of paired.finals) {
    if (op.f !== 'local' || op.type !== 'ok' || op.key === undefined) continue;
    const read: ClientOp = { process: op.process, f: 'read', key: op.key, type: 'ok', invoke: op, complete: op, invokeTime: op.time, completeTime: op.time, final: true };
    let list = out.get(op.key);
    if (list === undefined) out.set(op.key, (list = []));
    list.push(read);
  }
  return out;
}

interface Sinks {
  lost: Examples<Record<string, unknown>>;
  stale: Examples<Record<string, unknown>>;
  /** Removed items shown again by the final reads (after heal and quiescence). */
  resurrected: Examples<Record<string, unknown>>;
  /** Removed items shown again by a read during the workload. */
  resurrectedTransient: Examples<Record<string, unknown>>;
  duplicated: Examples<Record<string, unknown>>;
  staleLatenciesMs: number[];
  /** Final reads that did not decide (weak quorums) and showed a resurrection or fell short of the bound. */
  staleFinals: Set<ClientOp>;
  counts: CartCounts;
}

function checkKey(
  key: string, ops: ClientOp[], replicaStates: ClientOp[], paired: PairedHistory, sinks: Sinks, strongQuorum: boolean, countBound: boolean,
): number {
  const byItem = new Map<string, Instance[]>();
  const removesByItem = new Map<string, RemoveInfo[]>();
  const adds: Instance[] = [];
  const reads: ClientOp[] = [];
  const derived = cartOps(ops, paired);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.f === 'add') {
      const item = derived.items[i]!;
      const inst: Instance = {
        op, item, invokeT: op.invokeTime, okT: op.type === 'ok' ? op.completeTime : Infinity,
        exemptT: Infinity, removedT: Infinity, knownT: op.type === 'ok' ? op.completeTime : Infinity,
        lastPresent: -Infinity, lastAbsent: -Infinity,
      };
      adds.push(inst);
      let list = byItem.get(item);
      if (list === undefined) byItem.set(item, (list = []));
      list.push(inst);
    } else if (op.f === 'remove' && op.type !== 'fail') {
      const item = derived.items[i]!;
      const read = derived.observed[i];
      // Without a known read, assume the remove could have observed everything invoked before it completed.
      const info: RemoveInfo = read !== undefined && read.type === 'ok'
        ? { op, item, cutoff: read.completeTime, readQty: derived.observedQty[i]!, readInvokeT: read.invokeTime }
        : { op, item, cutoff: op.completeTime, readQty: Infinity, readInvokeT: op.invokeTime };
      let list = removesByItem.get(item);
      if (list === undefined) removesByItem.set(item, (list = []));
      list.push(info);
    } else if (op.f === 'read' && op.type === 'ok') {
      reads.push(op);
    }
  }
  for (const [item, removes] of removesByItem) applyRemoves(byItem.get(item) ?? [], removes, strongQuorum);
  // What decides (see the top of this file): under a strict R + W > N quorum every final read; otherwise the
  // home replicas' states, read after every other op, or without them the latest-invoked final read.
  const clientReads = reads.length;
  if (replicaStates.length > 0) {
    reads.push(...replicaStates);
    reads.sort((a, b) => a.invokeTime - b.invokeTime);
  }
  let latestFinal: ClientOp | undefined;
  for (const r of reads) if (r.final) latestFinal = r;
  const decidesOf = (r: ClientOp): boolean => r.final && (strongQuorum || (replicaStates.length > 0 ? replicaStates.includes(r) : r === latestFinal));
  const decisive = reads.filter(decidesOf);

  // Sweep reads in invoke order; instances join the active set once invoked before some read completed.
  const live = new Map<string, Instance[]>();
  const hadRemoved = new Set<string>();
  let next = 0;
  let maxComplete = -Infinity;
  for (const read of reads) {
    const t = read.invokeTime;
    const c = read.completeTime;
    maxComplete = Math.max(maxComplete, c);
    while (next < adds.length && adds[next]!.invokeT < maxComplete) {
      const inst = adds[next++]!;
      if (inst.op.type === 'fail') continue;
      let list = live.get(inst.item);
      if (list === undefined) live.set(inst.item, (list = []));
      list.push(inst);
    }
    const items = readItems(read.complete?.value);
    const decides = decidesOf(read);
    // Items scored above are those live at the start of this read: the ones still in `live`, plus the few whose
    // list emptied and was dropped (collected lazily, so the common read allocates no per-read set).
    // keys() and for-in rather than entries() and Object.keys(): no pair or key array per read.
    let dropped: string[] | undefined;
    for (const item of live.keys()) {
      const list = live.get(item)!;
      scoreRead(key, item, list, items[item] ?? 0, read, t, c, hadRemoved, sinks, decides);
      if (list.length === 0) {
        live.delete(item);
        (dropped ??= []).push(item);
      }
    }
    for (const item in items) {
      const qty = items[item]!;
      if (qty <= 0 || live.has(item) || (dropped !== undefined && dropped.includes(item))) continue;
      scoreRead(key, item, NO_INSTANCES, qty, read, t, c, hadRemoved, sinks, decides);
    }
  }

  const lostByItem = new Map<string, number>();
  for (const inst of adds) {
    if (classify(key, inst, sinks)) lostByItem.set(inst.item, (lostByItem.get(inst.item) ?? 0) + 1);
  }
  if (countBound) countLost(key, ops, paired, reads, decisive, lostByItem, sinks);
  return clientReads;
}

/**
 * The counting bound (cart-bound.ts) against what decides (final reads or replica states): an item shown fewer
 * times than the acknowledged adds that no set of removes could have taken away lost the difference. A final
 * read that does not decide (weak quorums) and falls short is a stale final read. Instances the
 * per-instance analysis already named lost are part of that shortfall, not extra to it. Only for the
 * add-wins cart, where a remove takes exactly the instances its read observed; a cart kept in a plain
 * register (cart-kv) may drop concurrent siblings' adds when a client rewrites it.
 */
function countLost(
  key: string, ops: ClientOp[], paired: PairedHistory, reads: ClientOp[], decisive: ClientOp[], lostByItem: Map<string, number>, sinks: Sinks,
): void {
  if (decisive.length === 0) return;
  const undecided = reads.filter((r) => r.final && r.process !== 'final' && !decisive.includes(r));
  for (const [item, b] of survivorBound(ops, paired)) {
    if (b.mustSurvive <= 0) continue;
    for (const r of undecided) if ((readItems(r.complete?.value)[item] ?? 0) < b.mustSurvive) sinks.staleFinals.add(r);
    let worst: { read: ClientOp; qty: number } | undefined;
    for (const r of decisive) {
      const qty = readItems(r.complete?.value)[item] ?? 0;
      if (worst === undefined || qty < worst.qty) worst = { read: r, qty };
    }
    const shortfall = b.mustSurvive - worst!.qty - (lostByItem.get(item) ?? 0);
    if (shortfall <= 0) continue;
    sinks.counts.lost += shortfall;
    sinks.lost.add(() => ({
      key, item, byCount: true, acknowledgedAdds: b.acknowledged, removableAtMost: b.removableAtMost,
      finalQuantity: worst!.qty, finalReadIndex: worst!.read.complete?.index, missing: shortfall,
    }));
  }
}

/** The list scoreRead gets for an item no live instance has: it is empty, so scoreRead never writes to it. */
const NO_INSTANCES: Instance[] = [];

/** Scores one read against one item's live instances (mutates the list to drop certainly removed ones). */
function scoreRead(
  key: string, item: string, list: Instance[], qty: number, read: ClientOp, t: number, c: number,
  hadRemoved: Set<string>, sinks: Sinks, decides: boolean,
): void {
  let w = 0;
  for (const inst of list) {
    if (inst.removedT < t) hadRemoved.add(item);
    else list[w++] = inst;
  }
  if (w !== list.length) list.length = w;
  let required = 0;
  for (const inst of list) {
    if (inst.okT < t && inst.exemptT >= c) {
      // Required: acknowledged before the read began and no remove could have taken it before it ended.
      if (required < qty) {
        inst.lastPresent = Math.max(inst.lastPresent, t);
        inst.knownT = Math.min(inst.knownT, c);
      } else {
        inst.lastAbsent = Math.max(inst.lastAbsent, t);
      }
      required++;
    }
  }
  let surplus = qty - required;
  if (surplus <= 0) return;
  for (const inst of list) {
    if (surplus === 0) break;
    if (inst.okT < t && inst.exemptT >= c) continue;
    if (inst.invokeT >= c) continue;
    inst.lastPresent = Math.max(inst.lastPresent, t);
    inst.knownT = Math.min(inst.knownT, c);
    surplus--;
  }
  if (surplus > 0) {
    const example = (): Record<string, unknown> => ({ key, item, readIndex: read.complete?.index, quantity: qty, possiblyPresent: qty - surplus, readAtMs: toMs(t) });
    if (hadRemoved.has(item)) {
      (decides ? sinks.resurrected : sinks.resurrectedTransient).add(example);
      if (read.final && read.process !== 'final' && !decides) sinks.staleFinals.add(read);
    } else sinks.duplicated.add(example);
  }
}

/** Tallies one add instance; true when it is lost. */
function classify(key: string, inst: Instance, sinks: Sinks): boolean {
  const { counts } = sinks;
  if (inst.op.type === 'fail') return false;
  counts.attempted++;
  if (inst.op.type === 'ok') counts.acknowledged++;
  if (inst.exemptT !== Infinity) {
    // A remove may have observed it: its absence proves nothing.
    counts.removed++;
    return false;
  }
  const known = inst.knownT !== Infinity;
  if (known && inst.lastAbsent > inst.lastPresent) {
    counts.lost++;
    sinks.lost.add(() => ({
      key, item: inst.item, addIndex: inst.op.invoke.index, knownMs: toMs(inst.knownT),
      lastPresentMs: inst.lastPresent === -Infinity ? null : toMs(inst.lastPresent), lastAbsentMs: toMs(inst.lastAbsent),
    }));
    return true;
  } else if (inst.lastPresent > -Infinity && inst.lastPresent > inst.lastAbsent) {
    counts.stable++;
    if (inst.lastAbsent > inst.knownT) {
      counts.stale++;
      const latencyMs = toMs(inst.lastAbsent - inst.knownT);
      sinks.staleLatenciesMs.push(latencyMs);
      sinks.stale.add(() => ({ key, item: inst.item, addIndex: inst.op.invoke.index, staleLatencyMs: latencyMs }));
    }
  } else {
    counts.neverRead++;
  }
  return false;
}
