// The cart CRDT: merge laws, and that no add is ever lost unless a remove observed it, whatever order
// replicas exchange state in; its versioned representation against a plain-set model, its deltas and its
// value hash.
import t from 'tap';
import fc from 'fast-check';
import {
  type CartState,
  cartAdd,
  cartAddDelta,
  cartDeltaSince,
  cartDotId,
  cartEqual,
  cartFromJson,
  cartHash,
  cartIsEmpty,
  cartItems,
  cartMerge,
  cartMissing,
  cartObserved,
  cartObservedAll,
  cartRemove,
  cartRemoveDelta,
  decodeCart,
  emptyCart,
  cartToJson,
  encodeCart,
} from '../node/core/cart.js';

type Op =
  | { kind: 'add'; replica: number; item: string; qty: number }
  | { kind: 'remove'; replica: number; item: string }
  | { kind: 'merge'; to: number; from: number };

const replicaCount = 3;
const items = ['apple', 'pear', 'fig'];
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), replica: fc.nat(replicaCount - 1), item: fc.constantFrom(...items), qty: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('remove' as const), replica: fc.nat(replicaCount - 1), item: fc.constantFrom(...items) }),
  fc.record({ kind: fc.constant('merge' as const), to: fc.nat(replicaCount - 1), from: fc.nat(replicaCount - 1) }),
);

interface Run {
  replicas: CartState[];
  adds: { dot: string; item: string; qty: number }[];
  observedByRemoves: Set<string>;
}

function run(ops: readonly Op[]): Run {
  const replicas: CartState[] = Array.from({ length: replicaCount }, () => emptyCart);
  const adds: Run['adds'] = [];
  const observedByRemoves = new Set<string>();
  let counter = 0;
  for (const op of ops) {
    if (op.kind === 'merge') {
      replicas[op.to] = cartMerge(replicas[op.to]!, replicas[op.from]!);
    } else if (op.kind === 'add') {
      const dot = cartDotId(`n${op.replica}`, 'boot', ++counter);
      adds.push({ dot, item: op.item, qty: op.qty });
      // Half the adds go through the delta path, as a coordinator shipping to a replica would.
      replicas[op.replica] = counter % 2 === 0
        ? cartAdd(replicas[op.replica]!, op.item, op.qty, dot)
        : cartMerge(replicas[op.replica]!, cartAddDelta(op.item, op.qty, dot));
    } else {
      const observed = cartObserved(replicas[op.replica]!, op.item);
      for (const d of observed) observedByRemoves.add(d);
      replicas[op.replica] = counter % 2 === 0
        ? cartRemove(replicas[op.replica]!, op.item, observed)
        : cartMerge(replicas[op.replica]!, cartRemoveDelta(op.item, observed));
    }
  }
  return { replicas, adds, observedByRemoves };
}

t.test('cart merge is commutative, associative and idempotent', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40, size: 'max' }), (ops) => {
      const [x, y, z] = run(ops).replicas as [CartState, CartState, CartState];
      return (
        cartEqual(cartMerge(x, y), cartMerge(y, x)) &&
        cartEqual(cartMerge(cartMerge(x, y), z), cartMerge(x, cartMerge(y, z))) &&
        cartEqual(cartMerge(x, x), x)
      );
    }),
    { numRuns: 300 },
  );
});

t.test('no add is lost unless a remove observed it, under any interleaving of merges', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { minLength: 10, maxLength: 80, size: 'max' }), fc.array(fc.nat(replicaCount - 1), { minLength: replicaCount, maxLength: replicaCount }), (ops, order) => {
      const { replicas, adds, observedByRemoves } = run(ops);
      // Merge everything in an arbitrary order (with repeats) and also in index order: same result.
      const all = [...order, 0, 1, 2].reduce((acc, i) => cartMerge(acc, replicas[i]!), emptyCart);
      const expected: Record<string, number> = {};
      for (const a of adds) {
        const live = cartObserved(all, a.item).includes(a.dot);
        if (live === observedByRemoves.has(a.dot)) return false;
        if (live) expected[a.item] = (expected[a.item] ?? 0) + a.qty;
      }
      return JSON.stringify(cartItems(all)) === JSON.stringify(Object.fromEntries(Object.entries(expected).sort()));
    }),
    { numRuns: 400 },
  );
});

