// The shopping cart of the Dynamo paper as a CRDT: an add-wins observed-remove map from item to quantity.
// Every add is a unique dot carrying (item, qty); a remove names the dots it observed and takes away
// exactly those. An add the remover never saw (concurrent, or later) therefore survives, and merging is a
// union of adds and a union of removed dots, which is commutative, associative and idempotent.
//
// Dot ids are minted by the coordinator as `${nodeId}:${bootNonce}.${stream}:${counter}` (actor-ids.ts), the
// nonce drawn from the environment's random source at start, so a restarted node never reuses an id it
// minted before a crash, and the counter counting this key's adds alone, so removed dots form runs.
//
// Representation. A state is an immutable value, but a replica's cart grows by one small delta per write,
// and copying the whole cart for each of them made every add cost more than the last. So the adds of a
// state live in an append-only log, each entry stamped with the version that brought it and, once a merge
// into the newest version removes it, the version that removed it; a state is a view (log, version) and
// sees exactly the entries brought at or below its version and not removed by then. Merging into the
// newest version of the log appends to it (O(delta)) and yields the next version; older views stay exactly
// what they were. Merging into an older view (its log has moved on) copies what that view sees first, so
// correctness never depends on who else holds a state. The removed dots are an immutable set of counter
// ranges per `${node}:${nonce}` prefix (the form the encoding stores), shared between states: a merge,
// a comparison or a hash costs O(ranges), not O(dots ever removed), and a node mints a key's dots from a
// counter of that key's own, so a cart's removed dots stay a few runs however long its history.
import { KeyHashMemo, sha256Hex } from './hash.js';
import { type ParsedDot, type Range, RemovedDots, parseDot } from './removed-dots.js';

export interface CartAdd {
  readonly item: string;
  readonly qty: number;
}

interface AddEntry extends CartAdd {
  readonly dot: string;
  /** The version of its log that brought this add. */
  readonly at: number;
  /**
   * The version of its log whose merge removed this add (Infinity while no merge on the log's newest
   * version has): a view at `av` sees it live iff `at <= av < deadAt`, which is exactly "not in the
   * view's removed set" (see cartMerge), so iterating a view's live adds needs no removed-set lookup.
   */
  deadAt: number;
  /** Its dot, parsed once, for lookups in removed sets. */
  readonly parsed: ParsedDot;
  /**
   * Its share of the value hash (`addHash`), once computed. A delta decoded once is merged by every
   * replica in this process, so each add is hashed once rather than once per replica and per merge.
   */
  h: bigint | undefined;
  /** Its row of the encoding's add list (`cartToJson`), frozen, once built: the payload never changes. */
  row: readonly [dot: string, item: string, qty: number] | undefined;
}

/** Every add of one chain of versions, in the order they arrived (append-only). */
class AddsLog {
  readonly entries = new Map<string, AddEntry>();
  head = 0;

  set(dot: string, add: CartAdd, at: number, parsed: ParsedDot = parseDot(dot)): void {
    const known = add as Partial<AddEntry>;
    this.entries.set(dot, { dot, item: add.item, qty: add.qty, at, deadAt: Infinity, parsed, h: known.h, row: known.row });
  }
}

/** What a merge added to the state it extended: the effective delta, kept for the store to append it. */
interface Derivation {
  readonly parentId: number;
  readonly adds: readonly AddEntry[];
  readonly removed: RemovedDots;
  /**
   * The merged-in state itself when the delta is exactly it (everything it held was new: the usual write
   * of a fresh add or remove). The encoding is canonical, so it encodes as the delta would, and every
   * replica handed the same decoded delta then shares its one encoding.
   */
  readonly whole: CartState | undefined;
}

const mask256 = (1n << 256n) - 1n;
let nextStateId = 0;

export class CartState {
  /** Identity for derivations (see `cartDeltaSince`): compared only, never shown or stored. */
  readonly id = ++nextStateId;
  /** The encoding, once built (frozen, shared by every holder). */
  json: CartJson | undefined = undefined;
  /** Sum (mod 2^256) of the sha256 of every live add: the adds' part of the value hash, kept incrementally. */
  addsSum: bigint | undefined = undefined;
  derivation: Derivation | undefined = undefined;
  /** The live adds in iteration order, once listed (they never change for this state). */
  private liveList: readonly AddEntry[] | undefined;

