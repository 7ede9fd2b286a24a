// The shopping cart of the Dynamo paper as a CRDT: an add-wins observed-remove map from item to quantity.
// Every add is a unique dot carrying (item, qty); a remove names the dots it observed and takes away
// exactly those. An add the remover never saw (concurrent, or later) therefore survives, and merging is a
// union of adds and a union of removed dots, which is commutative, associative and idempotent.
//
// Dot ids are minted by the coordinator as `${nodeId}:${bootNonce}:${counter}`, the nonce drawn from the
// environment's random source at start, so a restarted node never reuses an id it minted before a crash.

export interface CartAdd {
  readonly item: string;
  readonly qty: number;
}

export interface CartState {
  /** Adds not (yet) known to be removed, by dot id. */
  readonly adds: ReadonlyMap<string, CartAdd>;
  /** Dot ids of removed adds. The payload of a removed add is dropped; its id must stay so it never revives. */
  readonly removed: ReadonlySet<string>;
}

export const emptyCart: CartState = Object.freeze({ adds: new Map<string, CartAdd>(), removed: new Set<string>() });

/** The dot id format the coordinator mints. */
export function cartDotId(nodeId: string, bootNonce: string, counter: number): string {
  return `${nodeId}:${bootNonce}:${counter}`;
}

function checkQty(qty: number): void {
  if (!Number.isSafeInteger(qty) || qty < 1) throw new RangeError(`cart quantity must be a positive integer, got ${qty}`);
}

/** A state holding just one add: what a coordinator ships to replicas. */
export function cartAddDelta(item: string, qty: number, dotId: string): CartState {
  checkQty(qty);
  return { adds: new Map([[dotId, { item, qty }]]), removed: new Set() };
}

export function cartAdd(state: CartState, item: string, qty: number, dotId: string): CartState {
  return cartMerge(state, cartAddDelta(item, qty, dotId));
}

/** The live add dots of one item, sorted: what a read observed and a later remove may name. */
export function cartObserved(state: CartState, item: string): string[] {
  const out: string[] = [];
  for (const [dot, add] of state.adds) if (add.item === item && !state.removed.has(dot)) out.push(dot);
  return out.sort();
}

/** Every item's live add dots (items with none omitted), for the context of a cart read. */
export function cartObservedAll(state: CartState): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [dot, add] of state.adds) {
    if (state.removed.has(dot)) continue;
    (out[add.item] ??= []).push(dot);
  }
  for (const dots of Object.values(out)) dots.sort();
  return out;
}

/**
 * A remove as a delta: exactly the observed dots. `item` is kept in the signature for symmetry with the
 * API (a remove of "apples" names apple dots); dots of other items are never produced by a correct read,
 * and removing them anyway would only remove what the client itself observed.
 */
export function cartRemoveDelta(_item: string, observedDots: readonly string[]): CartState {
  return { adds: new Map(), removed: new Set(observedDots) };
}

export function cartRemove(state: CartState, item: string, observedDots: readonly string[]): CartState {
  return cartMerge(state, cartRemoveDelta(item, observedDots));
}

/** Whether no add of `s` is also among its removed dots (every state this module builds is). */
function isNormalized(s: CartState): boolean {
  if (s.removed.size === 0) return true;
  for (const dot of s.adds.keys()) if (s.removed.has(dot)) return false;
  return true;
}

/** Whether merging `b` into `a` would change nothing: b's removed dots and adds are all already in `a`. */
function contributesNothing(a: CartState, b: CartState): boolean {
  if (b.removed.size > a.removed.size) return false;
  for (const d of b.removed) if (!a.removed.has(d)) return false;
  for (const [dot, add] of b.adds) {
    if (a.removed.has(dot)) continue;
    const prior = a.adds.get(dot);
    // The general merge keeps the canonically larger add of a clashing dot, so b must not be larger.
    if (prior === undefined || add.item > prior.item || (add.item === prior.item && add.qty > prior.qty)) return false;
  }
  return true;
}

