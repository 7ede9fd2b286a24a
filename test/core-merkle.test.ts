// Merkle trees for anti-entropy: equal content gives equal roots whatever the insertion order, and one
// differing key shows up as exactly its own bucket.
import t from 'tap';
import fc from 'fast-check';
import { MerkleTree, diffBuckets, merkleBucketOf } from '../node/core/merkle.js';
import { sha256Hex } from '../node/core/hash.js';

const arbEntries = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 8 })), {
  selector: ([k]) => k,
  maxLength: 200,
  size: 'max',
});

function build(entries: readonly [string, string][]): MerkleTree {
  const tree = new MerkleTree();
  for (const [k, v] of entries) tree.set(k, sha256Hex(v));
  return tree;
}

t.test('same content gives the same root, whatever the order', async (t) => {
  fc.assert(
    fc.property(arbEntries, (entries) => {
      const a = build(entries);
      const b = build([...entries].reverse());
      return a.root() === b.root() && diffBuckets(a.leafHashes(), b.leafHashes()).length === 0;
    }),
    { numRuns: 100 },
  );
  t.equal(new MerkleTree().root(), new MerkleTree().root(), 'empty trees agree');
});

t.test('one differing key is found in exactly its bucket', async (t) => {
  fc.assert(
    fc.property(arbEntries, fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('change', 'add', 'delete'), (entries, extra, how) => {
      const a = build(entries);
      const b = build(entries);
      const rootBefore = b.root();
      let key = extra;
      if (how === 'change' && entries.length > 0) {
        key = entries[0]![0];
        b.set(key, sha256Hex(`${entries[0]![1]}!`));
      } else if (how === 'delete' && entries.length > 0) {
        key = entries[0]![0];
        b.delete(key);
      } else {
        if (a.get(extra) !== undefined) return true;
        b.set(extra, sha256Hex('new'));
      }
      const diff = diffBuckets(a.leafHashes(), b.leafHashes());
      const bucket = merkleBucketOf(key);
      const keysA = a.keysInBuckets(diff);
      const keysB = b.keysInBuckets(diff);
      return (
        b.root() !== rootBefore &&
        a.root() !== b.root() &&
        diff.length === 1 &&
        diff[0] === bucket &&
        (keysA.includes(key) || keysB.includes(key)) &&
        [...keysA, ...keysB].every((k) => merkleBucketOf(k) === bucket)
      );
    }),
    { numRuns: 200 },
  );
});

t.test('incremental updates match a fresh build, and undoing a change restores the root', async (t) => {
  const tree = new MerkleTree(16);
  const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
  keys.forEach((k) => tree.set(k, sha256Hex(k)));
  const root = tree.root();
  tree.set('key-7', sha256Hex('other'));
  t.not(tree.root(), root);
  tree.set('key-7', sha256Hex('key-7'));
  t.equal(tree.root(), root, 'restoring the value restores the root');
  tree.delete('key-8');
  const fresh = new MerkleTree(16);
  keys.filter((k) => k !== 'key-8').forEach((k) => fresh.set(k, sha256Hex(k)));
  t.equal(tree.root(), fresh.root());
  t.equal(tree.size, 299);
  t.equal(tree.leafHashes().length, 16);
  t.same(MerkleTree.diffBuckets(['a', 'b'], ['a', 'c', 'd']), [1, 2], 'a missing bucket counts as different');
  t.throws(() => new MerkleTree(48), RangeError);
});

/** The root as a full binary hash tree over the leaves, built from scratch: what the kept inner levels must equal. */
function rootFromLeaves(leaves: readonly string[]): string {
  let level = [...leaves];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256Hex(`${level[i]}${level[i + 1]}`));
    level = next;
  }
  return level[0]!;
}

t.test('the root kept across updates (only changed paths rehashed) equals the whole tree hashed afresh', async (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 64, 256),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 4 }), fc.boolean()), { maxLength: 80 }),
      (buckets, steps) => {
        const tree = new MerkleTree(buckets);
        for (const [del, k, v, look] of steps) {
          if (del) tree.delete(`k${k}`);
          else tree.set(`k${k}`, sha256Hex(v));
          // Reading the root between some updates exercises the kept levels, not only one rebuild.
          if (look && tree.root() !== rootFromLeaves(tree.leafHashes())) return false;
        }
        return tree.root() === rootFromLeaves(tree.leafHashes());
      },
    ),
    { numRuns: 300 },
  );
  t.equal(new MerkleTree(64).root(), rootFromLeaves(new MerkleTree(64).leafHashes()), 'an empty tree too');
});

t.test('a tree rehashed in bounded slices between writes ends equal to one hashed once at the end', async (t) => {
  // Writes only mark their bucket; anti-entropy rehashes stale buckets in slices (refreshSome) and reads
  // roots between them. However the slices fall, the leaves and root must equal a tree hashed once.
  fc.assert(
    fc.property(
      fc.constantFrom(1, 4, 64),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 4 }), fc.integer({ min: -1, max: 8 })), { maxLength: 80 }),
      (buckets, steps) => {
        const sliced = new MerkleTree(buckets);
        const once = new MerkleTree(buckets);
        for (const [del, k, v, slice] of steps) {
          for (const tree of [sliced, once]) {
            if (del) tree.delete(`k${k}`);
            else tree.set(`k${k}`, sha256Hex(v));
          }
          if (slice === -1) {
            sliced.root();
            if (sliced.dirtyBuckets !== 0) return false;
          } else if (slice > 0) {
            const before = sliced.dirtyBuckets;
            const done = sliced.refreshSome(slice);
            // A slice does exactly the work it says, never more than its budget.
            if (done !== Math.min(before, slice) || sliced.dirtyBuckets !== before - done) return false;
          }
        }
        return sliced.root() === once.root() && sliced.leafHashes().join() === once.leafHashes().join() && sliced.root() === rootFromLeaves(once.leafHashes());
      },
    ),
    { numRuns: 300 },
  );
  const tree = new MerkleTree(64);
  for (let i = 0; i < 500; i++) tree.set(`key-${i}`, sha256Hex(String(i)));
  t.equal(tree.dirtyBuckets, 64, 'writes only mark buckets stale');
  t.equal(tree.refreshSome(10), 10);
  t.equal(tree.dirtyBuckets, 54, 'a slice rehashes its budget and no more');
  t.equal(tree.bucketSize(0) + tree.bucketSize(1) > 0, true);
  t.equal(Array.from({ length: 64 }, (_, b) => tree.bucketSize(b)).reduce((x, y) => x + y, 0), 500, 'bucket sizes add up to the keys held');
});
