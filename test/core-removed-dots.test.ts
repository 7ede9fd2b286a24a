// A cart's removed dots as ranges (node/core/removed-dots.ts) against a plain Set of dot ids: membership,
// union (and what it added), difference, equality, the incrementally kept hash, and decoding of
// encodings in any shape a peer may send (unsorted, overlapping, counters spelled as verbatim ids).
import t from 'tap';
import fc from 'fast-check';
import { RemovedDots } from '../node/core/removed-dots.js';

// Few prefixes and small counters so that ranges touch, overlap and coalesce; a few ids that are not
// `${prefix}:${counter}` (no counter, a leading zero, an empty prefix, too many digits) stay verbatim.
const arbDot = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('n1:b', 'n2:b', 'n1:c.1', '__proto__'), fc.nat(40)).map(([p, c]) => `${p}:${c}`) },
  { weight: 1, arbitrary: fc.constantFrom('plain', 'n1:b:07', ':3', 'n1:b:1234567890123456', 'n1:b:', 'n1:b:x') },
);
const arbDots = fc.array(arbDot, { maxLength: 60 });

const sorted = (s: Iterable<string>): string[] => [...s].sort();
const dotsOf = (r: RemovedDots): string[] => {
  const out: string[] = [];
  r.forEach((d) => out.push(d));
  return out.sort();
};

t.test('membership, union, difference and equality are those of the set of dots', async () => {
  fc.assert(
    fc.property(arbDots, arbDots, arbDots, (xs, ys, probes) => {
      const a = RemovedDots.of(xs);
      const b = RemovedDots.of(ys);
      const sa = new Set(xs);
      const sb = new Set(ys);
      if (JSON.stringify(dotsOf(a)) !== JSON.stringify(sorted(sa)) || a.count !== sa.size) return false;
      for (const d of [...probes, ...xs, ...ys]) if (a.has(d) !== sa.has(d)) return false;
      const u = a.union(b);
      const want = new Set([...sa, ...sb]);
      const fresh = [...sb].filter((d) => !sa.has(d));
      if (fresh.length === 0) {
        if (u !== undefined) return false;
      } else {
        if (u === undefined) return false;
        if (JSON.stringify(dotsOf(u.set)) !== JSON.stringify(sorted(want)) || u.set.count !== want.size) return false;
        if (JSON.stringify(dotsOf(u.added)) !== JSON.stringify(sorted(fresh)) || u.added.count !== fresh.length) return false;
        // Canonical: the union built incrementally is the same set as the one built from its dots.
        if (!u.set.equals(RemovedDots.of(want)) || !RemovedDots.of(want).equals(u.set)) return false;
      }
      const m = a.minus(b);
      const wantMinus = [...sa].filter((d) => !sb.has(d));
      if (JSON.stringify(dotsOf(m)) !== JSON.stringify(sorted(wantMinus)) || m.count !== wantMinus.length) return false;
      const same = sa.size === sb.size && [...sa].every((d) => sb.has(d));
      return a.equals(b) === same && b.equals(a) === same;
    }),
    { numRuns: 500 },
  );
});

t.test('the hash kept through unions is the hash of the resulting set computed afresh', async (t) => {
  fc.assert(
    fc.property(fc.array(arbDots, { minLength: 1, maxLength: 8 }), (batches) => {
      let s = RemovedDots.empty;
      const all = new Set<string>();
      for (const batch of batches) {
        s.hashSum();
        s = s.union(RemovedDots.of(batch))?.set ?? s;
        for (const d of batch) all.add(d);
      }
      const fresh = RemovedDots.of(all);
      return s.hashSum() === fresh.hashSum();
    }),
    { numRuns: 300 },
  );
  // Different sets, different sums (a handful of near misses).
  const sums = new Set([['n1:b:1'], ['n1:b:2'], ['n1:b:1', 'n1:b:2'], ['n1:b:1', 'n1:b:3'], ['plain'], []].map((d) => RemovedDots.of(d).hashSum()));
  t.equal(sums.size, 6);
});

/** What a peer's encoding meant before ranges were kept in memory: every id it names, grouped again. */
function expand(r: Record<string, [number, number][]>, x: string[]): Set<string> {
  const out = new Set(x);
  for (const [prefix, ranges] of Object.entries(r)) for (const [from, to] of ranges) for (let c = from; c <= to; c++) out.add(`${prefix}:${c}`);
  return out;
}

t.test('an encoding in any shape decodes to the set of the ids it names, and the record round-trips', async (t) => {
  const arbRange = fc.tuple(fc.nat(30), fc.nat(6)).map(([from, w]): [number, number] => [from, from + w]);
  const arbPrefix = fc.constantFrom('n1:b', 'n2:b', '', '__proto__', 'n1:b:3');
  const arbEnc = fc.record({
    r: fc.dictionary(arbPrefix, fc.array(arbRange, { maxLength: 5 }), { maxKeys: 4 }),
    x: fc.array(arbDot, { maxLength: 10 }),
  });
  const fail = (why: string): never => {
    throw new Error(why);
  };
  fc.assert(
    fc.property(arbEnc, ({ r, x }) => {
      const enc = JSON.parse(JSON.stringify({ r, x })) as { r: Record<string, [number, number][]>; x: string[] };
      const got = RemovedDots.fromEncoding(enc.r, enc.x, 1_000_000, fail);
      const want = expand(enc.r, enc.x);
      if (JSON.stringify(dotsOf(got)) !== JSON.stringify(sorted(want)) || !got.equals(RemovedDots.of(want))) return false;
      const again = JSON.parse(JSON.stringify({ r: got.record(), x: got.x })) as typeof enc;
      return RemovedDots.fromEncoding(again.r, again.x, 1_000_000, fail).equals(got);
    }),
    { numRuns: 500 },
  );
  // Counters past 15 digits are not spelled as `${prefix}:${counter}` ids: they stay verbatim.
  const big = RemovedDots.fromEncoding({ p: [[999_999_999_999_998, 1_000_000_000_000_001]] }, [], 10, fail);
  t.same(dotsOf(big), sorted(['p:999999999999998', 'p:999999999999999', 'p:1000000000000000', 'p:1000000000000001']));
  t.same(big.x, ['p:1000000000000000', 'p:1000000000000001']);
  t.throws(() => RemovedDots.fromEncoding({ p: [[5, 3]] }, [], 10, fail), /out of order/);
  t.throws(() => RemovedDots.fromEncoding({ p: [[0, 11]] }, [], 10, fail), /too wide/);
  t.throws(() => RemovedDots.fromEncoding({ p: [[0, -1]] }, [], 10, fail), /bad range/);
  t.throws(() => RemovedDots.fromEncoding({}, [3], 10, fail), /not a string/);
});

t.test('a run of removed counters stays one range whatever order it arrives in', async (t) => {
  let s = RemovedDots.empty;
  const order = Array.from({ length: 400 }, (_, i) => (i * 137) % 400);
  for (const c of order) s = s.union(RemovedDots.of([`n1:b:${c}`]))?.set ?? s;
  t.same(s.record(), { 'n1:b': [[0, 399]] });
  t.equal(s.count, 400);
});
