// The replica's own data: key states in storage namespaces "kv" and "cart", an in-memory Merkle tree per
// partition (value hash = sha256 of the encoded state), per-key locks so that read-modify-write of a key
// is never interleaved (two concurrent coordinations must never mint the same dot), and a write-through
// map of states whose storage write has not resolved yet, so a later read never sees an older state than
// one already acknowledged.
import type { CoreEnv, TimerHandle } from './env.js';
import { type CartState, cartEqual, cartFromJson, cartIsEmpty, cartMerge, cartToJson, decodeCart, emptyCart, encodeCart } from './cart.js';
import { sha256Hex } from './hash.js';
import { MerkleTree } from './merkle.js';
import {
  type Versions,
  decodeVersions,
  emptyVersions,
  lwwMerge,
  versionsEqual,
  versionsFromJson,
  versionsMerge,
  versionsIsTombstone,
  versionsToJson,
} from './versions.js';

export type Kind = 'kv' | 'cart';
export type State = Versions | CartState;

/** How one kind of value is merged, compared and encoded. */
export interface DataType {
  readonly empty: State;
  merge(a: State, b: State): State;
  equal(a: State, b: State): boolean;
  isEmpty(s: State): boolean;
  encode(s: State): Uint8Array;
  decode(bytes: Uint8Array): State;
  /** The JSON form carried inside peer messages (no second base64 layer). */
  toJson(s: State): unknown;
  fromJson(j: unknown): State;
}

/**
 * States are immutable values, so the JSON form of one is computed once: a replica answering many reads
 * of a key, and a coordinator fanning one version out, would otherwise sort and base64-encode it again
 * for every message. The reverse map lets a JSON form produced here (a message this node sent to
 * itself) decode back to its state without parsing base64 again; forms parsed off the wire are fresh
 * objects and never found in it.
 */
const utf8 = new TextEncoder();
/** How a null value appears in a stored kv state (versionsToJson): the only states that may be tombstones. */
const tombstoneMark = '"v":null';
const jsonOfState = new WeakMap<object, unknown>();
const stateOfJson = new WeakMap<object, State>();

function memoToJson(s: State, toJson: (s: State) => unknown): unknown {
  let j = jsonOfState.get(s);
  if (j === undefined) {
    j = toJson(s);
    jsonOfState.set(s, j);
    if (typeof j === 'object' && j !== null) stateOfJson.set(j, s);
  }
  return j;
}

function memoFromJson(j: unknown, fromJson: (j: unknown) => State): State {
  if (typeof j === 'object' && j !== null) {
    const s = stateOfJson.get(j);
    if (s !== undefined) return s;
  }
  return fromJson(j);
}

export function dataTypes(useLww: boolean): Record<Kind, DataType> {
  return {
    kv: {
      empty: emptyVersions,
      merge: (a, b) => (useLww ? lwwMerge(a as Versions, b as Versions) : versionsMerge(a as Versions, b as Versions)),
      equal: (a, b) => versionsEqual(a as Versions, b as Versions),
      isEmpty: (s) => (s as Versions).siblings.length === 0,
      // The same bytes as encodeVersions, built from the memoised JSON form the messages use as well.
      encode: (s) => utf8.encode(JSON.stringify(memoToJson(s, (v) => versionsToJson(v as Versions)))),
      decode: (b) => decodeVersions(b),
      toJson: (s) => memoToJson(s, (v) => versionsToJson(v as Versions)),
      fromJson: (j) => memoFromJson(j, versionsFromJson),
    },
    cart: {
      empty: emptyCart,
      merge: (a, b) => cartMerge(a as CartState, b as CartState),
      equal: (a, b) => cartEqual(a as CartState, b as CartState),
      isEmpty: (s) => cartIsEmpty(s as CartState),
      encode: (s) => encodeCart(s as CartState),
      decode: (b) => decodeCart(b),
      toJson: (s) => cartToJson(s as CartState),
      fromJson: (j) => cartFromJson(j),
    },
  };
}

export function toB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function fromB64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** The Merkle key of a stored entry: kinds share one tree per partition. */
export function mkey(kind: Kind, key: string): string {
  return `${kind}/${key}`;
}

