// Partition geometry is pure: every kind must give the documented sides and a grudge consistent with them,
// and the same seed must cut the same way.
import t from 'tap';
import fc from 'fast-check';
import { cut, nodePartitionKinds, planPartition, sortNodeIds } from '../harness/nemesis/grudge.js';

function seeded(seed: number): () => number {
  // mulberry32: a tiny deterministic source for the tests.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

t.test('halves: smaller half first, in natural order, cut both ways', async (t) => {
  const p = planPartition('halves', ['n10', 'n2', 'n1', 'n3', 'n4'], seeded(1));
  t.same(p.sides, [['n1', 'n2'], ['n3', 'n4', 'n10']]);
  t.same(p.grudge['n1'], ['n3', 'n4', 'n10']);
  t.same(p.grudge['n10'], ['n1', 'n2']);
  const q = planPartition('halves', five, seeded(1));
  t.same(q.sides, [['n1', 'n2'], ['n3', 'n4', 'n5']], 'matches the HISTORY.md example');
});

t.test('sortNodeIds: the collator\'s natural order, for plain ids (by their numbers) and for any others', async (t) => {
  const collator = new Intl.Collator('en', { numeric: true });
  const plain = fc.uniqueArray(fc.nat({ max: 5000 }).map((i) => `n${i}`), { maxLength: 40 });
  fc.assert(fc.property(plain, (ids) => t.same(sortNodeIds(ids), [...ids].sort(collator.compare))));
  // Not plain (leading zeros, other names, mixed): the collator itself orders them.
  const other = fc.uniqueArray(fc.oneof(fc.nat({ max: 200 }).map((i) => `n${i}`), fc.constantFrom('n01', 'n007', 'node-2', 'N3', 'a10', 'n', '')), { maxLength: 20 });
  fc.assert(fc.property(other, (ids) => t.same(sortNodeIds(ids), [...ids].sort(collator.compare))));
  t.same(sortNodeIds(['n10', 'n2', 'n1', 'n100', 'n0']), ['n0', 'n1', 'n2', 'n10', 'n100']);
  const input = ['n3', 'n1', 'n2'];
  sortNodeIds(input);
  t.same(input, ['n3', 'n1', 'n2'], 'the input is left as it was');
});

t.test('random-halves and isolate-one: disjoint sides covering everyone, sizes right', async (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const r = planPartition('random-halves', five, seeded(seed));
    t.same(sortNodeIds(r.sides.flat()), five);
    t.same(r.sides.map((s) => s.length), [2, 3]);
    const i = planPartition('isolate-one', five, seeded(seed));
    t.equal(i.sides[0]!.length, 1);
    const loner = i.sides[0]![0]!;
    t.same(i.grudge[loner], five.filter((n) => n !== loner));
    for (const other of five.filter((n) => n !== loner)) t.same(i.grudge[other], [loner]);
  }
});

t.test('majorities-ring: symmetric, every node sees a majority, no two see the same one (5 nodes)', async (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const p = planPartition('majorities-ring', five, seeded(seed));
    t.equal(p.sides.length, 5);
    const views = new Set(p.sides.map((s) => s.join(',')));
    t.equal(views.size, 5, 'distinct majorities');
    for (const a of five) {
      const sees = five.filter((b) => !(p.grudge[a] ?? []).includes(b));
      t.equal(sees.length, 3, `${a} sees a majority`);
      for (const b of five) t.equal((p.grudge[a] ?? []).includes(b), (p.grudge[b] ?? []).includes(a), 'symmetric');
    }
  }
});

t.test('bridge: the bridge sees everyone, the two halves do not see each other', async (t) => {
  const p = planPartition('bridge', five, seeded(7));
  t.ok(p.bridge);
  const b = p.bridge!;
  t.notOk(p.grudge[b], 'the bridge drops nothing');
  const [left, right] = p.sides as [string[], string[]];
  t.ok(left.includes(b) && right.includes(b));
  for (const x of left.filter((n) => n !== b)) for (const y of right.filter((n) => n !== b)) t.ok(cut(p.grudge, x, y), `${x} cut from ${y}`);
});

t.test('deterministic by seed, varies across seeds', async (t) => {
  for (const kind of nodePartitionKinds) {
    t.same(planPartition(kind, five, seeded(42)), planPartition(kind, five, seeded(42)), kind);
  }
  const distinct = new Set(Array.from({ length: 30 }, (_, s) => JSON.stringify(planPartition('random-halves', five, seeded(s)).sides)));
  t.ok(distinct.size > 3, 'random-halves is actually random across seeds');
});

t.test('property: the grudge never cuts a node off from its own side', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 9 }), fc.integer(), fc.constantFrom(...nodePartitionKinds), (size, seed, kind) => {
      const nodes = Array.from({ length: size }, (_, i) => `n${i + 1}`);
      const p = planPartition(kind, nodes, seeded(seed));
      for (const a of nodes) if ((p.grudge[a] ?? []).includes(a)) return false;
      if (kind !== 'majorities-ring') {
        for (const side of p.sides) for (const a of side) for (const b of side) if (cut(p.grudge, a, b)) return false;
      }
      // Something is always cut.
      return Object.keys(p.grudge).length > 0 || size < 3;
    }),
    { numRuns: 200 },
  );
});

t.test('fewer than two nodes is a definite error', async (t) => {
  t.throws(() => planPartition('halves', ['n1'], seeded(1)), /definite/);
});
