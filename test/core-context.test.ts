// Cart read and kv contexts: a token this process signed decodes (through the signed-token memo) to exactly what
// the full check decodes it to, and the memo never lets a token pass for another key or secret, nor an
// altered one. The full check is written out here from the format in context.ts (base64url JSON "."
// base64url HMAC-SHA256 over the key's UTF-8 length, ":", the key and the body), so the test does not rely
// on the code under test for what a genuine token is.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { decodeCartContext, decodeKvContext, encodeCartContext, encodeKvContext } from '../node/core/context.js';
import { causalContext } from '../node/core/versions.js';

function referenceToken(observed: Record<string, readonly string[]>, secret: string, key: string): string {
  const body = Buffer.from(JSON.stringify({ k: 'cart-read', o: observed }), 'utf8').toString('base64url');
  const sig = createHmac('sha256', secret).update(String(Buffer.byteLength(key, 'utf8'))).update(':').update(key).update(body).digest('base64url');
  return `${body}.${sig}`;
}

/** What a token says, parsed by hand (the signature is checked by comparing with referenceToken). */
function referenceDecode(token: string): Record<string, string[]> {
  const parsed = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { o: Record<string, string[]> };
  const out: Record<string, string[]> = {};
  for (const [item, dots] of Object.entries(parsed.o)) Object.defineProperty(out, item, { value: dots, enumerable: true });
  return out;
}

// Items as a cart's are: any non-empty string, numeric-looking ones included (JS objects order those
// first), and names every object has as properties.
const item = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6 }), fc.nat(50).map(String), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'error'),
);
const dot = fc.tuple(fc.constantFrom('n1', 'n2', 'n3'), fc.nat(0xffff).map((x) => x.toString(16)), fc.nat(1000)).map(([n, b, c]) => `${n}:${b}:${c}`);
const observedArb = fc.dictionary(item, fc.array(dot, { minLength: 1, maxLength: 4 }), { maxKeys: 6 }).map((o) => {
  // fc.dictionary may set "__proto__" as the prototype; a cart's map (cartView) has it as an own key.
  const own: Record<string, string[]> = {};
  for (const k of Object.getOwnPropertyNames(o)) Object.defineProperty(own, k, { value: o[k], enumerable: true, writable: true });
  return own;
});
const secretArb = fc.string({ minLength: 1, maxLength: 12 });
const keyArb = fc.string({ minLength: 1, maxLength: 10 });

