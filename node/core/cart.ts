// The shopping cart of the Dynamo paper as a CRDT: an add-wins observed-remove map from item to quantity.
// Every add is a unique dot carrying (item, qty); a remove names the dots it observed and takes away
// exactly those. An add the remover never saw (concurrent, or later) therefore survives, and merging is a
// union of adds and a union of removed dots, which is commutative, associative and idempotent.
//
// Dot ids are minted by the coordinator as `${nodeId}:${bootNonce}:${counter}`, the nonce drawn from the
// environment's random source at start, so a restarted node never reuses an id it minted before a crash.
//
// Representation. A state is an immutable value, but a replica's cart grows by one small delta per write,
// and copying the whole cart for each of them made every add cost more than the last. So the adds and the
// removed dots of a state live in two append-only logs, each entry stamped with the version that brought
// it; a state is a view (log, version) of each, and sees exactly the entries stamped at or below its
// version. Merging into the newest version of a log appends to it (O(delta)) and yields the next version;
// older views stay exactly what they were. Merging into an older view (its log has moved on) copies what
// that view sees into fresh logs first, so correctness never depends on who else holds a state.
import { sha256Hex } from './hash.js';

export interface CartAdd {
  readonly item: string;
  readonly qty: number;
}

interface AddEntry extends CartAdd {
  /** The version of its log that brought this add. */
  readonly at: number;
}

/** Every add of one chain of versions, in the order they arrived (append-only). */
class AddsLog {
  readonly entries = new Map<string, AddEntry>();
  head = 0;
}

/** Every removed dot of one chain of versions, with the version that removed it (append-only). */
class RemovedLog {
  readonly at = new Map<string, number>();
  head = 0;
}

/** The removed part of the encoding: counters by `${node}:${nonce}` prefix as sorted ranges, other ids verbatim. */
interface RemovedEncoding {
  readonly r: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  readonly x: readonly string[];
}

/**
 * Removed dots merged in since a state whose encoding is known, newest first: a persistent list, so a
 * write does not copy the dots of the writes before it; walked once, when the encoding is next needed.
 */
interface AddedDots {
  readonly dots: readonly string[];
  readonly earlier: AddedDots | undefined;
}

/** What a merge added to the state it extended: the effective delta, kept for the store to append it. */
interface Derivation {
  readonly parentId: number;
  readonly adds: readonly (readonly [string, CartAdd])[];
  readonly removed: readonly string[];
}

const mask256 = (1n << 256n) - 1n;
let nextStateId = 0;

export class CartState {
  /** Identity for derivations (see `cartDeltaSince`): compared only, never shown or stored. */
  readonly id = ++nextStateId;
  /** The encoding, once built (frozen, shared by every holder). */
  json: CartJson | undefined = undefined;
  /** The removed part of the encoding, or how to derive it from the state this one was merged from. */
  removedEnc: RemovedEncoding | undefined = undefined;
  removedEncFrom: { readonly base: RemovedEncoding; readonly added: AddedDots } | undefined = undefined;
  /** Sum (mod 2^256) of the sha256 of every live add: the adds' part of the value hash, kept incrementally. */
  addsSum: bigint | undefined = undefined;
  /** The same over the removed dots: the removed part of the value hash. */
  removedSum: bigint | undefined = undefined;
  derivation: Derivation | undefined = undefined;

  constructor(
    readonly alog: AddsLog,
    readonly av: number,
    readonly rlog: RemovedLog,
    readonly rv: number,
    /** Whether a merge may append to `rlog` (false for a decoded copy that shares its sender's log). */
    readonly ownsRemoved: boolean,
    /** Adds not removed (what the encoding lists). */
    readonly liveCount: number,
    readonly removedCount: number,
  ) {}

  isRemoved(dot: string): boolean {
    const w = this.rlog.at.get(dot);
    return w !== undefined && w <= this.rv;
  }

  liveAdd(dot: string): CartAdd | undefined {
    const e = this.alog.entries.get(dot);
    return e === undefined || e.at > this.av || this.isRemoved(dot) ? undefined : e;
  }

  /** Calls `fn` for every live add, in arrival order. */
  forEachLive(fn: (dot: string, add: CartAdd) => void): void {
    if (this.liveCount === 0) return;
    const av = this.av;
    for (const [dot, e] of this.alog.entries) if (e.at <= av && !this.isRemoved(dot)) fn(dot, e);
  }

