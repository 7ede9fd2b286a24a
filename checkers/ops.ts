// Pairs each client invoke with its completion so checkers reason about whole operations. Pure and O(n).
import type { HistoryOp, OpType } from './history.js';

/** A whole client operation: its invoke and (unless the history ended first) its completion. */
export interface ClientOp {
  process: number | string;
  f: string;
  key: string | undefined;
  /** 'pending' when the history ended before the op completed: like info, it may or may not have happened. */
  type: Exclude<OpType, 'invoke'> | 'pending';
  invoke: HistoryOp;
  complete: HistoryOp | undefined;
  /** Nanoseconds. */
  invokeTime: number;
  /** Nanoseconds; Infinity when pending. */
  completeTime: number;
  final: boolean;
}

export interface PairedHistory {
  /** Client ops (numeric processes), in invoke order. */
  client: ClientOp[];
  /** Nemesis ops, in invoke order; nemesis completions without an invoke are kept as their own op. */
  nemesis: ClientOp[];
  /** Final replica states (process "final"), in history order. */
  finals: HistoryOp[];
  /** Completion op index → its ClientOp, for lookups such as a remove's readIndex. */
  byCompletionIndex: CompletionIndex;
  /** Time of the last op in the history, nanoseconds. */
  endTime: number;
  /** The latest time of an op with `final: true` (final reads and replica states), undefined without any. */
  lastFinalTime: number | undefined;
}

/**
 * Completion op index → its ClientOp. Indices count 0, 1, 2, … in file order, so an array indexed by them
 * serves a history read from a file without hashing half a million numbers; an index out of that order (a
 * hand-built history) goes to a Map.
 */
export class CompletionIndex {
  private readonly dense: (ClientOp | undefined)[] = [];
  private readonly other = new Map<number, ClientOp>();

  set(index: number, op: ClientOp): void {
    const dense = this.dense;
    if (Number.isInteger(index) && index >= dense.length && index - dense.length < 1024) {
      // Fill the gap with undefined rather than leaving holes, so the array stays packed.
      while (dense.length < index) dense.push(undefined);
      dense.push(op);
    } else if (Number.isInteger(index) && index >= 0 && index < dense.length && !this.other.has(index)) {
      // A slot that was skipped, unless the Map already holds an entry for it.
      if (dense[index] === undefined) dense[index] = op;
      else this.other.set(index, op);
    } else this.other.set(index, op);
  }

  get(index: number): ClientOp | undefined {
    return this.other.get(index) ?? (Number.isInteger(index) && index >= 0 ? this.dense[index] : undefined);
  }
}

// checkAll runs several checkers over one history: pairing once is a large share of their cost. The cache is
// keyed by the array and its length, so appending to a history invalidates it (in-place edits of ops do not:
// copy a history before editing it).
const pairCache = new WeakMap<readonly HistoryOp[], { length: number; paired: PairedHistory }>();

/** Pairs invokes and completions per process (memoised per history array). */
export function pairHistory(history: readonly HistoryOp[]): PairedHistory {
  const hit = pairCache.get(history);
  if (hit !== undefined && hit.length === history.length) return hit.paired;
  const paired = pairUncached(history);
  pairCache.set(history, { length: history.length, paired });
  return paired;
}

