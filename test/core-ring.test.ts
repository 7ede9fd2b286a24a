// Strategy 3 partition assignment: balance, minimal movement on join and leave, preference lists and
// determinism. Sizes are sampled from 5..64 nodes so the file stays fast on a small CI machine.
import t from 'tap';
import { partitionOf } from '../node/core/hash.js';
import {
  type Ring,
  assignPartitions,
  partitionsOwnedBy,
  preferenceList,
  preferenceListForPartition,
  ringDiff,
} from '../node/core/ring.js';

const names = (n: number, prefix = 'n'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const sizes = [5, 6, 7, 9, 13, 16, 24, 31, 47, 64];

function counts(ring: Ring): Map<string, number> {
  const c = new Map<string, number>(ring.members.map((m) => [m, 0]));
  ring.owners.forEach((o) => c.set(o, (c.get(o) ?? 0) + 1));
  return c;
}

/** Balance checks as (passed, message) pairs, asserted by the calling test. */
function balanceChecks(ring: Ring, label: string): [boolean, string][] {
  const q = ring.partitions;
  const s = ring.members.length;
  const c = [...counts(ring).values()];
  return [
    [c.every((x) => x === Math.floor(q / s) || x === Math.ceil(q / s)), `${label}: every member owns floor or ceil of Q/S`],
  // Above mean + 15% is allowed only where integers force it (Q=256, S=63: the mean is 4.06 and some
  // member must own 5); floor/ceil above is the tighter promise.
    [Math.max(...c) <= Math.max((q / s) * 1.15, Math.ceil(q / s)), `${label}: no member above mean + 15% (or ceil(Q/S))`],
    [c.reduce((a, b) => a + b, 0) === q, `${label}: counts add up to Q`],
  ];
}


t.test('balance, join and leave movement for 5..64 nodes, Q = 256 and 1024', async (t) => {
  for (const q of [256, 1024]) {
    for (const s of sizes) {
      const members = names(s);
      const ring = assignPartitions(members, q);
      for (const [ok, msg] of balanceChecks(ring, `Q=${q} S=${s}`)) t.ok(ok, msg);

      const joined = assignPartitions([...members, 'newcomer'], q, ring);
      for (const [ok, msg] of balanceChecks(joined, `Q=${q} S=${s}+1`)) t.ok(ok, msg);
      const moves = ringDiff(ring, joined);
      t.ok(moves.every((m) => m.to === 'newcomer'), `Q=${q} S=${s}: a join moves partitions only to the new node`);
      t.ok(moves.length <= Math.ceil(q / (s + 1)) + 1, `Q=${q} S=${s}: a join moves ${moves.length} ≤ ceil(Q/(S+1)) + 1`);
      t.equal(partitionsOwnedBy(joined, 'newcomer').length, moves.length);

      const leaver = members[Math.floor(s / 2)]!;
      const left = assignPartitions(members.filter((m) => m !== leaver), q, ring);
      for (const [ok, msg] of balanceChecks(left, `Q=${q} S=${s}-1`)) t.ok(ok, msg);
      const leaveMoves = ringDiff(ring, left);
      t.ok(leaveMoves.every((m) => m.from === leaver), `Q=${q} S=${s}: a leave moves only the leaver's partitions`);
      t.equal(leaveMoves.length, partitionsOwnedBy(ring, leaver).length);
    }
  }
});

t.test('preference lists hold every member once and reach N distinct nodes quickly', async (t) => {
  for (const [q, s] of [[256, 5], [1024, 16], [256, 64]] as const) {
    const ring = assignPartitions(names(s), q);
    let tight = 0;
    for (let p = 0; p < q; p++) {
      const list = preferenceListForPartition(ring, p);
      if (list.length !== s || new Set(list).size !== s || list[0] !== ring.owners[p]) {
        t.fail(`Q=${q} S=${s} partition ${p}: preference list ${list.join(',')} is not every member once, owner first`);
        return;
      }
      // The first three partitions clockwise already name three different nodes.
      if (new Set([0, 1, 2].map((i) => ring.owners[(p + i) % q])).size === 3) tight++;
    }
    t.equal(tight, q, `Q=${q} S=${s}: every window of three consecutive partitions has three owners`);
  }
  // After joins the adjacency may not be perfect, but preference lists stay complete and duplicate-free.
  let ring = assignPartitions(names(5), 256);
  for (let i = 0; i < 5; i++) ring = assignPartitions([...ring.members, `j${i}`], 256, ring);
  for (const key of ['a', 'b', 'cart:1', 'x'.repeat(1000)]) {
    const list = preferenceList(ring, key);
    t.equal(new Set(list).size, 10, `${key.slice(0, 8)}: all 10 members, no repeats`);
    t.equal(list[0], ring.owners[partitionOf(key, 256)]);
  }
});

t.test('assignment is deterministic regardless of member order', async (t) => {
  const members = names(12);
  const shuffled = [...members].reverse();
  shuffled.push(shuffled.shift()!);
  const a = assignPartitions(members, 1024);
  const b = assignPartitions(shuffled, 1024);
  t.same(a.owners, b.owners);
  t.same(b.members, [...members].sort());
  const ja = assignPartitions([...members, 'z'], 1024, a);
  const jb = assignPartitions(['z', ...shuffled], 1024, b);
  t.same(ja.owners, jb.owners, 'joins computed on two nodes agree');
  t.same(ringDiff(a, a), []);
});

t.test('edge cases', async (t) => {
  const one = assignPartitions(['solo'], 8);
  t.same(one.owners, new Array(8).fill('solo'));
  t.same(preferenceList(one, 'k'), ['solo']);
  const few = assignPartitions(['a', 'b', 'c', 'd'], 3);
  t.equal(new Set(few.owners).size, 3, 'more members than partitions: each partition still has one owner');
  t.equal(preferenceListForPartition(few, 0).length, 3, 'a preference list names only nodes that own partitions');
  t.throws(() => assignPartitions([], 8), RangeError);
  t.throws(() => assignPartitions(['a'], 0), RangeError);
  // A previous ring with a different Q is ignored rather than half-used.
  const other = assignPartitions(['a', 'b'], 16, assignPartitions(['a', 'b'], 8));
  t.equal(other.owners.length, 16);
});

t.test('the optimised assignment gives exactly the rings of the reference one', async (t) => {
  // Every node computes its ring independently, so a faster assignment must not move one partition.
  // Fresh rings, joins, leaves, replacements and unrelated previous rings, small and large Q.
  const { referenceAssignPartitions } = await import('./helpers/ring-reference.js');
  const random = (() => {
    let x = 12345;
    return (n: number): number => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  })();
  let compared = 0;
  for (const q of [1, 2, 3, 7, 64, 256, 1024]) {
    for (const size of [1, 2, 3, 5, 20, 100]) {
      if (size * q > 40_000) continue; // the reference is slow there; 100 nodes are covered at Q = 256
      const members = names(size).map((m) => `${m}-${random(1000)}`);
      const fresh = assignPartitions(members, q);
      t.same(fresh, referenceAssignPartitions(members, q), `fresh ring, ${size} nodes, Q=${q}`);
      // A join, several joins at once (a cluster forming), a leave, a replacement, and a ring of mostly
      // other members.
      const variants = [
        [...members, 'joiner'],
        [...members, ...names(Math.max(2, size), 'j')],
        members.slice(1),
        [...members.slice(0, -1), 'replacement'],
        [...names(Math.max(1, size >> 1), 'x'), ...members.slice(0, 1)],
      ].filter((v) => v.length > 0);
      for (const next of variants) {
        t.same(assignPartitions(next, q, fresh), referenceAssignPartitions(next, q, fresh), `${next.length} nodes after ${size}, Q=${q}`);
        compared++;
      }
    }
  }
  t.ok(compared > 100);
});

t.test('a gossiped ring is checked once per list, and a bad one is refused however often it comes', async (t) => {
  const { ringFromJson, ringToJson, nextRing, pickRing, sameRing } = await import('../node/core/membership.js');
  const ring = nextRing(undefined, ['a', 'b', 'c'], 64)!;
  const json = ringToJson(ring);
  Object.freeze(json.owners);
  Object.freeze(json.members);
  const first = ringFromJson(json, 64);
  t.same(first, ring);
  t.equal(ringFromJson({ ...json }, 64), first, 'frozen lists decode to the ring checked before');
  t.not(ringFromJson(JSON.parse(JSON.stringify(json)), 64), first, 'fresh lists are checked anew');
  t.equal(ringFromJson({ ...json, version: 9 }, 64)?.version, 9, 'another version is another ring');
  const stranger = Object.freeze([...json.owners.slice(1), 'z']);
  t.equal(ringFromJson({ ...json, owners: stranger }, 64), undefined, 'an owner outside the members');
  t.equal(ringFromJson({ ...json, owners: stranger }, 64), undefined, 'still refused the second time');
  t.equal(ringFromJson(json, 32), undefined, 'another Q');
  // Rings of the same lists compare by identity first, by key otherwise: same answers either way.
  const copy = ringFromJson(JSON.parse(JSON.stringify(json)), 64)!;
  t.ok(sameRing(copy, ring) && sameRing(ring, ring));
  t.equal(pickRing(ring, copy), ring);
  t.equal(nextRing(undefined, ['a', 'b', 'c'], 64), ring, 'a next ring is computed once per (ring, candidates)');
  t.equal(nextRing(ring, ['a', 'b', 'c'], 64), undefined);
  t.same(nextRing(ring, ['a', 'b'], 64)?.ring, assignPartitions(['a', 'b'], 64, ring.ring));
});
