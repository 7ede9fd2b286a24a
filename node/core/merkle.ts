// A Merkle tree over one partition's keys for anti-entropy: two replicas compare roots, and when they
// differ, compare the fixed set of leaf buckets and exchange only the keys in the buckets that differ.
// Keys fall into buckets by md5(key), so both replicas bucket every key the same way whatever they hold.
import { KeyHashMemo, md5, sha256Hex } from './hash.js';

export const DEFAULT_MERKLE_BUCKETS = 64;

/** The hash of a bucket with no keys; empty buckets must hash alike on every replica. */
const EMPTY_BUCKET = sha256Hex('quorumlab-merkle-empty-bucket');

/** Which bucket a key belongs to, for a power-of-two bucket count up to 65536. */
export function merkleBucketOf(key: string, buckets: number = DEFAULT_MERKLE_BUCKETS): number {
  return bucketPrefix.get(key) % buckets;
}

/** The inner levels of a tree with no keys, per bucket count: every tree starts from them. */
const emptyLevelsByBuckets = new Map<number, readonly (readonly string[])[]>();

function emptyLevels(buckets: number): readonly (readonly string[])[] {
  let levels = emptyLevelsByBuckets.get(buckets);
  if (levels === undefined) {
    const built: string[][] = [];
    let below: readonly string[] = new Array<string>(buckets).fill(EMPTY_BUCKET);
    while (below.length > 1) {
      const level: string[] = [];
      for (let i = 0; i < below.length; i += 2) level.push(sha256Hex(`${below[i]}${below[i + 1]}`));
      built.push(level);
      below = level;
    }
    levels = built;
    emptyLevelsByBuckets.set(buckets, levels);
  }
  return levels;
}

/** The first 16 bits of md5(key), per key: a key's bucket is asked for on each of its writes and reads. */
const bucketPrefix = new KeyHashMemo((key) => {
  const d = md5(key);
  return ((d[0] ?? 0) << 8) | (d[1] ?? 0);
});

/** The root of a tree with no keys, per bucket count. */
function emptyRoot(buckets: number): string {
  const levels = emptyLevels(buckets);
  return levels.length === 0 ? EMPTY_BUCKET : (levels[levels.length - 1]![0] as string);
}

export class MerkleTree {
  readonly buckets: number;
  /**
   * Each bucket's keys, made on the bucket's first key. A node makes a tree for every partition it
   * replicates when anti-entropy compares it, most of them empty in a large cluster with Q partitions: an
   * empty tree is then the arrays below and nothing per bucket (64 maps and a copy of the inner levels each
   * made constructing trees 2-3 % of a 20-node run's CPU).
   */
  private readonly entries: (Map<string, string> | undefined)[];
  private readonly leaves: string[];
  /**
   * The inner levels of the hash tree, leaves' parents first, root last. Kept between calls so a changed
   * leaf rehashes only its own path (log2(buckets) hashes) instead of every inner node: under write load
   * every partition's tree is dirty at each anti-entropy round, and recomputing whole trees blocked the
   * event loop for milliseconds.
   */
  private levels: string[][] | undefined;
  /**
   * Buckets changed since they were last hashed. A write only marks its bucket here; the hashing happens
   * when anti-entropy asks for the root or the leaves, or in bounded slices (`refreshSome`) from its round.
   * Rehashing on every write instead (about seven short hashes each) cost 4-6 % of a node's CPU under PUT
   * load, on the request path, for roots that are read once per round; batched, a bucket written many
   * times between two rounds is hashed once, and inner nodes above several dirty buckets once.
   */
  private readonly dirty = new Set<number>();
  private cachedRoot: string | undefined;

