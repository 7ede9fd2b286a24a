// The removed dots of a cart as an immutable set: per `${node}:${nonce}` prefix, the counters as sorted,
// disjoint, non-adjacent inclusive ranges (canonical: one set, one form), and dot ids that do not end in a
// counter verbatim. This is the form the cart encoding stores, so encoding costs nothing extra, and a
// union, a difference, a comparison or a hash costs O(ranges) rather than O(dots): a cart whose every
// add and remove cycle adds one dot to a run keeps a constant-size removed set however long its history.
// A set is shared by every state that holds it and never changes; a union builds a new one, reusing the
// range lists of the prefixes it leaves alone.
import { sha256Hex } from './hash.js';

export type Range = readonly [from: number, to: number];
type RangeList = readonly Range[];

const mask256 = (1n << 256n) - 1n;

/**
 * Whether `s[from..]` is a canonical decimal counter: "0", or 1 to 15 digits without a leading zero (the
 * same set as /^(0|[1-9][0-9]{0,14})$/, checked without a regex because this runs for every dot looked up).
 */
function isCounter(s: string, from: number): boolean {
  const len = s.length - from;
  if (len < 1 || len > 15) return false;
  const first = s.charCodeAt(from);
  if (first === 48) return len === 1;
  if (first < 49 || first > 57) return false;
  for (let i = from + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The largest counter a range may hold: one more digit and `${prefix}:${counter}` is no longer canonical. */
const maxCounter = 1e15 - 1;

/** A dot split into prefix and counter; `prefix` undefined for an id kept verbatim. */
export interface ParsedDot {
  readonly prefix: string | undefined;
  readonly counter: number;
}

export function parseDot(dot: string): ParsedDot {
  const i = dot.lastIndexOf(':');
  if (i <= 0 || !isCounter(dot, i + 1)) return { prefix: undefined, counter: 0 };
  return { prefix: dot.slice(0, i), counter: Number(dot.slice(i + 1)) };
}

/** Index of the first range of `list` whose end is at or after `c` (list.length when none). */
function firstEndingAtOrAfter(list: RangeList, c: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Range)[1] < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function covers(list: RangeList | undefined, c: number): boolean {
  if (list === undefined) return false;
  const r = list[firstEndingAtOrAfter(list, c)];
  return r !== undefined && r[0] <= c;
}

/** The parts of `b` (sorted, disjoint) that `a` (sorted, disjoint) does not cover, sorted. */
function rangesMinus(b: RangeList, a: RangeList): Range[] {
  const out: Range[] = [];
  for (const r of b) {
    const [from, to] = r;
    let lo = from;
    for (let i = firstEndingAtOrAfter(a, from); i < a.length && lo <= to; i++) {
      const [af, at] = a[i] as Range;
      if (af > to) break;
      if (af > lo) out.push(Object.freeze([lo, af - 1] as const));
      lo = at + 1;
    }
    if (lo <= to) out.push(lo === from ? r : Object.freeze([lo, to] as const));
  }
  return out;
}

/**
 * Range hashes computed lately, by prefix and then by bounds: every replica of a cart joins the same
 * ranges, and a union takes away the hashes of the ranges it absorbs, which were added when they were
 * made. Looked up without building the hashed text (a prefix string is shared by every dot parsed from
 * it, so its map hash is computed once). Bounded: cleared when full.
 */
const rangeHashes = new Map<string, Map<string, bigint>>();
let rangeHashCount = 0;
const rangeHashLimit = 1 << 16;

/** A range's share of the removed hash (a domain apart from the verbatim ids' and from the adds'). */
function rangeHash(prefix: string, r: Range): bigint {
  let byBounds = rangeHashes.get(prefix);
  if (byBounds === undefined) rangeHashes.set(prefix, (byBounds = new Map()));
  const bounds = `${r[0]}-${r[1]}`;
  let h = byBounds.get(bounds);
  if (h === undefined) {
    if (rangeHashCount >= rangeHashLimit) {
      rangeHashes.clear();
      rangeHashes.set(prefix, (byBounds = new Map()));
      rangeHashCount = 0;
    }
    h = BigInt(`0x${sha256Hex(JSON.stringify(['removed-range', prefix, r[0], r[1]]))}`);
    byBounds.set(bounds, h);
    rangeHashCount++;
  }
  return h;
}

function verbatimHash(dot: string): bigint {
  return BigInt(`0x${sha256Hex(JSON.stringify(['removed', dot]))}`);
}

/**
 * The union of `a` (canonical) and `fresh` (sorted, disjoint, disjoint from `a`), canonical, and how the
 * hash sum moves: each range of the result made of more than one piece replaces the ranges of `a` it absorbed.
 */
function rangesUnion(prefix: string, a: RangeList, fresh: RangeList, hashed: boolean): { list: Range[]; sumDelta: bigint } {
  // The usual write removes one run or a few dots: insert them by binary search and native copies.
  if (fresh.length <= 2) {
    let list = a;
    let delta = 0n;
    for (const r of fresh) {
      const one = insertRange(prefix, list, r, hashed);
      list = one.list;
      delta += one.sumDelta;
    }
    return { list: list as Range[], sumDelta: delta };
  }
  const out: Range[] = [];
  let sumDelta = 0n;
  // The range being built: its bounds, the ranges of `a` in it, and whether it is one range of `a` as is.
  let from = -2;
  let to = -2;
  let absorbed: Range[] = [];
  let pieces = 0;
  const flush = (): void => {
    if (pieces === 0) return;
    if (pieces === 1 && absorbed.length === 1) {
      out.push(absorbed[0] as Range);
      return;
    }
    const r = Object.freeze([from, to] as const);
    out.push(r);
    if (hashed) {
      sumDelta += rangeHash(prefix, r);
      for (const x of absorbed) sumDelta -= rangeHash(prefix, x);
    }
  };
  const take = (r: Range, ofA: boolean): void => {
    if (pieces > 0 && r[0] <= to + 1) {
      to = Math.max(to, r[1]);
    } else {
      flush();
      from = r[0];
      to = r[1];
      absorbed = [];
      pieces = 0;
    }
    pieces += 1;
    if (ofA) absorbed.push(r);
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < fresh.length) {
    const x = a[i];
    const y = fresh[j];
    if (x !== undefined && (y === undefined || x[0] <= y[0])) {
      take(x, true);
      i++;
    } else if (y !== undefined) {
      take(y, false);
      j++;
    }
  }
  flush();
  return { list: out, sumDelta };
}

/** `rangesUnion` of one range `r` disjoint from `a`: it joins the neighbours it touches. */
function insertRange(prefix: string, a: RangeList, r: Range, hashed: boolean): { list: RangeList; sumDelta: bigint } {
  // The first range ending at or after r's start starts after r's end (they are disjoint).
  const i = firstEndingAtOrAfter(a, r[0]);
  let from = r[0];
  let to = r[1];
  let lo = i;
  let hi = i;
  const left = a[i - 1];
  const right = a[i];
  if (left !== undefined && left[1] + 1 === r[0]) {
    from = left[0];
    lo = i - 1;
  }
  if (right !== undefined && right[0] === r[1] + 1) {
    to = right[1];
    hi = i + 1;
  }
  const merged: Range = lo === i && hi === i ? r : Object.freeze([from, to] as const);
  let sumDelta = 0n;
  if (hashed) {
    sumDelta += rangeHash(prefix, merged);
    if (lo < i) sumDelta -= rangeHash(prefix, left as Range);
    if (hi > i) sumDelta -= rangeHash(prefix, right as Range);
  }
  const list = a.slice(0, lo);
  list.push(merged);
  return { list: hi === a.length ? list : list.concat(a.slice(hi)), sumDelta };
}

/** Adds each dot to its prefix's one-counter ranges, or to `verbatim` when it does not end in a counter. */
function groupDots(dots: Iterable<string>, byPrefix: Map<string, Range[]>, verbatim: Set<string>): void {
  for (const dot of dots) {
    const p = parseDot(dot);
    if (p.prefix === undefined) {
      verbatim.add(dot);
      continue;
    }
    let list = byPrefix.get(p.prefix);
    if (list === undefined) byPrefix.set(p.prefix, (list = []));
    list.push([p.counter, p.counter]);
  }
}

/** Sorted, coalesced ranges of `ranges` (any order, overlapping allowed). */
function normalize(ranges: Range[]): Range[] {
  ranges.sort((p, q) => p[0] - q[0]);
  const out: [number, number][] = [];
  for (const [from, to] of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  for (const r of out) Object.freeze(r);
  return out;
}

/**
 * Whether two lists hold the same ranges: replicas that applied the same writes hold equal lists in
 * objects of their own, and a read merges their states, so this is checked before computing a difference.
 */
function sameRanges(p: RangeList, q: RangeList): boolean {
  if (p === q) return true;
  if (p.length !== q.length) return false;
  for (let i = 0; i < p.length; i++) {
    const x = p[i] as Range;
    const y = q[i] as Range;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

function countOf(list: RangeList): number {
  let n = 0;
  for (const [from, to] of list) n += to - from + 1;
  return n;
}

export class RemovedDots {
  private xSet: Set<string> | undefined = undefined;
  private rec: Readonly<Record<string, RangeList>> | undefined = undefined;
  /** Sum (mod 2^256) of the ranges' and verbatim ids' hashes, once known. */
  private sum: bigint | undefined = undefined;

  constructor(
    /** Range lists by prefix (each frozen). */
    readonly ranges: ReadonlyMap<string, RangeList>,
    /** Verbatim ids, sorted, distinct (frozen). */
    readonly x: readonly string[],
    /** How many dots the set holds. */
    readonly count: number,
  ) {}

  static readonly empty = new RemovedDots(new Map(), Object.freeze([]) as readonly string[], 0);

  /** The set of `dots` (any order, repeats allowed). */
  static of(dots: Iterable<string>): RemovedDots {
    const byPrefix = new Map<string, Range[]>();
    const x = new Set<string>();
    groupDots(dots, byPrefix, x);
    return RemovedDots.build(byPrefix, x);
  }

  /**
   * The set an encoding's ranges and verbatim ids describe, in canonical form (throws on a malformed
   * range). Counters an id would not spell canonically, and ranges of an empty prefix, become verbatim ids,
   * exactly as expanding them into ids and grouping those again would.
   */
  static fromEncoding(r: Readonly<Record<string, unknown>>, x: readonly unknown[], maxSpan: number, malformed: (why: string) => never): RemovedDots {
    const byPrefix = new Map<string, Range[]>();
    const verbatim = new Set<string>();
    const xDots: string[] = [];
    for (const d of x) {
      if (typeof d !== 'string') malformed('removed id is not a string');
      xDots.push(d);
    }
    for (const [prefix, ranges] of Object.entries(r)) {
      if (!Array.isArray(ranges)) malformed('removed ranges are not a list');
      for (const range of ranges as unknown[]) {
        if (!Array.isArray(range) || range.length !== 2 || !range.every((c) => Number.isSafeInteger(c) && c >= 0)) malformed('bad range');
        const [from, to] = range as [number, number];
        if (to < from || to - from > maxSpan) malformed('range out of order or too wide');
        if (prefix === '' || to > maxCounter) {
          for (let c = Math.max(from, prefix === '' ? from : maxCounter + 1); c <= to; c++) verbatim.add(`${prefix}:${c}`);
          if (prefix === '' || from > maxCounter) continue;
        }
        let list = byPrefix.get(prefix);
        if (list === undefined) byPrefix.set(prefix, (list = []));
        list.push([from, Math.min(to, maxCounter)]);
      }
    }
    groupDots(xDots, byPrefix, verbatim);
    return RemovedDots.build(byPrefix, verbatim);
  }

  private static build(byPrefix: Map<string, Range[]>, x: Set<string>): RemovedDots {
    if (byPrefix.size === 0 && x.size === 0) return RemovedDots.empty;
    const ranges = new Map<string, RangeList>();
    let count = x.size;
    for (const prefix of [...byPrefix.keys()].sort()) {
      const list = Object.freeze(normalize(byPrefix.get(prefix) as Range[]));
      ranges.set(prefix, list);
      count += countOf(list);
    }
    return new RemovedDots(ranges, Object.freeze([...x].sort()), count);
  }

  has(dot: string): boolean {
    if (this.count === 0) return false;
    const p = parseDot(dot);
    return this.hasParsed(p, dot);
  }

  /** `has` for a dot already parsed (adds keep theirs). */
  hasParsed(p: ParsedDot, dot: string): boolean {
    if (this.count === 0) return false;
    if (p.prefix !== undefined) return covers(this.ranges.get(p.prefix), p.counter);
    if (this.x.length === 0) return false;
    this.xSet ??= new Set(this.x);
    return this.xSet.has(dot);
  }

  /** Calls `fn` for every dot (O(dots): for small sets, tests and inspection). */
  forEach(fn: (dot: string) => void): void {
    for (const [prefix, list] of this.ranges) for (const [from, to] of list) for (let c = from; c <= to; c++) fn(`${prefix}:${c}`);
    for (const d of this.x) fn(d);
  }

  /**
   * The union with `b`, and what `b` brought (`b` less this), or undefined when `b` brings nothing. Costs
   * O(b's ranges × log) to find what is new, and then a copy of the range lists it extends.
   */
  union(b: RemovedDots): { readonly set: RemovedDots; readonly added: RemovedDots } | undefined {
    if (b === this || b.count === 0) return undefined;
    if (this.count === 0) return { set: b, added: b };
    let ranges: Map<string, RangeList> | undefined;
    let added: Map<string, RangeList> | undefined;
    let count = this.count;
    let addedCount = 0;
    const hashed = this.sum !== undefined;
    let sum = this.sum ?? 0n;
    let newPrefix = false;
    for (const [prefix, bl] of b.ranges) {
      const al = this.ranges.get(prefix);
      if (al !== undefined && sameRanges(al, bl)) continue;
      const fresh = al === undefined ? bl : rangesMinus(bl, al);
      if (fresh.length === 0) continue;
      ranges ??= new Map(this.ranges);
      added ??= new Map();
      const n = countOf(fresh);
      count += n;
      addedCount += n;
      const frozenFresh = Object.freeze(fresh) as RangeList;
      added.set(prefix, frozenFresh);
      if (al === undefined) {
        newPrefix = true;
        ranges.set(prefix, frozenFresh);
        if (hashed) for (const r of frozenFresh) sum += rangeHash(prefix, r);
      } else {
        const u = rangesUnion(prefix, al, frozenFresh, hashed);
        ranges.set(prefix, Object.freeze(u.list));
        sum += u.sumDelta;
      }
    }
    let newX: string[] | undefined;
    for (const d of b.x) {
      if (this.hasParsed({ prefix: undefined, counter: 0 }, d)) continue;
      (newX ??= []).push(d);
    }
    if (ranges === undefined && newX === undefined) return undefined;
    let x = this.x;
    if (newX !== undefined) {
      x = Object.freeze([...this.x, ...newX].sort());
      count += newX.length;
      addedCount += newX.length;
      if (hashed) for (const d of newX) sum += verbatimHash(d);
    }
    // New prefixes go in order, so that the set's own order (and its encoding's) is canonical. What b
    // brought is in b's order, which is canonical already, and so is a copy that only replaced lists.
    const set = new RemovedDots(newPrefix ? sortedByPrefix(ranges as Map<string, RangeList>) : (ranges ?? this.ranges), x, count);
    if (hashed) set.sum = sum & mask256;
    const addedSet = new RemovedDots(added ?? new Map(), Object.freeze(newX ?? []), addedCount);
    return { set, added: addedSet };
  }

  /** This set less `b`. */
  minus(b: RemovedDots): RemovedDots {
    if (b.count === 0) return this;
    if (this === b || this.count === 0) return RemovedDots.empty;
    const ranges = new Map<string, RangeList>();
    let count = 0;
    for (const [prefix, list] of this.ranges) {
      const bl = b.ranges.get(prefix);
      const rest = bl === undefined ? list : bl === list ? [] : Object.freeze(rangesMinus(list, bl));
      if (rest.length === 0) continue;
      ranges.set(prefix, rest);
      count += countOf(rest);
    }
    const x = Object.freeze(this.x.filter((d) => !b.hasParsed({ prefix: undefined, counter: 0 }, d)));
    return new RemovedDots(ranges, x, count + x.length);
  }

  equals(b: RemovedDots): boolean {
    if (this === b) return true;
    if (this.count !== b.count || this.ranges.size !== b.ranges.size || this.x.length !== b.x.length) return false;
    for (const [prefix, list] of this.ranges) {
      const bl = b.ranges.get(prefix);
      if (bl === undefined || !sameRanges(list, bl)) return false;
    }
    return this.x.every((d, i) => b.x[i] === d);
  }

  /** The encoding's range record (prefixes in order; frozen, computed once). */
  record(): Readonly<Record<string, RangeList>> {
    if (this.rec === undefined) {
      const r: Record<string, RangeList> = {};
      // A prefix comes off the wire: "__proto__" must be an own key like any other.
      for (const [prefix, list] of this.ranges) {
        if (prefix === '__proto__') Object.defineProperty(r, prefix, { value: list, enumerable: true, writable: true, configurable: true });
        else r[prefix] = list;
      }
      this.rec = Object.freeze(r);
    }
    return this.rec;
  }

  /** The removed part of the value hash: a function of the set alone, kept by `union` once known. */
  hashSum(): bigint {
    if (this.sum === undefined) {
      let sum = 0n;
      for (const [prefix, list] of this.ranges) for (const r of list) sum += rangeHash(prefix, r);
      for (const d of this.x) sum += verbatimHash(d);
      this.sum = sum & mask256;
    }
    return this.sum;
  }
}

/** `ranges` with its prefixes in order (the same map when they already are). */
function sortedByPrefix(ranges: ReadonlyMap<string, RangeList>): ReadonlyMap<string, RangeList> {
  let prev: string | undefined;
  let sorted = true;
  for (const prefix of ranges.keys()) {
    if (prev !== undefined && prefix < prev) {
      sorted = false;
      break;
    }
    prev = prefix;
  }
  if (sorted) return ranges;
  return new Map([...ranges].sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)));
}