t.test('a token this process signed decodes as the full check decodes it, and only for its key and secret', async (t) => {
  fc.assert(
    fc.property(observedArb, secretArb, keyArb, keyArb, secretArb, (observed, secret, key, otherKey, otherSecret) => {
      const token = encodeCartContext(observed, secret, key);
      if (token !== referenceToken(observed, secret, key)) return false;
      const decoded = decodeCartContext(token, secret, key);
      if (JSON.stringify(Object.entries(decoded)) !== JSON.stringify(Object.entries(referenceDecode(token)))) return false;
      // The sender's map may change after the read; the token's meaning may not.
      for (const k of Object.keys(observed)) observed[k]!.push('n9:ff:1');
      if (JSON.stringify(decodeCartContext(token, secret, key)) !== JSON.stringify(referenceDecode(token))) return false;
      if (otherKey !== key && !('error' in decodeCartContext(token, secret, otherKey))) return false;
      if (otherSecret !== secret && !('error' in decodeCartContext(token, otherSecret, key))) return false;
      // An item the read did not observe names no dots, whatever its name.
      for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        if (!Object.hasOwn(observed, name) && (decoded as Record<string, unknown>)[name] !== undefined) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('300 random maps, keys and secrets');
});

t.test('an altered or foreign token takes the full check', async (t) => {
  const observed = { apples: ['n1:a:1', 'n2:b:7'], '3': ['n3:c:2'] };
  const token = encodeCartContext(observed, 's', 'cart-1');
  const [body, sig] = token.split('.') as [string, string];
  const flipped = `${body}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
  t.match(decodeCartContext(flipped, 's', 'cart-1'), { error: /signature/ }, 'a changed signature is refused');
  const otherBody = Buffer.from(JSON.stringify({ k: 'cart-read', o: { apples: ['n1:a:1', 'n2:b:7', 'n2:b:8'] } })).toString('base64url');
  t.match(decodeCartContext(`${otherBody}.${sig}`, 's', 'cart-1'), { error: /signature/ }, 'a widened body with the old signature is refused');
  // Signed elsewhere (another process with the same secret): not in this process's memo, still genuine.
  const foreign = referenceToken({ pears: ['n2:x:3'] }, 's', 'cart-1');
  t.same(decodeCartContext(foreign, 's', 'cart-1'), { pears: ['n2:x:3'] });
  t.match(decodeCartContext(foreign, 's', 'cart-2'), { error: /signature/ });
});

t.test('tokens signed before the memo was cleared still decode in full', async (t) => {
  const first = encodeCartContext({ apples: ['n1:a:1'] }, 's', 'k0');
  // More distinct tokens than the memo holds.
  for (let i = 1; i <= 20_000; i++) encodeCartContext({ apples: [`n1:a:${i}`] }, 's', `k${i}`);
  t.same(decodeCartContext(first, 's', 'k0'), { apples: ['n1:a:1'] });
  t.match(decodeCartContext(first, 's', 'k1'), { error: /signature/ });
});

/** A kv token by the format, written out: base64url JSON {k, vv, d?} "." the same HMAC as a cart token's. */
function referenceKvToken(vv: Record<string, number>, dots: [string, number][], secret: string, key: string): string {
  const body = Buffer.from(JSON.stringify({ k: 'kv', vv, ...(dots.length > 0 ? { d: dots } : {}) }), 'utf8').toString('base64url');
  const sig = createHmac('sha256', secret).update(String(Buffer.byteLength(key, 'utf8'))).update(':').update(key).update(body).digest('base64url');
  return `${body}.${sig}`;
}

t.test('a kv token this process signed is the reference token and decodes only for its key and secret', async (t) => {
  const vvArb = fc.dictionary(fc.constantFrom('n1', 'n2', '3'), fc.integer({ min: 1, max: 9 }), { maxKeys: 3 });
  fc.assert(
    fc.property(vvArb, fc.integer({ min: 12, max: 20 }), secretArb, keyArb, keyArb, secretArb, (vv, gap, secret, key, otherKey, otherSecret) => {
      const ctx = causalContext(vv, [{ node: 'n1', counter: gap }]);
      const token = encodeKvContext(ctx, secret, key);
      if (token !== referenceKvToken(ctx.vv, ctx.dots.map((d) => [d.node, d.counter]), secret, key)) return false;
      if (JSON.stringify(decodeKvContext(token, secret, key)) !== JSON.stringify(ctx)) return false;
      if (otherKey !== key && !('error' in decodeKvContext(token, secret, otherKey))) return false;
      if (otherSecret !== secret && !('error' in decodeKvContext(token, otherSecret, key))) return false;
      const [body, sig] = token.split('.') as [string, string];
      const flipped = `${body}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
      return 'error' in decodeKvContext(flipped, secret, key);
    }),
    { numRuns: 300 },
  );
  // Signed by another process with the same secret: not remembered here, still genuine.
  t.same(decodeKvContext(referenceKvToken({ n2: 4 }, [], 's', 'k'), 's', 'k'), { vv: { n2: 4 }, dots: [] });
});

t.test('a payload signed before is signed the same again, and never taken for another secret or key', async (t) => {
  const observed = { apples: ['n1:a:1'] };
  for (let round = 0; round < 2; round++) {
    for (const [secret, key] of [['s', 'k'], ['t', 'k'], ['s', 'k2'], ['s', '1'], ['s', '11']] as const) {
      t.equal(encodeCartContext(observed, secret, key), referenceToken(observed, secret, key), `cart ${secret}/${key}, round ${round}`);
      t.equal(encodeKvContext({ n1: 3 }, secret, key), referenceKvToken({ n1: 3 }, [], secret, key), `kv ${secret}/${key}, round ${round}`);
    }
  }
});