  /**
   * @param onOccupancy called whenever the tree goes from no keys to some or back, so an owner can keep
   *   the set of non-empty trees without asking every tree for its size (LocalStore.partitionsHeld).
   */
  constructor(
    buckets: number = DEFAULT_MERKLE_BUCKETS,
    private readonly onOccupancy?: () => void,
  ) {
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 65536 || (buckets & (buckets - 1)) !== 0) {
      throw new RangeError(`Merkle bucket count must be a power of two from 1 to 65536, got ${buckets}`);
    }
    this.buckets = buckets;
    this.entries = new Array<Map<string, string> | undefined>(buckets).fill(undefined);
    this.leaves = new Array<string>(buckets).fill(EMPTY_BUCKET);
  }

  /** Keys held (kept as a count: anti-entropy asks every tree for it every round). */
  get size(): number {
    return this.count;
  }

  private count = 0;

  /** Records a key's current value hash (for example `versionsHash` of its versions). */
  set(key: string, valueHashHex: string): void {
    const b = merkleBucketOf(key, this.buckets);
    const bucket = (this.entries[b] ??= new Map<string, string>());
    const prior = bucket.get(key);
    if (prior === valueHashHex) return;
    if (prior === undefined && this.count++ === 0) this.onOccupancy?.();
    bucket.set(key, valueHashHex);
    this.touch(b);
  }

  delete(key: string): void {
    const b = merkleBucketOf(key, this.buckets);
    if (this.entries[b]?.delete(key) === true) {
      if (--this.count === 0) this.onOccupancy?.();
      this.touch(b);
    }
  }

  get(key: string): string | undefined {
    return this.entries[merkleBucketOf(key, this.buckets)]?.get(key);
  }

  private touch(bucket: number): void {
    this.dirty.add(bucket);
    this.cachedRoot = undefined;
  }

  /** Buckets whose hash is stale: the work (leaf hashes) the next root or leaves will cost. */
  get dirtyBuckets(): number {
    return this.dirty.size;
  }

  /** The hash of one leaf bucket from its keys. */
  private leafHash(b: number): string {
    const bucket = this.entries[b];
    if (bucket === undefined || bucket.size === 0) return EMPTY_BUCKET;
    // Sorted so the hash depends on content only, never on insertion order; the separators cannot
    // occur in hex, and the key's length prefix keeps "ab"+"c" apart from "a"+"bc".
    const keys = [...bucket.keys()].sort();
    return sha256Hex(keys.map((k) => `${k.length}:${k}=${bucket.get(k)}`).join('\n'));
  }

  /**
   * Rehashes at most `budget` stale buckets (lowest first, so every replica and run does the same) and the
   * inner nodes above them; returns how many it rehashed. Anti-entropy calls this in slices so that a tree
   * with many stale buckets (a node that just loaded its keys, or one under heavy writes) never costs one
   * long stretch of the event loop.
   */
  refreshSome(budget: number): number {
    if (this.dirty.size === 0 || budget <= 0) return 0;
    let picked: number[] = [...this.dirty];
    if (picked.length > budget) picked = picked.sort((x, y) => x - y).slice(0, budget);
    let changed = new Set<number>();
    for (const b of picked) {
      this.dirty.delete(b);
      changed.add(b >> 1);
      this.leaves[b] = this.leafHash(b);
    }
    let below = this.leaves;
    // The inner levels are copied from the empty tree's on the first rehash (see entries).
    this.levels ??= emptyLevels(this.buckets).map((level) => [...level]);
    for (const level of this.levels) {
      const next = new Set<number>();
      for (const i of changed) {
        level[i] = sha256Hex(`${below[2 * i]}${below[2 * i + 1]}`);
        next.add(i >> 1);
      }
      changed = next;
      below = level;
    }
    return picked.length;
  }

  /** The leaf bucket hashes, in bucket order. */
  leafHashes(): string[] {
    this.refreshSome(this.buckets);
    return [...this.leaves];
  }

  /** The root: a binary hash tree over the leaves. */
  root(): string {
    if (this.cachedRoot !== undefined) return this.cachedRoot;
    this.refreshSome(this.buckets);
    const levels = this.levels;
    if (levels === undefined) this.cachedRoot = emptyRoot(this.buckets);
    else this.cachedRoot = (levels.length === 0 ? this.leaves[0] : levels[levels.length - 1]![0]) as string;
    return this.cachedRoot;
  }

  /** How many keys one bucket holds. */
  bucketSize(bucket: number): number {
    return this.entries[bucket]?.size ?? 0;
  }

  /** The keys held in the given buckets, sorted: what to exchange once the differing buckets are known. */
  keysInBuckets(buckets: readonly number[]): string[] {
    const out: string[] = [];
    for (const b of new Set(buckets)) {
      const bucket = this.entries[b];
      if (bucket !== undefined) out.push(...bucket.keys());
    }
    return out.sort();
  }

  /** Keys with their value hashes in the given buckets, so a peer can skip keys that already match. */
  entriesInBuckets(buckets: readonly number[]): [key: string, valueHashHex: string][] {
    return this.keysInBuckets(buckets).map((k) => [k, this.get(k) as string]);
  }

  static diffBuckets(mine: readonly string[], theirs: readonly string[]): number[] {
    return diffBuckets(mine, theirs);
  }
}

/** The bucket indexes whose hashes differ (a missing bucket on either side counts as different). */
export function diffBuckets(mine: readonly string[], theirs: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(mine.length, theirs.length); i++) if (mine[i] !== theirs[i]) out.push(i);
  return out;
}