  forEachRemoved(fn: (dot: string) => void): void {
    if (this.removedCount === 0) return;
    const rv = this.rv;
    for (const [dot, w] of this.rlog.at) if (w <= rv) fn(dot);
  }

  /** The live adds by dot, in arrival order (a copy; for tests and inspection). */
  get adds(): ReadonlyMap<string, CartAdd> {
    const out = new Map<string, CartAdd>();
    this.forEachLive((dot, add) => out.set(dot, { item: add.item, qty: add.qty }));
    return out;
  }

  /** Dot ids of removed adds (a copy). The payload of a removed add is gone; its id stays so it never revives. */
  get removed(): ReadonlySet<string> {
    const out = new Set<string>();
    this.forEachRemoved((dot) => out.add(dot));
    return out;
  }
}

/** A state of its own logs holding `adds` (in that order) less `removed`, and `removed`. */
function buildState(adds: Iterable<readonly [string, CartAdd]>, removed: Iterable<string>): CartState {
  const rlog = new RemovedLog();
  for (const d of removed) rlog.at.set(d, 0);
  const alog = new AddsLog();
  for (const [dot, add] of adds) {
    if (rlog.at.has(dot)) continue;
    const prior = alog.entries.get(dot);
    if (prior === undefined || larger(add, prior)) alog.entries.set(dot, { item: add.item, qty: add.qty, at: 0 });
  }
  return new CartState(alog, 0, rlog, 0, true, alog.entries.size, rlog.at.size);
}

export const emptyCart: CartState = buildState([], []);

/** The dot id format the coordinator mints. */
export function cartDotId(nodeId: string, bootNonce: string, counter: number): string {
  return `${nodeId}:${bootNonce}:${counter}`;
}

function checkQty(qty: number): void {
  if (!Number.isSafeInteger(qty) || qty < 1) throw new RangeError(`cart quantity must be a positive integer, got ${qty}`);
}

/** One dot is one add, so both sides agree; if a faulty minting ever clashed, the canonically larger wins. */
function larger(add: CartAdd, than: CartAdd): boolean {
  return add.item > than.item || (add.item === than.item && add.qty > than.qty);
}

/** A state holding just one add: what a coordinator ships to replicas. */
export function cartAddDelta(item: string, qty: number, dotId: string): CartState {
  checkQty(qty);
  return buildState([[dotId, { item, qty }]], []);
}

export function cartAdd(state: CartState, item: string, qty: number, dotId: string): CartState {
  return cartMerge(state, cartAddDelta(item, qty, dotId));
}

/** The live add dots of one item, sorted: what a read observed and a later remove may name. */
export function cartObserved(state: CartState, item: string): string[] {
  const out: string[] = [];
  state.forEachLive((dot, add) => {
    if (add.item === item) out.push(dot);
  });
  return out.sort();
}

/** Every item's live add dots (items with none omitted), for the context of a cart read. */
export function cartObservedAll(state: CartState): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  state.forEachLive((dot, add) => (out[add.item] ??= []).push(dot));
  for (const dots of Object.values(out)) dots.sort();
  return out;
}

/**
 * A remove as a delta: exactly the observed dots. `item` is kept in the signature for symmetry with the
 * API (a remove of "apples" names apple dots); dots of other items are never produced by a correct read,
 * and removing them anyway would only remove what the client itself observed.
 */
export function cartRemoveDelta(_item: string, observedDots: readonly string[]): CartState {
  return buildState([], observedDots);
}

export function cartRemove(state: CartState, item: string, observedDots: readonly string[]): CartState {
  return cartMerge(state, cartRemoveDelta(item, observedDots));
}

/** The adds' share of the value hash for one add. */
function addHash(dot: string, add: CartAdd): bigint {
  return BigInt(`0x${sha256Hex(JSON.stringify([dot, add.item, add.qty]))}`);
}

/** The removed dots' share of the value hash for one removed dot (a distinct domain from the adds'). */
function removedDotHash(dot: string): bigint {
  return BigInt(`0x${sha256Hex(JSON.stringify(['removed', dot]))}`);
}

/**
 * Union of adds and of removed dots; removed adds are dropped. Costs O(what `b` holds), not O(what `a`
 * holds), when `a` is the newest version of its logs (a replica's stored cart, the usual case): the new
 * adds and removed dots are appended there. Returns `a` itself when `b` brings nothing new.
 */
