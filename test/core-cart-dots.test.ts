// Cart dots per (node, key) stream (ActorIds.cartDot): every dot minted is unique across coordinators,
// keys and restarts, and a cart whose adds were all removed keeps one range per stream that minted for it
// (a node's boot), however many add+remove cycles, coordinators, other keys and merge orders there were.
import t from 'tap';
import fc from 'fast-check';
import { ActorIds, maxCartStreams } from '../node/core/actor-ids.js';
import { type CartState, cartAddDelta, cartMerge, cartObserved, cartRemoveDelta, cartToJson, emptyCart, encodeCart } from '../node/core/cart.js';

const nodes = 5;
const replicas = 3;

/** A node's dot minter as node.ts sets one up: a boot nonce of its incarnation and a random part. */
function boot(node: number, life: number): ActorIds {
  const a = new ActorIds(`n${node}`, async () => {});
  a.bootNonce = `${life.toString(36)}.${(node * 7919 + life * 104729).toString(36)}`;
  return a;
}

type Op =
  | { kind: 'cycle'; coord: number; item: number; others: number; addTo: number; removeAt: number }
  | { kind: 'restart'; node: number }
  | { kind: 'sync'; from: number; to: number };
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('cycle' as const), coord: fc.nat(nodes - 1), item: fc.nat(2), others: fc.nat(3), addTo: fc.nat(replicas - 1), removeAt: fc.nat(replicas - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(nodes - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: fc.nat(replicas - 1), to: fc.nat(replicas - 1) }) },
);

t.test('add+remove cycles through many coordinators and restarts leave one range per stream', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { minLength: 1, maxLength: 120 }), (ops) => {
      const lives = Array.from({ length: nodes }, () => 0);
      const actors = Array.from({ length: nodes }, (_, i) => boot(i, 0));
      const carts: CartState[] = Array.from({ length: replicas }, () => emptyCart);
      const minted = new Set<string>();
      const streams = new Set<string>();
      const mint = (a: ActorIds, key: string): string => {
        const d = a.cartDot(key);
        if (minted.has(d)) throw new Error(`dot ${d} minted twice`);
        minted.add(d);
        return d;
      };
      for (const op of ops) {
        if (op.kind === 'restart') actors[op.node] = boot(op.node, ++lives[op.node]!);
        else if (op.kind === 'sync') carts[op.to] = cartMerge(carts[op.to]!, carts[op.from]!);
        else {
          const a = actors[op.coord]!;
          // The same node coordinates adds to other carts meanwhile: with one counter for every key they
          // would leave gaps in this cart's runs.
          for (let k = 0; k < op.others; k++) mint(a, `other-${k}`);
          const dot = mint(a, 'cart');
          streams.add(dot.slice(0, dot.lastIndexOf(':')));
          const item = `sku-${op.item}`;
          carts[op.addTo] = cartMerge(carts[op.addTo]!, cartAddDelta(item, 1, dot));
          // A read at one replica (after it heard from the adding one) and a remove of what it observed.
          carts[op.removeAt] = cartMerge(carts[op.removeAt]!, carts[op.addTo]!);
          carts[op.removeAt] = cartMerge(carts[op.removeAt]!, cartRemoveDelta(item, cartObserved(carts[op.removeAt]!, item)));
        }
      }
      const all = carts.reduce((acc, c) => cartMerge(acc, c), emptyCart);
      if (all.liveCount !== 0) return false;
      const { r, x } = cartToJson(all);
      if (x.length !== 0 || Object.keys(r).length !== streams.size) return false;
      if (!Object.values(r).every((ranges) => ranges.length === 1)) return false;
      // So its size is a function of the streams alone: prefix, one range, punctuation.
      const bound = 24 + [...streams].reduce((n, s) => n + s.length + 24, 0);
      return encodeCart(all).length <= bound;
    }),
    { numRuns: 200 },
  );
});

t.test('400 cycles through 5 coordinators that also serve other carts, with every node restarted midway', async (t) => {
  const lives = Array.from({ length: nodes }, () => 0);
  const actors = Array.from({ length: nodes }, (_, i) => boot(i, 0));
  let cart = emptyCart;
  for (let i = 0; i < 400; i++) {
    if (i === 200) for (let n = 0; n < nodes; n++) actors[n] = boot(n, ++lives[n]!);
    const a = actors[i % nodes]!;
    a.cartDot(`other-${i % 7}`);
    cart = cartMerge(cart, cartAddDelta('sku', 1, a.cartDot('cart')));
    cart = cartMerge(cart, cartRemoveDelta('sku', cartObserved(cart, 'sku')));
  }
  const bytes = encodeCart(cart).length;
  t.equal(Object.keys(cartToJson(cart).r).length, 10, 'one prefix per node boot');
  t.ok(bytes <= 400, `${bytes} bytes for 10 streams`);
});

t.test('a node keeps a bounded number of streams; a forgotten key takes a new one, never an old counter', async (t) => {
  const a = boot(1, 0);
  const first = a.cartDot('k0');
  for (let i = 1; i <= maxCartStreams; i++) a.cartDot(`k${i}`);
  const again = a.cartDot('k0');
  t.not(again.slice(0, again.lastIndexOf(':')), first.slice(0, first.lastIndexOf(':')), 'new stream');
  t.ok(again.endsWith(':1'));
  // A key in use is not the one forgotten.
  const b = boot(2, 0);
  b.cartDot('hot');
  for (let i = 0; i < maxCartStreams + 10; i++) {
    b.cartDot(`cold-${i}`);
    if (i % 100 === 0) b.cartDot('hot');
  }
  t.ok(b.cartDot('hot').endsWith(`:${Math.floor((maxCartStreams + 9) / 100) + 3}`), 'the hot key kept its stream');
});