export function splitMkey(m: string): { kind: Kind; key: string } {
  const i = m.indexOf('/');
  return { kind: m.slice(0, i) as Kind, key: m.slice(i + 1) };
}

/** A chain of promises per name: `run` waits for every earlier holder of the same name. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.tails.set(name, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

export class LocalStore {
  readonly lock = new KeyedLock();
  private readonly trees = new Map<number, MerkleTree>();
  private readonly unflushed = new Map<string, State | null>();
  /**
   * Decoded states of recently used keys (insertion order = age). Decoding is the hot path of every
   * request, and states are immutable values, so sharing them is safe.
   */
  private readonly cache = new Map<string, State>();
  private readonly cacheLimit = 16384;
  /**
   * Set once `load` has put every stored key into the Merkle trees. From then on a key missing from its
   * tree (and from `unflushed`) is known to be absent from storage, so reading it costs no storage read:
   * every put and delete of a key goes through this store and updates its tree first.
   */
  private loaded = false;
  /**
   * The kv keys whose stored state is nothing but tombstones, kept up to date by every put and delete (and
   * rebuilt by `load`), so the tombstone reaper finds its candidates without scanning the store.
   */
  private readonly tombstoneKeys = new Set<string>();
  /**
   * Keys written non-durably ('ack-not-durable' only) and not yet handed to storage. They stay in memory
   * (served from `unflushed`) until a lazy flush, so a crash before it really loses them, in a real
   * process as in the simulation: starting the storage write at once would make it durable within an
   * fsync, far too fast for any crash to catch.
   */
  private readonly lazy = new Map<string, { kind: Kind; key: string; state: State }>();
  private lazyTimer: TimerHandle | undefined = undefined;
  /** How long a non-durable write stays in memory only. */
  static readonly lazyFlushMs = 15_000;

  constructor(
    private readonly env: CoreEnv,
    readonly types: Record<Kind, DataType>,
    private readonly partitionOfKey: (key: string) => number,
  ) {}

  /** Rebuilds the Merkle trees from storage (start of the node). */
  async load(): Promise<void> {
    this.loaded = false;
    this.trees.clear();
    this.tombstoneKeys.clear();
    for (const kind of ['kv', 'cart'] as const) {
      for await (const [key, bytes] of this.env.storage.scan(kind)) {
        this.tree(this.partitionOfKey(key)).set(mkey(kind, key), sha256Hex(bytes));
        // Only a state with a null value can be a tombstone; the others are not decoded here.
        if (kind === 'kv' && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(tombstoneMark)) {
          try {
            this.noteTombstone(key, this.types.kv.decode(bytes));
          } catch {
            // An undecodable state is reported where it is read; it is no reap candidate.
          }
        }
      }
    }
    this.loaded = true;
  }

  /** Whether `key` of kind kv holds only tombstones now: recorded for the reaper. */
  private noteTombstone(key: string, state: State | undefined): void {
    if (state !== undefined && versionsIsTombstone(state as Versions)) this.tombstoneKeys.add(key);
    else this.tombstoneKeys.delete(key);
  }

  /** The kv keys this node holds only tombstones for, sorted. */
  tombstones(): string[] {
    return [...this.tombstoneKeys].sort();
  }

  isTombstone(key: string): boolean {
    return this.tombstoneKeys.has(key);
  }

  get tombstoneCount(): number {
    return this.tombstoneKeys.size;
  }

  tree(p: number): MerkleTree {
    let t = this.trees.get(p);
    if (t === undefined) {
      t = new MerkleTree();
      this.trees.set(p, t);
    }
    return t;
  }

  /** Partitions for which this node holds at least one key. */
  partitionsHeld(): number[] {
    return [...this.trees.entries()].filter(([, t]) => t.size > 0).map(([p]) => p).sort((a, b) => a - b);
  }

  keysOf(p: number): string[] {
    const t = this.trees.get(p);
    return t === undefined ? [] : t.keysInBuckets(Array.from({ length: t.buckets }, (_, i) => i));
  }

  hashOf(kind: Kind, key: string): string | undefined {
    return this.trees.get(this.partitionOfKey(key))?.get(mkey(kind, key));
  }

  async get(kind: Kind, key: string): Promise<State | undefined> {
    const m = mkey(kind, key);
    if (this.unflushed.has(m)) return this.unflushed.get(m) ?? undefined;
    const hit = this.cache.get(m);
    if (hit !== undefined) return hit;
    if (this.loaded && this.trees.get(this.partitionOfKey(key))?.get(m) === undefined) return undefined;
    const bytes = await this.env.storage.get(kind, key);
    if (bytes === undefined) return undefined;
    const state = this.types[kind].decode(bytes);
    // Only cache what is known to be current: a concurrent put may have replaced it while we read.
    if (!this.unflushed.has(m)) this.remember(m, state);
    return state;
  }

  private remember(m: string, state: State | undefined): void {
    this.cache.delete(m);
    if (state === undefined) return;
    this.cache.set(m, state);
    if (this.cache.size > this.cacheLimit) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /**
   * Replaces a key's state (caller holds the key's lock). With durable false the write is held in memory
   * and flushed lazily (see `lazy`): only the 'ack-not-durable' test fault uses that.
   */
  async put(kind: Kind, key: string, state: State, durable = true): Promise<void> {
    const bytes = this.types[kind].encode(state);
    const m = mkey(kind, key);
    this.unflushed.set(m, state);
    this.remember(m, state);
    this.tree(this.partitionOfKey(key)).set(m, sha256Hex(bytes));
    if (kind === 'kv') this.noteTombstone(key, state);
    if (!durable) {
      this.lazy.set(m, { kind, key, state });
      this.lazyTimer ??= this.env.timers.setTimeout(() => this.flushLazy(), LocalStore.lazyFlushMs);
      return;
    }
    this.lazy.delete(m);
    const done = this.env.storage.write([{ type: 'put', ns: kind, key, value: bytes }]).finally(() => {
      if (this.unflushed.get(m) === state) this.unflushed.delete(m);
    });
    if (durable) await done;
    else done.catch(() => undefined);
  }

  /** Hands every lazily held write to storage (the 'ack-not-durable' fault's late flush). */
  private flushLazy(): void {
    this.lazyTimer = undefined;
    const entries = [...this.lazy.entries()];
    this.lazy.clear();
    for (const [m, { kind, key, state }] of entries) {
      if (this.unflushed.get(m) !== state) continue;
      this.env.storage.write([{ type: 'put', ns: kind, key, value: this.types[kind].encode(state) }])
        .finally(() => {
          if (this.unflushed.get(m) === state) this.unflushed.delete(m);
        })
        .catch(() => undefined);
    }
  }

  /** Stops the lazy flush timer (node stop); lazily held writes are then lost, as on a crash. */
  stopLazyFlush(): void {
    if (this.lazyTimer !== undefined) this.env.timers.clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
  }

  async del(kind: Kind, key: string): Promise<void> {
    const m = mkey(kind, key);
    this.lazy.delete(m);
    this.unflushed.set(m, null);
    this.remember(m, undefined);
    this.tree(this.partitionOfKey(key)).delete(m);
    if (kind === 'kv') this.tombstoneKeys.delete(key);
    await this.env.storage.write([{ type: 'del', ns: kind, key }]).finally(() => {
      if (this.unflushed.get(m) === null) this.unflushed.delete(m);
    });
  }

  /** Merges an incoming state into the stored one under the key's lock; reports whether anything changed. */
  async merge(kind: Kind, key: string, incoming: State, durable = true): Promise<{ changed: boolean; state: State }> {
    return this.lock.run(mkey(kind, key), async () => {
      const t = this.types[kind];
      const cur = await this.get(kind, key);
      const merged = t.merge(cur ?? t.empty, incoming);
      if (cur !== undefined && t.equal(cur, merged)) return { changed: false, state: cur };
      if (cur === undefined && t.isEmpty(merged)) return { changed: false, state: merged };
      await this.put(kind, key, merged, durable);
      return { changed: true, state: merged };
    });
  }

  digest(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of this.partitionsHeld()) out[String(p)] = (this.trees.get(p) as MerkleTree).root();
    return out;
  }
}