/** Pairs invokes and completions per process. Tolerant: checkers must not throw on odd but parseable input. */
function pairUncached(history: readonly HistoryOp[]): PairedHistory {
  const client: ClientOp[] = [];
  const nemesis: ClientOp[] = [];
  const finals: HistoryOp[] = [];
  const byCompletionIndex = new CompletionIndex();
  // Open ops by process. Client processes are small non-negative integers, so a dense array serves them without
  // hashing; any other process (nemesis, the final readers numbered from concurrency × 1,000,000, or an odd
  // one in a hand-written history) goes to the Map. The bound matters: a dense array up to a final reader's
  // number was ten million slots, which cost more than all the pairing (about 0.3 s per run).
  const openByNumber: (ClientOp | undefined)[] = [];
  const openOther = new Map<number | string, ClientOp>();
  const isSlot = (p: number | string): p is number => typeof p === 'number' && p >= 0 && p < 1 << 16 && Number.isInteger(p);
  let endTime = 0;
  let lastFinalTime: number | undefined;
  for (const op of history) {
    if (op.time > endTime) endTime = op.time;
    if (op.final === true && (lastFinalTime === undefined || op.time > lastFinalTime)) lastFinalTime = op.time;
    if (op.process === 'final') {
      finals.push(op);
      continue;
    }
    const target = op.process === 'nemesis' ? nemesis : client;
    if (op.type === 'invoke') {
      const entry: ClientOp = {
        process: op.process,
        f: op.f,
        key: op.key,
        type: 'pending',
        invoke: op,
        complete: undefined,
        invokeTime: op.time,
        completeTime: Infinity,
        final: op.final === true,
      };
      if (isSlot(op.process)) {
        // Grow with undefined rather than leaving holes, so the array stays packed.
        while (openByNumber.length <= op.process) openByNumber.push(undefined);
        openByNumber[op.process] = entry;
      } else openOther.set(op.process, entry);
      target.push(entry);
      continue;
    }
    const slot = isSlot(op.process);
    const entry = slot ? openByNumber[op.process as number] : openOther.get(op.process);
    if (entry !== undefined && entry.f === op.f) {
      if (slot) openByNumber[op.process as number] = undefined;
      else openOther.delete(op.process);
      entry.type = op.type;
      entry.complete = op;
      entry.completeTime = op.time;
      if (op.final === true) entry.final = true;
      byCompletionIndex.set(op.index, entry);
    } else if (op.process === 'nemesis') {
      // A nemesis may record a completion alone (for example an instantaneous fault); keep it as an op.
      const lone: ClientOp = {
        process: op.process, f: op.f, key: op.key, type: op.type, invoke: op, complete: op,
        invokeTime: op.time, completeTime: op.time, final: false,
      };
      nemesis.push(lone);
    }
  }
  return { client, nemesis, finals, byCompletionIndex, endTime, lastFinalTime };
}

// Several checkers group the same paired client ops by key (the register model, cart, convergence): grouping
// once per paired history saves a full pass over half a million ops for each of them.
const clientByKeyCache = new WeakMap<PairedHistory, Map<string, ClientOp[]>>();

/** groupByKey(paired.client), memoised per paired history. Callers must not mutate the lists. */
export function clientOpsByKey(paired: PairedHistory): Map<string, ClientOp[]> {
  let groups = clientByKeyCache.get(paired);
  if (groups === undefined) clientByKeyCache.set(paired, (groups = groupByKey(paired.client)));
  return groups;
}

/** Groups ops by key, keeping order. */
export function groupByKey<T extends { key?: string | undefined }>(ops: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const op of ops) {
    const key = op.key ?? '';
    let list = out.get(key);
    if (list === undefined) out.set(key, (list = []));
    list.push(op);
  }
  return out;
}

/** Values a register read returned, as strings; anything else yields []. */
export function readValues(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  // Fast path (the common case): an array of strings is returned as is; callers never mutate it. A loop rather
  // than every(): a predicate closure per read was a measurable cost on a million-op history.
  let strings = true;
  for (let i = 0; i < value.length && strings; i++) strings = typeof value[i] === 'string';
  if (strings) return value as string[];
  const out: string[] = [];
  for (const v of value) out.push(typeof v === 'string' ? v : JSON.stringify(v));
  return out;
}

/** A cart read's items map, tolerating a bare array of items (quantity 1 each). */
export function readItems(value: unknown): Record<string, number> {
  if (Array.isArray(value)) {
    const out: Record<string, number> = {};
    for (const v of value) out[String(v)] = (out[String(v)] ?? 0) + 1;
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const items = (value as { items?: unknown }).items;
    const src = items !== null && typeof items === 'object' && !Array.isArray(items) ? items : value;
    const record0 = src as Record<string, unknown>;
    // Fast path (the common case, as in readValues): a map whose values are all numbers is returned as is rather
    // than copied for every read; callers never mutate it. "__proto__" is excluded because copying drops it.
    // for-in rather than Object.keys: no key array per read (with Object.prototype as the prototype, for-in
    // visits exactly the own enumerable keys).
    if (Object.getPrototypeOf(record0) === Object.prototype) {
      let plain = true;
      for (const k in record0) {
        if (typeof record0[k] !== 'number' || k === '__proto__') {
          plain = false;
          break;
        }
      }
      if (plain) return record0 as Record<string, number>;
    }
    const keys0 = Object.keys(record0);
    const out: Record<string, number> = {};
    // Object.keys with an indexed load avoids the [key, value] pair Object.entries allocates per item; the key
    // order is the same.
    for (let i = 0; i < keys0.length; i++) {
      const k = keys0[i]!;
      const v = record0[k];
      if (typeof v === 'number') out[k] = v;
    }
    return out;
  }
  return {};
}

export const NS_PER_MS = 1_000_000;
export const toMs = (ns: number): number => Math.round((ns / NS_PER_MS) * 1000) / 1000;
