// Hashing for the node core. node:crypto is pure computation, so the sans-IO core may use it; every
// node must compute exactly the same partition for a key, which is why this is the single place that
// maps keys onto the MD5 ring.
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** crypto.hash exists from Node 20.12 on; package.json allows any Node 20, so older ones use a Hash object. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/** One-shot digests as bytes, where this Node's crypto.hash gives them (checked once, at load). */
const oneShotBytes = ((): ((algorithm: string, data: string | Uint8Array) => Uint8Array) | undefined => {
  const f = (nodeCrypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'buffer') => unknown }).hash;
  if (f === undefined) return undefined;
  try {
    return f('md5', '', 'buffer') instanceof Uint8Array ? (algorithm, data) => f(algorithm, data, 'buffer') as Uint8Array : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * The 16-byte MD5 digest of a string (UTF-8) or of raw bytes. One-shot where Node has it: a Hash object
 * per call was most of the cost of a key's first partition and Merkle bucket lookups.
 */
export function md5(data: string | Uint8Array): Uint8Array {
  return oneShotBytes === undefined ? new Uint8Array(createHash('md5').update(data).digest()) : oneShotBytes('md5', data);
}

/** The MD5 digest as lowercase hex, one-shot where Node has `crypto.hash` (half the cost of a Hash object). */
function md5Hex(data: string): string {
  return oneShot === undefined ? createHash('md5').update(data).digest('hex') : oneShot('md5', data, 'hex');
}

/**
 * The SHA-256 digest of a string (UTF-8) or of raw bytes, as lowercase hex. One-shot `crypto.hash`
 * (Node 20.12+) gives the same digest without building a Hash stream object per call: the inputs here
 * are short (a Merkle node is two hex digests, a value hash one small state), so that object was most of
 * the cost, and an anti-entropy round under write load hashes thousands of them.
 */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShot === undefined ? createHash('sha256').update(data).digest('hex') : oneShot('sha256', data, 'hex');
}

/** The top 64 bits of a digest as an unsigned BigInt (big-endian). */
export function top64(digest: Uint8Array): bigint {
  let x = 0n;
  for (let i = 0; i < 8; i++) x = (x << 8n) | BigInt(digest[i] ?? 0);
  return x;
}

/**
 * Dynamo's Strategy 3: the 128-bit MD5 space is cut into Q equal ranges and a key belongs to the range
 * its hash falls in. The top 64 bits decide it exactly (Q is far below 2^64), and BigInt keeps the
 * multiplication exact where a float would round.
 */
export function partitionOf(key: string, partitions: number): number {
  let memo = partitionMemos.get(partitions);
  if (memo === undefined) {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
    }
    const q = BigInt(partitions);
    memo = new KeyHashMemo((k) => Number((top64(md5(k)) * q) >> 64n));
    // A process runs one Q, or a few (tests); one more is a memo more, and many are dropped together.
    if (partitionMemos.size >= 8) partitionMemos.clear();
    partitionMemos.set(partitions, memo);
  }
  return memo.get(key);
}

/**
 * A bounded memo of per-key hash prefixes: every request, replica write and anti-entropy step asks for
 * a key's partition or bucket again, and the answer is a pure function of the key. Cleared, not evicted
 * one by one, when full: a key then costs one md5 again.
 */
export class KeyHashMemo<T> {
  private readonly map = new Map<string, T>();

  constructor(
    private readonly compute: (key: string) => T,
    private readonly limit = 1 << 16,
  ) {}

  get(key: string): T {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= this.limit) this.map.clear();
      v = this.compute(key);
      this.map.set(key, v);
    }
    return v;
  }
}

/**
 * Each key's partition, per Q: every put, read, plan and Merkle update asks it again, and computing it
 * from a memoised top64 still made three BigInts per call (the product, the shift and Q itself).
 */
const partitionMemos = new Map<number, KeyHashMemo<number>>();

/** A stable unsigned 32-bit number from a string, for deterministic tie-breaks and seeds. */
export function hash32(data: string): number {
  // The digest's first four bytes, big-endian: its first eight hex digits. A ring is built from Q of
  // these (partition weights), so this is the start-up cost of a large cluster.
  return Number.parseInt(md5Hex(data).slice(0, 8), 16);
}