/** Union of adds and of removed dots; removed adds are dropped from `adds`. */
export function cartMerge(a: CartState, b: CartState): CartState {
  // Fast paths: states are immutable values, so when one side adds nothing the other one *is* the result
  // (same adds in the same insertion order, same removed set). This is the common case on a busy cart
  // (read merges, repeated deliveries, anti-entropy), where copying a large removed set dominated.
  if (cartIsEmpty(a) && isNormalized(b)) return b;
  if (contributesNothing(a, b) && isNormalized(a)) return a;
  const removed = new Set<string>(a.removed);
  // When a's encoding is known, remember which removed dots are new, so the result's encoding can be
  // derived from it (see `derivations`) instead of being recomputed from every removed dot.
  const baseJson = jsonCache.get(a);
  const added: string[] = [];
  for (const d of b.removed) {
    if (removed.has(d)) continue;
    removed.add(d);
    if (baseJson !== undefined) added.push(d);
  }
  const adds = new Map<string, CartAdd>();
  for (const src of [a.adds, b.adds]) {
    for (const [dot, add] of src) {
      if (removed.has(dot)) continue;
      const prior = adds.get(dot);
      // One dot is one add, so both sides agree; if a faulty minting ever clashed, pick canonically.
      if (prior === undefined || add.item > prior.item || (add.item === prior.item && add.qty > prior.qty)) adds.set(dot, add);
    }
  }
  const result: CartState = { adds, removed };
  if (baseJson !== undefined) derivations.set(result, { base: baseJson, added });
  return result;
}