  constructor(
    readonly alog: AddsLog,
    readonly av: number,
    /** The removed dots (immutable, shared). */
    readonly removedDots: RemovedDots,
    /** Adds not removed (what the encoding lists). */
    readonly liveCount: number,
    /**
     * The live adds in an order of their own rather than the log's (a decoded view, `fromKnownJson`): it
     * shares another state's log and sees what that state sees, in its encoding's order. Merging into it
     * copies (the log's order is not its order).
     */
    order?: readonly AddEntry[],
  ) {
    this.liveList = order;
    this.ordered = order !== undefined;
  }

  /** Whether this state iterates in an order of its own (see the constructor); such a log is never appended to. */
  readonly ordered: boolean;

  /** The live adds in iteration order (arrival order, or the view's own): listed once per state. */
  live(): readonly AddEntry[] {
    if (this.liveList !== undefined) return this.liveList;
    const out: AddEntry[] = [];
    if (this.liveCount > 0) {
      const av = this.av;
      for (const e of this.alog.entries.values()) if (e.at <= av && e.deadAt > av) out.push(e);
    }
    return (this.liveList = out);
  }

  get removedCount(): number {
    return this.removedDots.count;
  }

  isRemoved(dot: string): boolean {
    return this.removedDots.has(dot);
  }

  /** The live add of `dot`, if any. */
  liveAdd(dot: string): AddEntry | undefined {
    const e = this.alog.entries.get(dot);
    return e === undefined || e.at > this.av || e.deadAt <= this.av ? undefined : e;
  }

  /**
   * The add of `dot` this version sees, whether or not it is removed: `liveAdd` for a caller that already
   * knows the dot is not in this state's removed set (a merge checks that first), without a second lookup.
   */
  visibleAdd(dot: string): AddEntry | undefined {
    const e = this.alog.entries.get(dot);
    return e === undefined || e.at > this.av ? undefined : e;
  }

  /** Calls `fn` for every live add, in iteration order. */
  forEachLive(fn: (dot: string, add: AddEntry) => void): void {
    for (const e of this.live()) fn(e.dot, e);
  }