export function cartMerge(a: CartState, b: CartState): CartState {
  if (a === b || cartIsEmpty(b)) return a;
  if (cartIsEmpty(a)) return b;
  // What b brings: removed dots a lacks, live adds a neither holds nor removed.
  const newRemoved: string[] = [];
  // A view of the same log at an older or equal version removes nothing a does not (a decoded copy).
  if (!(b.rlog === a.rlog && b.rv <= a.rv)) {
    b.forEachRemoved((d) => {
      if (!a.isRemoved(d)) newRemoved.push(d);
    });
  }
  const newAdds: [string, CartAdd][] = [];
  let replaced: Map<string, CartAdd> | undefined;
  if (!(b.alog === a.alog && b.av <= a.av && b.rlog === a.rlog && b.rv <= a.rv)) {
    b.forEachLive((dot, add) => {
      if (a.isRemoved(dot)) return;
      const prior = a.liveAdd(dot);
      if (prior === undefined) newAdds.push([dot, add]);
      else if (larger(add, prior)) (replaced ??= new Map()).set(dot, add);
    });
  }
  if (newRemoved.length === 0 && newAdds.length === 0 && replaced === undefined) return a;
  const removedNow = newRemoved.length === 0 ? undefined : new Set(newRemoved);
  // a's live adds that b removes.
  const hidden: [string, CartAdd][] = [];
  for (const d of newRemoved) {
    const p = a.liveAdd(d);
    if (p !== undefined) hidden.push([d, p]);
  }

  let alog = a.alog;
  let av = a.av;
  const liveCount = a.liveCount - hidden.length + newAdds.length;
  // Removed adds stay in their log for the older versions; once they outnumber the live ones, the result
  // gets a log of its live adds only, so a churning cart's reads cost O(live adds), not O(adds ever made).
  const dead = hidden.length > 0 && alog.entries.size > 2 * liveCount + 64;
  if (replaced !== undefined || dead || (newAdds.length > 0 && alog.head !== av)) {
    // Not the newest version (or a clashing dot changes an add's payload): copy what a sees.
    alog = new AddsLog();
    av = 0;
    a.forEachLive((dot, add) => {
      if (removedNow?.has(dot)) return;
      const r = replaced?.get(dot) ?? add;
      alog.entries.set(dot, { item: r.item, qty: r.qty, at: 0 });
    });
    for (const [dot, add] of newAdds) alog.entries.set(dot, { item: add.item, qty: add.qty, at: 0 });
  } else if (newAdds.length > 0) {
    av = ++alog.head;
    for (const [dot, add] of newAdds) alog.entries.set(dot, { item: add.item, qty: add.qty, at: av });
  }

  let rlog = a.rlog;
  let rv = a.rv;
  let owns = a.ownsRemoved;
  if (newRemoved.length > 0) {
    if (!owns || rlog.head !== rv) {
      const copy = new RemovedLog();
      a.forEachRemoved((d) => copy.at.set(d, 0));
      for (const d of newRemoved) copy.at.set(d, 0);
      rlog = copy;
      rv = 0;
      owns = true;
    } else {
      rv = ++rlog.head;
      for (const d of newRemoved) rlog.at.set(d, rv);
    }
  }

  const result = new CartState(alog, av, rlog, rv, owns, liveCount, a.removedCount + newRemoved.length);
  if (a.addsSum !== undefined) {
    let sum = a.addsSum;
    for (const [dot, add] of newAdds) sum += addHash(dot, add);
    for (const [dot, add] of hidden) sum -= addHash(dot, add);
    if (replaced !== undefined) {
      for (const [dot, add] of replaced) {
        if (removedNow?.has(dot)) continue;
        sum += addHash(dot, add) - addHash(dot, a.liveAdd(dot) as CartAdd);
      }
    }
    result.addsSum = sum & mask256;
  }
  if (a.removedSum !== undefined) {
    let sum = a.removedSum;
    for (const d of newRemoved) sum += removedDotHash(d);
    result.removedSum = sum & mask256;
  }
  if (newRemoved.length === 0) {
    result.removedEnc = a.removedEnc;
    result.removedEncFrom = a.removedEncFrom;
  } else if (a.removedEnc !== undefined) {
    result.removedEncFrom = { base: a.removedEnc, added: { dots: newRemoved, earlier: undefined } };
  } else if (a.removedEncFrom !== undefined) {
    result.removedEncFrom = { base: a.removedEncFrom.base, added: { dots: newRemoved, earlier: a.removedEncFrom.added } };
  }
  const effective: [string, CartAdd][] = replaced === undefined ? newAdds : [...newAdds, ...replaced];
  result.derivation = { parentId: a.id, adds: effective, removed: newRemoved };
  return result;
}