t.test('a remove takes away only the adds it observed', async (t) => {
  let a = cartAdd(emptyCart, 'apple', 2, 'n1:x:1');
  let b = cartMerge(emptyCart, a);
  // Concurrently: replica b removes the apple it saw, replica a adds another apple.
  b = cartRemove(b, 'apple', cartObserved(b, 'apple'));
  a = cartAdd(a, 'apple', 3, 'n1:x:2');
  const merged = cartMerge(a, b);
  t.same(cartItems(merged), { apple: 3 }, 'the concurrent add survives the remove (add wins)');
  t.same(cartObservedAll(merged), { apple: ['n1:x:2'] });
  // A remove that arrives before the add it observed still wins over that add when it shows up.
  const early = cartRemove(emptyCart, 'pear', ['n2:y:1']);
  t.same(cartItems(cartAdd(early, 'pear', 1, 'n2:y:1')), {}, 'a removed dot never revives');
  t.same(cartItems(cartAdd(early, 'pear', 1, 'n2:y:2')), { pear: 1 });
  t.throws(() => cartAdd(emptyCart, 'fig', 0, 'n1:x:9'), RangeError);
  t.throws(() => cartAdd(emptyCart, 'fig', 1.5, 'n1:x:9'), RangeError);
});

t.test('encoding round-trips and compacts removed dots into ranges', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40, size: 'max' }), (ops) => {
      const [x] = run(ops).replicas as [CartState];
      const e = encodeCart(x);
      const back = decodeCart(e);
      return cartEqual(back, x) && Buffer.from(encodeCart(back)).equals(Buffer.from(e));
    }),
    { numRuns: 200 },
  );
  let s = emptyCart;
  const dots = Array.from({ length: 100 }, (_, i) => `n1:boot:${i + 1}`);
  dots.forEach((d) => (s = cartAdd(s, 'apple', 1, d)));
  s = cartRemove(s, 'apple', dots);
  s = cartRemove(s, 'apple', ['odd-id']);
  const json = JSON.parse(new TextDecoder().decode(encodeCart(s)));
  t.same(json.r, { 'n1:boot': [[1, 100]] }, 'a run of 100 removed dots is one range');
  t.same(json.x, ['odd-id']);
  t.same(cartItems(decodeCart(encodeCart(s))), {});
  t.throws(() => decodeCart(new TextEncoder().encode('[')), /malformed cart/);
  t.throws(() => decodeCart(new TextEncoder().encode('{"a":[["d","i",-1]],"r":{},"x":[]}')), /quantity/);
  t.throws(() => decodeCart(new TextEncoder().encode('{"a":[],"r":{"p":[[0,1e12]]},"x":[]}')), /range/);
});

t.test('an encoding that never left the process decodes to what a parsed copy of it decodes to', async (t) => {
  // The simulated network hands peers the sender's (frozen) encoding itself; its decoded state must be the
  // one a parsed frame gives, adds in the same order too, since reads list observed dots in that order.
  const decodedAlike = (x: CartState): boolean => {
    const json = cartToJson(x);
    const known = cartFromJson(json);
    const parsed = cartFromJson(JSON.parse(JSON.stringify(json)));
    return cartEqual(known, parsed) && JSON.stringify([...known.adds]) === JSON.stringify([...parsed.adds]) &&
      JSON.stringify(cartObservedAll(known)) === JSON.stringify(cartObservedAll(parsed)) &&
      cartFromJson(json) === known && Buffer.from(encodeCart(known)).equals(Buffer.from(encodeCart(parsed))) &&
      // Merged into, on either side, the two still list their adds alike (a read folds its replies so).
      [cartAddDelta('fig', 1, 'n9:b:99'), cartRemoveDelta('apple', cartObserved(x, 'apple')), cartRemoveDelta('fig', ['n8:b:1'])].every((d) =>
        [[cartMerge(known, d), cartMerge(parsed, d)], [cartMerge(d, known), cartMerge(d, parsed)]].every(([k, p]) =>
          JSON.stringify([...k!.adds]) === JSON.stringify([...p!.adds]) && JSON.stringify(cartObservedAll(k!)) === JSON.stringify(cartObservedAll(p!))));
  };
  fc.assert(fc.property(fc.array(arbOp, { maxLength: 60, size: 'max' }), (ops) => run(ops).replicas.every(decodedAlike)), { numRuns: 200 });
  // A state built by merges lists its adds in insertion order; its decoded form lists them by dot.
  const s = cartAdd(cartAdd(emptyCart, 'fig', 1, 'n2:b:1'), 'apple', 1, 'n1:b:1');
  t.same([...cartFromJson(cartToJson(s)).adds.keys()], ['n1:b:1', 'n2:b:1']);
  t.ok(decodedAlike(s));
  t.ok(Object.isFrozen(cartToJson(s).a[0]), 'the shared encoding is frozen');
});

