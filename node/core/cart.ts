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

/** Union of adds and of removed dots; removed adds are dropped from `adds`. */
export function cartMerge(a: CartState, b: CartState): CartState {
  const removed = new Set<string>(a.removed);
  for (const d of b.removed) removed.add(d);
  const adds = new Map<string, CartAdd>();
  for (const src of [a.adds, b.adds]) {
    for (const [dot, add] of src) {
      if (removed.has(dot)) continue;
      const prior = adds.get(dot);
      // One dot is one add, so both sides agree; if a faulty minting ever clashed, pick canonically.
      if (prior === undefined || add.item > prior.item || (add.item === prior.item && add.qty > prior.qty)) adds.set(dot, add);
    }
  }
  return { adds, removed };
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

export function cartEqual(a: CartState, b: CartState): boolean {
  return JSON.stringify(cartToJson(a)) === JSON.stringify(cartToJson(b));
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

export function cartToJson(state: CartState): CartJson {
  const a = [...state.adds.entries()]
    .filter(([dot]) => !state.removed.has(dot))
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([dot, add]): [string, string, number] => [dot, add.item, add.qty]);
  const groups = new Map<string, number[]>();
  const x: string[] = [];
  for (const dot of state.removed) {
    const i = dot.lastIndexOf(':');
    const tail = dot.slice(i + 1);
    if (i <= 0 || !/^(0|[1-9][0-9]{0,14})$/.test(tail)) {
      x.push(dot);
      continue;
    }
    const prefix = dot.slice(0, i);
    let list = groups.get(prefix);
    if (list === undefined) groups.set(prefix, (list = []));
    list.push(Number(tail));
  }
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

function malformed(why: string): never {
  throw new Error(`malformed cart encoding: ${why}`);
}

/** The largest number of removed dots one range may expand to; guards against hostile encodings. */
const maxRangeSpan = 1_000_000;

export function cartFromJson(json: unknown): CartState {
  if (typeof json !== 'object' || json === null) malformed('not an object');
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