/**
 * What `state` adds to the state whose `id` is `parentId` when it was made by merging something into that
 * state: the adds and removed dots it gained, as a small state of its own. A store holding the parent can
 * then append that delta instead of writing the whole cart again. Undefined when `state` was not made from it.
 */
export function cartDeltaSince(state: CartState, parentId: number): CartState | undefined {
  const d = state.derivation;
  if (d === undefined || d.parentId !== parentId) return undefined;
  return buildState(d.adds, d.removed);
}

/**
 * What a replica holding `have` lacks of `target`: target's removed dots it has not, and target's live adds
 * it neither holds nor removed. Merging it into `have` gives what merging `target` would.
 */
export function cartMissing(target: CartState, have: CartState): CartState {
  const removed: string[] = [];
  target.forEachRemoved((d) => {
    if (!have.isRemoved(d)) removed.push(d);
  });
  const adds: [string, CartAdd][] = [];
  target.forEachLive((dot, add) => {
    if (have.isRemoved(dot)) return;
    const prior = have.liveAdd(dot);
    if (prior === undefined || larger(add, prior)) adds.push([dot, add]);
  });
  return buildState(adds, removed);
}

/** Quantity per item: the sum over its live adds; items with no live add are absent. */
export function cartItems(state: CartState): Record<string, number> {
  const out: Record<string, number> = {};
  state.forEachLive((_dot, add) => {
    out[add.item] = (out[add.item] ?? 0) + add.qty;
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function cartIsEmpty(state: CartState): boolean {
  return state.liveCount === 0 && state.removedCount === 0;
}

/**
 * Whether two states have the same encoding. The encoding is canonical and injective (live adds sorted by
 * dot; removed dots as a set, in sorted ranges), so comparing live adds and removed sets directly is
 * equivalent to comparing encodings, without building and stringifying both of them.
 */
export function cartEqual(a: CartState, b: CartState): boolean {
  if (a === b) return true;
  if (a.liveCount !== b.liveCount || a.removedCount !== b.removedCount) return false;
  const sameRemoved = a.rlog === b.rlog && a.rv === b.rv;
  if (sameRemoved && a.alog === b.alog && a.av === b.av) return true;
  let equal = true;
  if (!sameRemoved) {
    a.forEachRemoved((d) => {
      if (equal && !b.isRemoved(d)) equal = false;
    });
  }
  if (!equal) return false;
  a.forEachLive((dot, add) => {
    if (!equal) return;
    const other = b.liveAdd(dot);
    if (other === undefined || other.item !== add.item || other.qty !== add.qty) equal = false;
  });
  return equal;
}

/**
 * The value hash anti-entropy compares (the same on every replica holding the same state): the sha256 of
 * the sum (mod 2^256) of the live adds' hashes and of the sum of the removed dots' hashes. Both sums are
 * kept as the cart changes (a write adds the hashes of what it brought, and takes away those of the adds
 * it removed), so hashing a stored cart after a write costs O(the write), not O(the cart or its history).
 * The sums are computed whole only for a state that came from elsewhere (a decoded encoding).
 */
export function cartHash(state: CartState): string {
  if (state.addsSum === undefined) {
    let sum = 0n;
    state.forEachLive((dot, add) => {
      sum += addHash(dot, add);
    });
    state.addsSum = sum & mask256;
  }
  if (state.removedSum === undefined) {
    let sum = 0n;
    state.forEachRemoved((dot) => {
      sum += removedDotHash(dot);
    });
    state.removedSum = sum & mask256;
  }
  return sha256Hex(`cart:${state.addsSum.toString(16)}:${state.removedSum.toString(16)}`);
}

// ---- Encoding ---------------------------------------------------------------------------------------

/**
 * The JSON form. Removed dots are stored compactly: grouped by their `${node}:${nonce}` prefix, with the
 * counters as sorted inclusive ranges, because a busy cart's removed set is mostly runs of counters.
 * Removed ids that do not end in a counter are listed verbatim.
 */
export interface CartJson {
  a: [dot: string, item: string, qty: number][];
  r: Record<string, [from: number, to: number][]>;
  x: string[];
}

/**
 * Whether `s[from..]` is a canonical decimal counter: "0", or 1 to 15 digits without a leading zero (the
 * same set as /^(0|[1-9][0-9]{0,14})$/, checked without a regex because this runs for every removed dot).
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

/** Sorts removed dots into counters by `${node}:${nonce}` prefix and verbatim ids, as the encoding groups them. */
function groupRemoved(dots: Iterable<string>, groups: Map<string, number[]>, x: string[]): void {
  for (const dot of dots) {
    const i = dot.lastIndexOf(':');
    if (i <= 0 || !isCounter(dot, i + 1)) {
      x.push(dot);
      continue;
    }
    const prefix = dot.slice(0, i);
    let list = groups.get(prefix);
    if (list === undefined) groups.set(prefix, (list = []));
    list.push(Number(dot.slice(i + 1)));
  }
}

/** Sorted, coalesced inclusive ranges covering `ranges` (sorted, disjoint) and `counters` (none in them). */
function addCounters(ranges: readonly (readonly [number, number])[], counters: number[]): [number, number][] {
  counters.sort((p, q) => p - q);
  const out: [number, number][] = [];
  const push = (from: number, to: number): void => {
    const last = out[out.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  };
  let i = 0;
  let j = 0;
  while (i < ranges.length || j < counters.length) {
    const range = ranges[i];
    const c = counters[j];
    if (range !== undefined && (c === undefined || range[0] <= c)) {
      push(range[0], range[1]);
      i++;
    } else if (c !== undefined) {
      push(c, c);
      j++;
    }
  }
  return out;
}

function freezeRemovedEncoding(e: { r: Record<string, [number, number][]>; x: string[] }): RemovedEncoding {
  for (const ranges of Object.values(e.r)) {
    for (const range of ranges) Object.freeze(range);
    Object.freeze(ranges);
  }
  Object.freeze(e.r);
  Object.freeze(e.x);
  return e;
}

/**
 * The removed part of a state's encoding. Derived from the encoding of the state it was merged from when
 * that was known: a busy cart's removed set only grows, by a few dots per write, so the new ranges cost
 * O(ranges) instead of O(removed dots). Untouched range lists are shared with the base (both frozen).
 */
function removedEncoding(state: CartState): RemovedEncoding {
  if (state.removedEnc !== undefined) return state.removedEnc;
  let e: RemovedEncoding;
  const from = state.removedEncFrom;
  if (from !== undefined) {
    const added: string[] = [];
    for (let link: AddedDots | undefined = from.added; link !== undefined; link = link.earlier) for (const d of link.dots) added.push(d);
    e = deriveRemoved(from.base, added);
  } else {
    const groups = new Map<string, number[]>();
    const x: string[] = [];
    const dots: string[] = [];
    state.forEachRemoved((d) => dots.push(d));
    groupRemoved(dots, groups, x);
    const r: Record<string, [number, number][]> = {};
    for (const prefix of [...groups.keys()].sort()) r[prefix] = addCounters([], groups.get(prefix) as number[]);
    e = freezeRemovedEncoding({ r, x: x.sort() });
  }
  state.removedEnc = e;
  state.removedEncFrom = undefined;
  return e;
}

function deriveRemoved(base: RemovedEncoding, added: readonly string[]): RemovedEncoding {
  if (added.length === 0) return base;
  const groups = new Map<string, number[]>();
  const newX: string[] = [];
  groupRemoved(added, groups, newX);
  const x = newX.length === 0 ? (base.x as string[]) : [...base.x, ...newX].sort();
  if (groups.size === 0) return freezeRemovedEncoding({ r: base.r as Record<string, [number, number][]>, x });
  const prefixes = new Set<string>(Object.keys(base.r));
  for (const prefix of groups.keys()) prefixes.add(prefix);
  const r: Record<string, [number, number][]> = {};
  for (const prefix of [...prefixes].sort()) {
    const counters = groups.get(prefix);
    const old = base.r[prefix];
    r[prefix] = counters === undefined ? (old as [number, number][]) : addCounters(old ?? [], counters);
  }
  return freezeRemovedEncoding({ r, x });
}

/**
 * The encodings built here, mapped back to their state, and the states decoded from such encodings. An
 * encoding that never left this process (a simulated peer's message, a message a node sends itself) then
 * decodes without expanding its removed ranges into dot ids again, which grows with the cart's history;
 * forms parsed off the wire are fresh objects and never found here.
 */
const stateOfJson = new WeakMap<CartJson, CartState>();
const decodedOfJson = new WeakMap<object, CartState>();

/** The encoding, computed once per state and shared; deep-frozen so that no holder can change it for the others. */
export function cartToJson(state: CartState): CartJson {
  if (state.json !== undefined) return state.json;
  const a: [string, string, number][] = [];
  state.forEachLive((dot, add) => a.push([dot, add.item, add.qty]));
  a.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (const e of a) Object.freeze(e);
  Object.freeze(a);
  const removed = removedEncoding(state);
  const json = Object.freeze({ a, r: removed.r, x: removed.x }) as CartJson;
  state.json = json;
  stateOfJson.set(json, state);
  return json;
}

/**
 * The state `cartFromJson` would build from `json`, an encoding of `source` made here: the removed log is
 * shared (read-only for the copy: `ownsRemoved` false), and the adds are rebuilt from the encoding's sorted
 * list, so that their order, which later reads see (cartObservedAll), is that of a decoded state too.
 */
function fromKnownJson(json: CartJson, source: CartState): CartState {
  const alog = new AddsLog();
  for (const [dot, item, qty] of json.a) alog.entries.set(dot, { item, qty, at: 0 });
  const state = new CartState(alog, 0, source.rlog, source.rv, false, source.liveCount, source.removedCount);
  state.json = json;
  state.removedEnc = removedEncoding(source);
  state.addsSum = source.addsSum;
  state.removedSum = source.removedSum;
  return state;
}

function malformed(why: string): never {
  throw new Error(`malformed cart encoding: ${why}`);
}

/** The largest number of removed dots one range may expand to; guards against hostile encodings. */
const maxRangeSpan = 1_000_000;

export function cartFromJson(json: unknown): CartState {
  if (typeof json !== 'object' || json === null) malformed('not an object');
  const decoded = decodedOfJson.get(json);
  if (decoded !== undefined) return decoded;
  const source = stateOfJson.get(json as CartJson);
  if (source !== undefined) {
    const state = fromKnownJson(json as CartJson, source);
    decodedOfJson.set(json, state);
    return state;
  }
  const j = json as Partial<Record<keyof CartJson, unknown>>;
  if (!Array.isArray(j.a) || typeof j.r !== 'object' || j.r === null || Array.isArray(j.r) || !Array.isArray(j.x)) {
    malformed('missing adds, removed ranges or removed ids');
  }
  const removed = new Set<string>();
  for (const d of j.x as unknown[]) {
    if (typeof d !== 'string') malformed('removed id is not a string');
    removed.add(d);
  }
  for (const [prefix, ranges] of Object.entries(j.r as Record<string, unknown>)) {
    if (!Array.isArray(ranges)) malformed('removed ranges are not a list');
    for (const range of ranges as unknown[]) {
      if (!Array.isArray(range) || range.length !== 2 || !range.every((c) => Number.isSafeInteger(c) && c >= 0)) malformed('bad range');
      const [from, to] = range as [number, number];
      if (to < from || to - from > maxRangeSpan) malformed('range out of order or too wide');
      for (let c = from; c <= to; c++) removed.add(`${prefix}:${c}`);
    }
  }
  const adds: [string, CartAdd][] = [];
  for (const e of j.a as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== 'string' || typeof e[1] !== 'string') malformed('bad add');
    const [dot, item, qty] = e as [string, string, unknown];
    if (!Number.isSafeInteger(qty) || (qty as number) < 1) malformed('add quantity is not a positive integer');
    adds.push([dot, { item, qty: qty as number }]);
  }
  return buildState(adds, removed);
}

export function encodeCart(state: CartState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(cartToJson(state)));
}

/** Decodes `encodeCart` output; throws on malformed bytes (a definite error: nothing is applied). */
export function decodeCart(bytes: Uint8Array): CartState {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    malformed(`not JSON (${(err as Error).message})`);
  }
  return cartFromJson(json);
}