/** Quantity per item: the sum over its live adds; items with no live add are absent. */
export function cartItems(state: CartState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [dot, add] of state.adds) {
    if (state.removed.has(dot)) continue;
    out[add.item] = (out[add.item] ?? 0) + add.qty;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function cartIsEmpty(state: CartState): boolean {
  return state.adds.size === 0 && state.removed.size === 0;
}

/** The number of adds whose dot is not removed (what the encoding lists). */
function liveAddCount(s: CartState): number {
  if (s.removed.size === 0) return s.adds.size;
  let n = 0;
  for (const dot of s.adds.keys()) if (!s.removed.has(dot)) n++;
  return n;
}

/**
 * Whether two states have the same encoding. The encoding is canonical and injective (live adds sorted by
 * dot; removed dots as a set, in sorted ranges), so comparing live adds and removed sets directly is
 * equivalent to comparing encodings, without building and stringifying both of them.
 */
export function cartEqual(a: CartState, b: CartState): boolean {
  if (a === b) return true;
  if (a.removed.size !== b.removed.size) return false;
  for (const d of a.removed) if (!b.removed.has(d)) return false;
  if (liveAddCount(a) !== liveAddCount(b)) return false;
  for (const [dot, add] of a.adds) {
    if (a.removed.has(dot)) continue;
    const other = b.adds.get(dot);
    if (other === undefined || b.removed.has(dot) || other.item !== add.item || other.qty !== add.qty) return false;
  }
  return true;
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

/**
 * Encodings of states already encoded. States are immutable values and the same state object is encoded
 * again and again (every read reply of an unchanged key, every anti-entropy exchange), so the JSON form is
 * computed once per state and shared; it is deep-frozen so that no holder can change it for the others.
 */
const jsonCache = new WeakMap<CartState, CartJson>();

export function cartToJson(state: CartState): CartJson {
  const cached = jsonCache.get(state);
  if (cached !== undefined) return cached;
  const json = computeCartJson(state);
  for (const e of json.a) Object.freeze(e);
  Object.freeze(json.a);
  for (const ranges of Object.values(json.r)) {
    for (const range of ranges) Object.freeze(range);
    Object.freeze(ranges);
  }
  Object.freeze(json.r);
  Object.freeze(json.x);
  jsonCache.set(state, Object.freeze(json));
  removedOfJson.set(json, state.removed);
  return json;
}

/**
 * The way back from an encoding built here (and frozen, so unchanged) to its removed set, and the states
 * decoded from such encodings. An encoding that never left this process (a simulated peer's message, a
 * message a node sends itself) then decodes without expanding its removed ranges into dot ids again,
 * which grows with the cart's history; forms parsed off the wire are fresh objects and never found here.
 */
const removedOfJson = new WeakMap<CartJson, ReadonlySet<string>>();
const decodedOfJson = new WeakMap<object, CartState>();

/**
 * The state `cartFromJson` would build from `json`, an encoding of this module: the removed set is shared
 * (states are immutable), and the adds are rebuilt from the encoding's sorted list, so that their order,
 * which later reads see (cartObservedAll), is that of a decoded state too.
 */
function fromKnownJson(json: CartJson, removed: ReadonlySet<string>): CartState {
  const adds = new Map<string, CartAdd>();
  for (const [dot, item, qty] of json.a) adds.set(dot, { item, qty });
  const state: CartState = { adds, removed };
  jsonCache.set(state, json);
  return state;
}

/**
 * States made by cartMerge from a state whose encoding was known: that encoding and the removed dots the
 * merge added. A busy cart's removed set only grows, by a few dots per write, so deriving the new ranges
 * from the old ones costs O(ranges) instead of O(removed dots) for every write. Only the (compact, frozen)
 * encoding is held, never the older state itself.
 */
const derivations = new WeakMap<CartState, { readonly base: CartJson; readonly added: readonly string[] }>();

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

function liveAddsJson(state: CartState): [string, string, number][] {
  const a: [string, string, number][] = [];
  for (const [dot, add] of state.adds) if (!state.removed.has(dot)) a.push([dot, add.item, add.qty]);
  return a.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

function computeCartJson(state: CartState): CartJson {
  const derivation = derivations.get(state);
  if (derivation !== undefined) {
    derivations.delete(state);
    return deriveCartJson(state, derivation.base, derivation.added);
  }
  const a = liveAddsJson(state);
  const groups = new Map<string, number[]>();
  const x: string[] = [];
  groupRemoved(state.removed, groups, x);
  const r: Record<string, [number, number][]> = {};
  for (const prefix of [...groups.keys()].sort()) {
    const counters = (groups.get(prefix) as number[]).sort((p, q) => p - q);
    const ranges: [number, number][] = [];
    for (const c of counters) {
      const last = ranges[ranges.length - 1];
      if (last !== undefined && c === last[1] + 1) last[1] = c;
      else ranges.push([c, c]);
    }
    r[prefix] = ranges;
  }
  return { a, r, x: x.sort() };
}

/** The encoding of `state`, whose removed set is `base`'s plus `added` (dots not in `base`). */
function deriveCartJson(state: CartState, base: CartJson, added: readonly string[]): CartJson {
  const a = liveAddsJson(state);
  if (added.length === 0) return { a, r: base.r, x: base.x };
  const groups = new Map<string, number[]>();
  const newX: string[] = [];
  groupRemoved(added, groups, newX);
  const x = newX.length === 0 ? base.x : [...base.x, ...newX].sort();
  if (groups.size === 0) return { a, r: base.r, x };
  const prefixes = new Set<string>(Object.keys(base.r));
  for (const prefix of groups.keys()) prefixes.add(prefix);
  const r: Record<string, [number, number][]> = {};
  for (const prefix of [...prefixes].sort()) {
    const counters = groups.get(prefix);
    const old = base.r[prefix];
    // Untouched range lists are shared with the base encoding: both are frozen.
    r[prefix] = counters === undefined ? (old as [number, number][]) : addCounters(old ?? [], counters);
  }
  return { a, r, x };
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
  const knownRemoved = removedOfJson.get(json as CartJson);
  if (knownRemoved !== undefined) {
    const state = fromKnownJson(json as CartJson, knownRemoved);
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
  const adds = new Map<string, CartAdd>();
  for (const e of j.a as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== 'string' || typeof e[1] !== 'string') malformed('bad add');
    const [dot, item, qty] = e as [string, string, unknown];
    if (!Number.isSafeInteger(qty) || (qty as number) < 1) malformed('add quantity is not a positive integer');
    if (!removed.has(dot)) adds.set(dot, { item, qty: qty as number });
  }
  return { adds, removed };
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
