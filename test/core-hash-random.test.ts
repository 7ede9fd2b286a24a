// Hashing and seeded randomness: the partition function is exact and uniform, and seeds are reproducible.
import t from 'tap';
import { md5, partitionOf, sha256Hex } from '../node/core/hash.js';
import { deriveSeed, seededRandom, splitmix64 } from '../node/core/random.js';

t.test('md5 and partitionOf', async (t) => {
  t.equal(Buffer.from(md5('')).toString('hex'), 'd41d8cd98f00b204e9800998ecf8427e');
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  // md5("") starts with 0xd4..., i.e. 0.829 of the way round the ring.
  t.equal(partitionOf('', 1), 0);
  t.equal(partitionOf('', 1000), Math.floor(0xd41d8cd98f00b204 / 2 ** 64 * 1000));
  const q = 64;
  const counts = new Array<number>(q).fill(0);
  for (let i = 0; i < 64_000; i++) counts[partitionOf(`key-${i}`, q)]!++;
  t.ok(counts.every((c) => c > 800 && c < 1200), 'keys spread evenly over partitions');
  t.throws(() => partitionOf('k', 0), RangeError);
});

t.test('seeded random is reproducible and well spread', async (t) => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(xs, Array.from({ length: 1000 }, () => b()));
  t.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.05);
  t.not(seededRandom(1)(), seededRandom(2)(), 'neighbouring seeds differ');
  t.equal(deriveSeed(7, 'node:n1'), deriveSeed(7, 'node:n1'));
  t.not(deriveSeed(7, 'node:n1'), deriveSeed(7, 'node:n2'));
  const g = splitmix64(0n);
  t.equal(g(), 0xe220a8397b1dcdafn, 'splitmix64 matches the reference first output for seed 0');
});