// The representation: states share append-only logs and see them up to their own version. Every state
// ever made must keep its value however its successors (or other holders) extend the logs it shares.
type PoolOp =
  | { kind: 'add'; at: number; item: string; qty: number }
  | { kind: 'remove'; at: number; pick: number }
  | { kind: 'merge'; into: number; from: number }
  | { kind: 'decode'; at: number };
const arbPoolOp: fc.Arbitrary<PoolOp> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(1000), item: fc.constantFrom(...items), qty: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(1000), pick: fc.nat(5) }),
  fc.record({ kind: fc.constant('merge' as const), into: fc.nat(1000), from: fc.nat(1000) }),
  fc.record({ kind: fc.constant('decode' as const), at: fc.nat(1000) }),
);

interface Model {
  adds: Map<string, { item: string; qty: number }>;
  removed: Set<string>;
}

function modelMerge(a: Model, b: Model): Model {
  const removed = new Set([...a.removed, ...b.removed]);
  const adds = new Map<string, { item: string; qty: number }>();
  for (const src of [a.adds, b.adds]) for (const [d, add] of src) if (!removed.has(d) && !adds.has(d)) adds.set(d, add);
  return { adds, removed };
}

function sameAsModel(s: CartState, m: Model): boolean {
  const live = [...s.adds].map(([d, a]) => [d, a.item, a.qty]).sort();
  const want = [...m.adds].map(([d, a]) => [d, a.item, a.qty]).sort();
  return JSON.stringify(live) === JSON.stringify(want) && JSON.stringify([...s.removed].sort()) === JSON.stringify([...m.removed].sort()) &&
    cartIsEmpty(s) === (m.adds.size === 0 && m.removed.size === 0);
}

t.test('every state keeps its value while the logs it shares are extended (against a plain-set model)', async (t) => {
  fc.assert(
    fc.property(fc.array(arbPoolOp, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
      const states: CartState[] = [emptyCart];
      const models: Model[] = [{ adds: new Map(), removed: new Set() }];
      let counter = 0;
      for (const op of ops) {
        if (op.kind === 'add') {
          const i = op.at % states.length;
          const dot = cartDotId('n1', 'b', ++counter);
          states.push(cartAdd(states[i]!, op.item, op.qty, dot));
          models.push(modelMerge(models[i]!, { adds: new Map([[dot, { item: op.item, qty: op.qty }]]), removed: new Set() }));
        } else if (op.kind === 'remove') {
          const i = op.at % states.length;
          const live = [...states[i]!.adds.keys()].sort();
          const dots = live.filter((_, k) => k % (op.pick + 1) === 0);
          states.push(cartRemove(states[i]!, 'any', dots));
          models.push(modelMerge(models[i]!, { adds: new Map(), removed: new Set(dots) }));
        } else if (op.kind === 'merge') {
          const i = op.into % states.length;
          const j = op.from % states.length;
          states.push(cartMerge(states[i]!, states[j]!));
          models.push(modelMerge(models[i]!, models[j]!));
        } else {
          // A decoded copy shares its source's removed log, read-only.
          const i = op.at % states.length;
          states.push(cartFromJson(cartToJson(states[i]!)));
          models.push(models[i]!);
        }
      }
      return states.every((s, i) => sameAsModel(s, models[i]!) && cartEqual(s, decodeCart(encodeCart(s))));
    }),
    { numRuns: 300 },
  );
});