  /** Calls `fn` for every removed dot: O(dots), for tests and inspection. */
  forEachRemoved(fn: (dot: string) => void): void {
    this.removedDots.forEach(fn);
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

/** A state of its own log holding `adds` (in that order) less `removed`, and `removed`. */
function buildState(adds: Iterable<readonly [string, CartAdd]>, removed: RemovedDots): CartState {
  const alog = new AddsLog();
  for (const [dot, add] of adds) {
    const parsed = (add as Partial<AddEntry>).parsed ?? parseDot(dot);
    if (removed.hasParsed(parsed, dot)) continue;
    const prior = alog.entries.get(dot);
    if (prior === undefined || larger(add, prior)) alog.set(dot, add, 0, parsed);
  }
  return new CartState(alog, 0, removed, alog.entries.size);
}

export const emptyCart: CartState = buildState([], RemovedDots.empty);

/**
 * A dot id as the coordinator mints it (actor-ids.ts): `stream` is everything between the node id and the
 * counter (the boot nonce and the key's stream), for tests that build dots by hand.
 */
export function cartDotId(nodeId: string, stream: string, counter: number): string {
  return `${nodeId}:${stream}:${counter}`;
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
  return buildState([[dotId, { item, qty }]], RemovedDots.empty);
}

export function cartAdd(state: CartState, item: string, qty: number, dotId: string): CartState {
  return cartMerge(state, cartAddDelta(item, qty, dotId));
}

/** The live add dots of one item, sorted: what a read observed and a later remove may name. */
export function cartObserved(state: CartState, item: string): string[] {
  const out: string[] = [];
  for (const e of state.live()) if (e.item === item) out.push(e.dot);
  return out.sort();
}

/** Every item's live add dots (items with none omitted), for the context of a cart read. */
export function cartObservedAll(state: CartState): Record<string, string[]> {
  return cartView(state).observed;
}

/**
 * A remove as a delta: exactly the observed dots. `item` is kept in the signature for symmetry with the
 * API (a remove of "apples" names apple dots); dots of other items are never produced by a correct read,
 * and removing them anyway would only remove what the client itself observed.
 */
export function cartRemoveDelta(_item: string, observedDots: readonly string[]): CartState {
  return buildState([], RemovedDots.of(observedDots));
}

export function cartRemove(state: CartState, item: string, observedDots: readonly string[]): CartState {
  return cartMerge(state, cartRemoveDelta(item, observedDots));
}

/** The adds' share of the value hash for one add (kept on the entry; its payload never changes). */
function addHash(dot: string, add: AddEntry): bigint {
  return (add.h ??= BigInt(`0x${sha256Hex(JSON.stringify([dot, add.item, add.qty]))}`));
}

/**
 * Union of adds and of removed dots; removed adds are dropped. Costs O(what `b` holds, its removed dots
 * counted as ranges), not O(what `a` holds), when `a` is the newest version of its log (a replica's stored
 * cart, the usual case): the new adds are appended there, and the removed set shares every range list
 * `b` does not extend. Returns `a` itself when `b` brings nothing new.
 */
export function cartMerge(a: CartState, b: CartState): CartState {
  if (a === b || cartIsEmpty(b)) return a;
  if (cartIsEmpty(a)) return b;
  // What b brings: removed dots a lacks, live adds a neither holds nor removed.
  const union = a.removedDots.union(b.removedDots);
  const newRemoved = union?.added ?? RemovedDots.empty;
  const newAdds: AddEntry[] = [];
  let replaced: Map<string, AddEntry> | undefined;
  // A view of the same log at an older or equal version brings no add a lacks (a decoded copy of a).
  if (!(b.alog === a.alog && b.av <= a.av)) {
    const aRemoved = a.removedDots;
    for (const add of b.live()) {
      if (aRemoved.hasParsed(add.parsed, add.dot)) continue;
      const prior = a.visibleAdd(add.dot);
      if (prior === undefined) newAdds.push(add);
      else if (larger(add, prior)) (replaced ??= new Map()).set(add.dot, add);
    }
  }
  if (union === undefined && newAdds.length === 0 && replaced === undefined) return a;
  // a's live adds that b removes: found from whichever side is smaller.
  const hidden: AddEntry[] = [];
  if (newRemoved.count > 0) {
    if (newRemoved.count <= a.liveCount) {
      newRemoved.forEach((d) => {
        const p = a.liveAdd(d);
        if (p !== undefined) hidden.push(p);
      });
    } else {
      for (const add of a.live()) if (newRemoved.hasParsed(add.parsed, add.dot)) hidden.push(add);
    }
  }
  const removedDots = union?.set ?? a.removedDots;

  let alog = a.alog;
  let av = a.av;
  const liveCount = a.liveCount - hidden.length + newAdds.length;
  // Removed adds stay in their log for the older versions; once they outnumber the live ones, the result
  // gets a log of its live adds only, so a churning cart's reads cost O(live adds), not O(adds ever made).
  const dead = hidden.length > 0 && alog.entries.size > 2 * liveCount + 16;
  const grows = newAdds.length > 0 || hidden.length > 0;
  if (replaced !== undefined || dead || (grows && (alog.head !== av || a.ordered))) {
    // Not the newest version, a view in an order of its own, or a clashing dot changes an add's payload:
    // copy what a sees, in its order.
    alog = new AddsLog();
    av = 0;
    for (const add of a.live()) {
      if (newRemoved.hasParsed(add.parsed, add.dot)) continue;
      alog.set(add.dot, replaced?.get(add.dot) ?? add, 0, add.parsed);
    }
    for (const add of newAdds) alog.set(add.dot, add, 0, add.parsed);
  } else if (grows) {
    // The newest version: append, and mark what b removes as gone from this version on (older views,
    // and siblings at this version, still see those adds: their removed sets do not hold them).
    av = ++alog.head;
    for (const add of newAdds) alog.set(add.dot, add, av, add.parsed);
    for (const add of hidden) add.deadAt = av;
  }

  // A view's order is not its log's: a result sharing that log (it brought removed dots that hide nothing) keeps it.
  const result = new CartState(alog, av, removedDots, liveCount, alog === a.alog && a.ordered ? a.live() : undefined);
  if (a.addsSum !== undefined) {
    let sum = a.addsSum;
    for (const add of newAdds) sum += addHash(add.dot, add);
    for (const add of hidden) sum -= addHash(add.dot, add);
    if (replaced !== undefined) {
      for (const [dot, add] of replaced) {
        if (newRemoved.hasParsed(add.parsed, dot)) continue;
        sum += addHash(dot, add) - addHash(dot, a.liveAdd(dot) as AddEntry);
      }
    }
    result.addsSum = sum & mask256;
  }
  const effective = replaced === undefined ? newAdds : [...newAdds, ...replaced.values()];
  // All of b's live adds and removed dots were new: the delta is b (as a set, hence as an encoding).
  const whole = replaced === undefined && newAdds.length === b.liveCount && newRemoved.count === b.removedDots.count ? b : undefined;
  result.derivation = { parentId: a.id, adds: effective, removed: newRemoved, whole };
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
  return d.whole ?? buildState(d.adds.map((e) => [e.dot, e] as const), d.removed);
}

/**
 * What a replica holding `have` lacks of `target`: target's removed dots it has not, and target's live adds
 * it neither holds nor removed. Merging it into `have` gives what merging `target` would.
 */
export function cartMissing(target: CartState, have: CartState): CartState {
  const removed = target.removedDots.minus(have.removedDots);
  const adds: [string, AddEntry][] = [];
  for (const add of target.live()) {
    if (have.removedDots.hasParsed(add.parsed, add.dot)) continue;
    const prior = have.visibleAdd(add.dot);
    if (prior === undefined || larger(add, prior)) adds.push([add.dot, add]);
  }
  return buildState(adds, removed);
}

/** Quantity per item: the sum over its live adds; items with no live add are absent. */
export function cartItems(state: CartState): Record<string, number> {
  return cartView(state).items;
}

/**
 * Sorts `a` in place by `key` (code-unit order, as the default sort and `<` compare strings). The lists
 * sorted on a request's path (a cart's live adds, an item's dots, its items) hold a handful of entries,
 * for which an insertion sort costs a fraction of Array.prototype.sort with a comparator.
 */
function sortBy<T>(a: T[], key: (x: T) => string): T[] {
  if (a.length > 24) return a.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  for (let i = 1; i < a.length; i++) {
    const v = a[i] as T;
    const k = key(v);
    let j = i - 1;
    while (j >= 0 && key(a[j] as T) > k) {
      a[j + 1] = a[j] as T;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

const self = (x: string): string => x;
const first = (x: readonly [string, ...unknown[]]): string => x[0];

/** Sets `o[k]`, as an own property even when `k` is "__proto__" (an item name is any string). */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * `cartItems` and `cartObservedAll` of one state, in one pass over its live adds (a read answers both):
 * items in sorted order; observed dots sorted per item, items in the order of their first live add.
 * Gathered in maps, since an item may be named like a property every object has ("constructor",
 * "__proto__"), and made own properties of plain objects.
 */
export function cartView(state: CartState): { items: Record<string, number>; observed: Record<string, string[]> } {
  const qty = new Map<string, number>();
  const byItem = new Map<string, string[]>();
  for (const e of state.live()) {
    const dots = byItem.get(e.item);
    if (dots === undefined) {
      byItem.set(e.item, [e.dot]);
      qty.set(e.item, e.qty);
    } else {
      dots.push(e.dot);
      qty.set(e.item, (qty.get(e.item) as number) + e.qty);
    }
  }
  const observed: Record<string, string[]> = {};
  for (const [item, dots] of byItem) setOwn(observed, item, sortBy(dots, self));
  const items: Record<string, number> = {};
  for (const item of sortBy([...qty.keys()], self)) setOwn(items, item, qty.get(item) as number);
  return { items, observed };
}

export function cartIsEmpty(state: CartState): boolean {
  return state.liveCount === 0 && state.removedDots.count === 0;
}

/**
 * Whether two states have the same encoding. The encoding is canonical and injective (live adds sorted by
 * dot; removed dots as a set, in sorted ranges), so comparing live adds and removed sets directly is
 * equivalent to comparing encodings, without building and stringifying both of them.
 */
export function cartEqual(a: CartState, b: CartState): boolean {
  if (a === b) return true;
  if (a.liveCount !== b.liveCount || !a.removedDots.equals(b.removedDots)) return false;
  if (a.alog === b.alog && a.av === b.av) return true;
  // The removed sets are equal, so a dot live in a is not removed in b either.
  for (const add of a.live()) {
    const other = b.visibleAdd(add.dot);
    if (other === undefined || other.item !== add.item || other.qty !== add.qty) return false;
  }
  return true;
}

/** Value hashes computed lately: the replicas of a key reach equal states and hash each (bounded, cleared when full). */
const valueHashes = new KeyHashMemo(sha256Hex, 1 << 12);

/**
 * The value hash anti-entropy compares (the same on every replica holding the same state): the sha256 of
 * the sum (mod 2^256) of the live adds' hashes and of the removed set's hash sum (over its canonical
 * ranges, removed-dots.ts). Both are kept as the cart changes (a write adds the hashes of what it brought,
 * and takes away those of the adds it removed and of the ranges it joined), so hashing a stored cart after
 * a write costs O(the write), not O(the cart or its history). A decoded state computes them once, in
 * O(live adds + ranges).
 */
export function cartHash(state: CartState): string {
  if (state.addsSum === undefined) {
    let sum = 0n;
    for (const add of state.live()) sum += addHash(add.dot, add);
    state.addsSum = sum & mask256;
  }
  return valueHashes.get(`cart:${state.addsSum.toString(16)}:${state.removedDots.hashSum().toString(16)}`);
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
 * The encodings built here, mapped back to their state, and the states decoded from such encodings. An
 * encoding that never left this process (a simulated peer's message, a message a node sends itself) then
 * decodes without parsing its adds again; forms parsed off the wire are fresh objects and never found here.
 */
const origin: unique symbol = Symbol('cart encoding origin');

/**
 * Kept on the encoding itself, under a symbol (which JSON.stringify, for-in and Object.keys skip, and a
 * parsed form never has), rather than in WeakMaps: one is made per read reply and per write, and weak
 * maps that size cost the collector more than the lookups save.
 */
interface Origin {
  readonly source: CartState;
  decoded: CartState | undefined;
  /**
   * The encoding's JSON text, once built (what `encodeCart` stores): shared by the source and its decoded
   * view, so that a delta a coordinator stores itself and ships to the others is stringified once.
   */
  text: string | undefined;
}

function originOf(json: object): Origin | undefined {
  return Object.prototype.hasOwnProperty.call(json, origin) ? (json as { [origin]: Origin })[origin] : undefined;
}

/** The encoding, computed once per state and shared; deep-frozen so that no holder can change it for the others. */
export function cartToJson(state: CartState): CartJson {
  if (state.json !== undefined) return state.json;
  const a: (readonly [string, string, number])[] = [];
  for (const add of state.live()) a.push((add.row ??= Object.freeze([add.dot, add.item, add.qty] as const)));
  sortBy(a, first);
  Object.freeze(a);
  const json = { a, r: state.removedDots.record() as Record<string, Range[]>, x: state.removedDots.x } as unknown as CartJson;
  Object.defineProperty(json, origin, { value: { source: state, decoded: undefined, text: undefined } satisfies Origin });
  Object.freeze(json);
  state.json = json;
  return json;
}

/**
 * The state `cartFromJson` would build from `json`, an encoding of `source` made here: a view of the
 * source's log and removed set (neither changes for what the source sees), listing its live adds in the
 * encoding's sorted order, so that their order, which later reads see (cartView), is that of a decoded
 * state too. The encoding's rows are those entries' own rows, in that order.
 */
function fromKnownJson(json: CartJson, source: CartState): CartState {
  const entries = source.alog.entries;
  const order = json.a.map(([dot]) => entries.get(dot) as AddEntry);
  const state = new CartState(source.alog, source.av, source.removedDots, source.liveCount, order);
  state.json = json;
  state.addsSum = source.addsSum;
  return state;
}

function malformed(why: string): never {
  throw new Error(`malformed cart encoding: ${why}`);
}

/** The largest number of removed dots one range may hold; guards against hostile encodings. */
const maxRangeSpan = 1_000_000;

export function cartFromJson(json: unknown): CartState {
  if (typeof json !== 'object' || json === null) malformed('not an object');
  const known = originOf(json);
  if (known !== undefined) return (known.decoded ??= fromKnownJson(json as CartJson, known.source));
  const j = json as Partial<Record<keyof CartJson, unknown>>;
  if (!Array.isArray(j.a) || typeof j.r !== 'object' || j.r === null || Array.isArray(j.r) || !Array.isArray(j.x)) {
    malformed('missing adds, removed ranges or removed ids');
  }
  const removed = RemovedDots.fromEncoding(j.r as Record<string, unknown>, j.x as unknown[], maxRangeSpan, malformed);
  const adds: [string, CartAdd][] = [];
  for (const e of j.a as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== 'string' || typeof e[1] !== 'string') malformed('bad add');
    const [dot, item, qty] = e as [string, string, unknown];
    if (!Number.isSafeInteger(qty) || (qty as number) < 1) malformed('add quantity is not a positive integer');
    adds.push([dot, { item, qty: qty as number }]);
  }
  return buildState(adds, removed);
}

const utf8 = new TextEncoder();

/** The stored bytes; their JSON text is kept with the encoding (a fresh array each call: callers own it). */
export function encodeCart(state: CartState): Uint8Array {
  const json = cartToJson(state);
  const o = (json as unknown as { [origin]: Origin })[origin];
  return utf8.encode((o.text ??= JSON.stringify(json)));
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