t.test('a derived state is its parent plus its delta; a repair delta is what the replica lacks', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40, size: 'max' }), fc.array(arbOp, { maxLength: 10 }), (ops, more) => {
      const [x, y] = run(ops).replicas as [CartState, CartState];
      const z = run([...ops, ...more]).replicas[2]!;
      for (const other of [y, z, cartAddDelta('fig', 2, 'n9:b:1'), cartRemoveDelta('fig', ['n0:boot:1'])]) {
        const merged = cartMerge(x, other);
        const delta = cartDeltaSince(merged, x.id);
        // Merging into the empty cart gives the other state itself: nothing to derive, the store writes it whole.
        if (merged !== x && !cartIsEmpty(x) && (delta === undefined || !cartEqual(cartMerge(x, delta), merged))) return false;
        if (!cartEqual(cartMerge(other, cartMissing(merged, other)), cartMerge(other, merged))) return false;
      }
      // Derived from an equal copy, not from x itself: no delta (a store only appends to what it wrote).
      return cartDeltaSince(cartMerge(decodeCart(encodeCart(x)), cartAddDelta('fig', 1, 'n9:b:2')), x.id) === undefined;
    }),
    { numRuns: 300 },
  );
});

t.test('the value hash is a function of the state: equal states hash alike, different ones do not', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40, size: 'max' }), fc.array(fc.nat(replicaCount - 1), { minLength: 3, maxLength: 3 }), (ops, order) => {
      const { replicas } = run(ops);
      const [x, y] = replicas as [CartState, CartState];
      // The same union built in two orders, incrementally and from a decoded copy.
      const one = order.reduce((acc, i) => cartMerge(acc, replicas[i]!), emptyCart);
      const two = [...order].reverse().reduce((acc, i) => cartMerge(decodeCart(encodeCart(acc)), replicas[i]!), emptyCart);
      if (cartEqual(one, two) !== (cartHash(one) === cartHash(two))) return false;
      if (cartHash(x) !== cartHash(decodeCart(encodeCart(x)))) return false;
      // Hashing a state, then merging into it (the incremental path), gives the hash of the result computed afresh.
      cartHash(x);
      const m = cartMerge(x, y);
      return cartHash(m) === cartHash(decodeCart(encodeCart(m))) && (cartEqual(x, y) === (cartHash(x) === cartHash(y)));
    }),
    { numRuns: 300 },
  );
});

t.test('a churning cart keeps a log of about its live adds, and every version its value', async (t) => {
  let s = emptyCart;
  const kept: { state: CartState; items: Record<string, number> }[] = [];
  for (let i = 1; i <= 600; i++) {
    s = cartAdd(s, `sku-${i % 3}`, 1, cartDotId('n1', 'b', i));
    if (i % 4 !== 0) s = cartRemove(s, 'any', cartObserved(s, `sku-${i % 3}`));
    if (i % 50 === 0) kept.push({ state: s, items: cartItems(s) });
  }
  t.ok(s.alog.entries.size <= 2 * s.liveCount + 66, `${s.alog.entries.size} log entries for ${s.liveCount} live adds`);
  t.ok(kept.every((k) => JSON.stringify(cartItems(k.state)) === JSON.stringify(k.items)), 'older versions unchanged');
  t.same(cartItems(decodeCart(encodeCart(s))), cartItems(s));
});

t.test('an item of any name, "__proto__" and "constructor" included, is an item like any other', async (t) => {
  let s = cartAdd(cartAdd(emptyCart, '__proto__', 2, 'n1:b:1'), 'pear', 1, 'n1:b:2');
  s = cartAdd(s, '__proto__', 1, 'n2:b:1');
  t.same(Object.entries(cartItems(s)), [['__proto__', 3], ['pear', 1]]);
  t.same(Object.entries(cartObservedAll(s)), [['__proto__', ['n1:b:1', 'n2:b:1']], ['pear', ['n1:b:2']]]);
  t.same(Object.entries(cartItems(decodeCart(encodeCart(s)))), [['__proto__', 3], ['pear', 1]]);
  t.same(Object.entries(cartItems(cartRemove(s, '__proto__', cartObserved(s, '__proto__')))), [['pear', 1]]);
  const c = cartAdd(cartAdd(emptyCart, 'constructor', 1, 'n1:b:1'), 'toString', 2, 'n1:b:2');
  t.same(Object.entries(cartItems(c)), [['constructor', 1], ['toString', 2]]);
  t.same(Object.entries(cartObservedAll(c)), [['constructor', ['n1:b:1']], ['toString', ['n1:b:2']]]);
});
