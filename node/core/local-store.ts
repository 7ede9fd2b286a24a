// The replica's own data: key states in storage namespaces "kv" and "cart", an in-memory Merkle tree per
// partition (value hash: sha256 of the encoded state for kv, the cart's incremental hash for carts), per-key
// locks so that read-modify-write of a key is never interleaved (two concurrent coordinations must never
// mint the same dot), and a write-through map of states whose storage write has not resolved yet, so a
// later read never sees an older state than one already acknowledged.
//
// A cart is stored incrementally: a base (its whole encoding, namespace "cart") and the deltas appended
// since (namespace "cart-delta", one entry per write, keyed by the cart's key and a sequence number). A
// write whose state was merged from the stored one appends just what it added; once the deltas together
// outweigh the base, the write stores the whole cart as the new base and deletes them, in the same batch.
// So a write costs O(its delta) amortized, and the stored bytes stay within twice the cart's encoding.
import type { CoreEnv, Storage, StorageWrite, TimerHandle } from './env.js';
import {
  type CartState,
  cartDeltaSince,
  cartEqual,
  cartFromJson,
  cartHash,
  cartIsEmpty,
  cartMerge,
  cartMissing,
  cartToJson,
  decodeCart,
  emptyCart,
  encodeCart,
} from './cart.js';
import { sha256Hex } from './hash.js';
import { jsonText } from './json-text.js';
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
  /** The Merkle value hash: equal on every replica holding an equal state. */
  hash(s: State, encoded?: Uint8Array): string;
  /** An identity of the state value for `deltaSince` (undefined: the type is stored whole). */
  identity(s: State): number | undefined;
  /**
   * What `s` added to the state of identity `prev` when `s` was merged from it (a store appends only
   * that); undefined when the type is stored whole or `s` was not made from it.
   */
  deltaSince(s: State, prev: number): State | undefined;
  /** What a replica holding `have` lacks of `target` (merging it into `have` gives `merge(have, target)`). */
  missing(target: State, have: State): State;
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
      encode: (s) => utf8.encode(jsonText(memoToJson(s, (v) => versionsToJson(v as Versions)))),
      decode: (b) => decodeVersions(b),
      toJson: (s) => memoToJson(s, (v) => versionsToJson(v as Versions)),
      fromJson: (j) => memoFromJson(j, versionsFromJson),
      hash: (s, encoded) => sha256Hex(encoded ?? jsonText(memoToJson(s, (v) => versionsToJson(v as Versions)))),
      identity: () => undefined,
      deltaSince: () => undefined,
      // A register's versions are few and small: a repair carries them whole.
      missing: (target) => target,
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
      hash: (s) => cartHash(s as CartState),
      identity: (s) => (s as CartState).id,
      deltaSince: (s, prev) => cartDeltaSince(s as CartState, prev),
      missing: (target, have) => cartMissing(target as CartState, have as CartState),
    },
  };
}

export function toB64(bytes: Uint8Array): string {
  // A view of the same memory, not Buffer.from(bytes), which copies them first (a hint's whole state, a
  // forwarded put's value).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
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

/** A settled promise: reactions to it are queued microtasks (see KeyedLock.run). */
const settled: Promise<void> = Promise.resolve();

/**
 * A lock per name: `run` waits for every earlier holder of the same name. Each name maps to its waiters
 * (null: held, nobody waiting), so an uncontended run costs no promise of its own: the lock is taken on
 * every write and merge, and the chain of promises it was built from before (three per run, and a
 * thenable resolution) was a steady part of the node's allocations.
 *
 * The microtask turns are those of that chain, because the simulation's histories depend on the order of
 * microtasks: a holder starts one turn after it asked (it awaited the settled tail), and a waiter resumes
 * two turns after its predecessor released (the tail resolved from the predecessor's own promise).
 */
export class KeyedLock {
  private readonly waiters = new Map<string, (() => void)[] | null>();

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const held = this.waiters.get(name);
    if (held === undefined) {
      this.waiters.set(name, null);
      await settled;
    } else {
      await new Promise<void>((resume) => {
        if (held === null) this.waiters.set(name, [resume]);
        else held.push(resume);
      });
    }
    try {
      return await fn();
    } finally {
      const queue = this.waiters.get(name);
      const next = queue?.shift();
      if (next === undefined) this.waiters.delete(name);
      else {
        if (queue!.length === 0) this.waiters.set(name, null);
        void settled.then(next);
      }
    }
  }
}

/** Kinds stored as a base plus appended deltas, and the namespace of their deltas. */
const deltaNamespaces: Partial<Record<Kind, string>> = { cart: 'cart-delta' };

export function deltaNamespace(kind: Kind): string | undefined {
  return deltaNamespaces[kind];
}

/**
 * Every delta of `key` is stored under this prefix: the key as a JSON string, which ends at its first
 * unescaped quote, so no other key's prefix starts with it.
 */
export function deltaKeyPrefix(key: string): string {
  return JSON.stringify(key);
}

/** The delta key: prefix, then a fixed-width hex sequence number, so a prefix scan returns them in order. */
export function deltaKey(key: string, seq: number): string {
  return `${deltaKeyPrefix(key)}${seq.toString(16).padStart(12, '0')}`;
}

export function parseDeltaKey(k: string): { key: string; seq: number } | undefined {
  if (k.length < 14) return undefined;
  try {
    const key = JSON.parse(k.slice(0, -12)) as unknown;
    const seq = Number.parseInt(k.slice(-12), 16);
    return typeof key === 'string' && Number.isSafeInteger(seq) ? { key, seq } : undefined;
  } catch {
    return undefined;
  }
}

/** The deltas stored in namespace `ns`, by the key they belong to (in sequence order, as a scan returns them). */
export interface StoredDeltas {
  readonly keys: string[];
  readonly values: Uint8Array[];
  bytes: number;
  /** The highest sequence number (-1: none). */
  last: number;
}

export async function scanDeltas(storage: Storage, ns: string): Promise<Map<string, StoredDeltas>> {
  const deltas = new Map<string, StoredDeltas>();
  for await (const [k, bytes] of storage.scan(ns)) {
    const parsed = parseDeltaKey(k);
    if (parsed === undefined) continue;
    let d = deltas.get(parsed.key);
    if (d === undefined) deltas.set(parsed.key, (d = { keys: [], values: [], bytes: 0, last: -1 }));
    d.keys.push(k);
    d.values.push(bytes);
    d.bytes += bytes.byteLength;
    d.last = Math.max(d.last, parsed.seq);
  }
  return deltas;
}

/** A stored state of an incrementally stored kind: its base merged with its deltas, in order. */
export function decodeStored(t: DataType, base: Uint8Array | undefined, deltas: readonly Uint8Array[]): State | undefined {
  if (base === undefined && deltas.length === 0) return undefined;
  let s = base === undefined ? t.empty : t.decode(base);
  for (const d of deltas) s = t.merge(s, t.decode(d));
  return s;
}

/** What storage holds of one incrementally stored key, once the batches issued so far are durable. */
interface Layout {
  /**
   * The identity of the state those batches leave (not the state: a node holds far more carts than it
   * caches); a write merged from it may append its delta. Undefined: write whole.
   */
  onDisk: number | undefined;
  baseBytes: number;
  deltaKeys: string[];
  deltaBytes: number;
  nextSeq: number;
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
  /** Storage layout of the incrementally stored keys (by mkey), known from `load`, reads and writes. */
  private readonly layouts = new Map<string, Layout>();
  /** Counts puts and deletes, so a read that raced a write does not record a stale layout. */
  private writeSerial = 0;
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
    this.held = undefined;
    this.tombstoneKeys.clear();
    this.layouts.clear();
    for (const kind of ['kv', 'cart'] as const) {
      const ns = deltaNamespace(kind);
      if (ns !== undefined) {
        await this.loadIncremental(kind, ns);
        continue;
      }
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

  /** Loads the bases and deltas of an incrementally stored kind: layouts, decoded states and hashes. */
  private async loadIncremental(kind: Kind, ns: string): Promise<void> {
    const bases = new Map<string, Uint8Array>();
    for await (const [key, bytes] of this.env.storage.scan(kind)) bases.set(key, bytes);
    const deltas = await scanDeltas(this.env.storage, ns);
    const t = this.types[kind];
    for (const key of new Set([...bases.keys(), ...deltas.keys()])) {
      const base = bases.get(key);
      const d = deltas.get(key);
      let state: State | undefined;
      try {
        state = decodeStored(t, base, d?.values ?? []);
      } catch (err) {
        // Left in place, and reported where it is read; it is in no tree, so anti-entropy may restore it.
        this.env.logger.log('warn', 'stored-state-undecodable', { kind, key, error: (err as Error).message });
        continue;
      }
      if (state === undefined) continue;
      const m = mkey(kind, key);
      this.tree(this.partitionOfKey(key)).set(m, t.hash(state));
      this.layouts.set(m, { onDisk: t.identity(state), baseBytes: base?.byteLength ?? 0, deltaKeys: d?.keys ?? [], deltaBytes: d?.bytes ?? 0, nextSeq: (d?.last ?? -1) + 1 });
      this.remember(m, state);
    }
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
      t = new MerkleTree(undefined, this.heldChanged);
      this.trees.set(p, t);
    }
    return t;
  }

  /**
   * partitionsHeld as last built; dropped whenever a tree gains its first key or loses its last. Handoff
   * asks for it on every hint tick, and building it walked (and sorted) every tree the node has.
   */
  private held: readonly number[] | undefined;
  private readonly heldChanged = (): void => {
    this.held = undefined;
  };

  /** Partitions for which this node holds at least one key, ascending (a shared list: not to be changed). */
  partitionsHeld(): readonly number[] {
    this.held ??= Object.freeze([...this.trees.entries()].filter(([, t]) => t.size > 0).map(([p]) => p).sort((a, b) => a - b));
    return this.held;
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
    const ns = deltaNamespace(kind);
    if (ns !== undefined) return this.getIncremental(kind, key, ns);
    const bytes = await this.env.storage.get(kind, key);
    if (bytes === undefined) return undefined;
    const state = this.types[kind].decode(bytes);
    // Only cache what is known to be current: a concurrent put may have replaced it while we read.
    if (!this.unflushed.has(m)) this.remember(m, state);
    return state;
  }

  private async getIncremental(kind: Kind, key: string, ns: string): Promise<State | undefined> {
    const m = mkey(kind, key);
    const serial = this.writeSerial;
    const base = await this.env.storage.get(kind, key);
    const keys: string[] = [];
    const values: Uint8Array[] = [];
    let bytes = 0;
    let last = -1;
    for await (const [k, v] of this.env.storage.scan(ns, deltaKeyPrefix(key))) {
      const parsed = parseDeltaKey(k);
      if (parsed === undefined || parsed.key !== key) continue;
      keys.push(k);
      values.push(v);
      bytes += v.byteLength;
      last = Math.max(last, parsed.seq);
    }
    const state = decodeStored(this.types[kind], base, values);
    // Only record what is known to be current: a concurrent put may have replaced it while we read.
    if (!this.unflushed.has(m) && this.writeSerial === serial) {
      this.remember(m, state);
      if (state !== undefined) this.layouts.set(m, { onDisk: this.types[kind].identity(state), baseBytes: base?.byteLength ?? 0, deltaKeys: keys, deltaBytes: bytes, nextSeq: last + 1 });
    }
    return state;
  }

  /**
   * The storage writes that make `state` the stored state of `key`. For an incrementally stored kind: the
   * delta from the state on disk when `state` was merged from it and the deltas stay lighter than the
   * base, else the whole state as the new base with every delta deleted. Records the layout they leave.
   */
  private writesFor(kind: Kind, key: string, state: State): { ops: StorageWrite[]; hash: string } {
    const t = this.types[kind];
    const ns = deltaNamespace(kind);
    if (ns === undefined) {
      const value = t.encode(state);
      return { ops: [{ type: 'put', ns: kind, key, value }], hash: t.hash(state, value) };
    }
    const m = mkey(kind, key);
    const layout = this.layouts.get(m);
    const hash = t.hash(state);
    const delta = layout?.onDisk === undefined ? undefined : t.deltaSince(state, layout.onDisk);
    if (layout !== undefined && delta !== undefined) {
      const value = t.encode(delta);
      if (layout.deltaBytes + value.byteLength <= layout.baseBytes) {
        const k = deltaKey(key, layout.nextSeq++);
        layout.deltaKeys.push(k);
        layout.deltaBytes += value.byteLength;
        layout.onDisk = t.identity(state);
        return { ops: [{ type: 'put', ns, key: k, value }], hash };
      }
    }
    const value = t.encode(state);
    const ops: StorageWrite[] = [{ type: 'put', ns: kind, key, value }];
    for (const k of layout?.deltaKeys ?? []) ops.push({ type: 'del', ns, key: k });
    this.layouts.set(m, { onDisk: t.identity(state), baseBytes: value.byteLength, deltaKeys: [], deltaBytes: 0, nextSeq: layout?.nextSeq ?? 0 });
    return { ops, hash };
  }

  /** A write of `m` failed: what storage holds is unknown, so the next write stores the whole state. */
  private writeFailed(m: string): void {
    const layout = this.layouts.get(m);
    if (layout !== undefined) layout.onDisk = undefined;
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
    const m = mkey(kind, key);
    this.writeSerial++;
    this.unflushed.set(m, state);
    this.remember(m, state);
    if (kind === 'kv') this.noteTombstone(key, state);
    if (!durable) {
      this.tree(this.partitionOfKey(key)).set(m, this.types[kind].hash(state));
      this.lazy.set(m, { kind, key, state });
      this.lazyTimer ??= this.env.timers.setTimeout(() => this.flushLazy(), LocalStore.lazyFlushMs);
      return;
    }
    this.lazy.delete(m);
    const { ops, hash } = this.writesFor(kind, key, state);
    this.tree(this.partitionOfKey(key)).set(m, hash);
    await this.env.storage.write(ops).then(
      () => {
        if (this.unflushed.get(m) === state) this.unflushed.delete(m);
      },
      (err: unknown) => {
        if (this.unflushed.get(m) === state) this.unflushed.delete(m);
        this.writeFailed(m);
        throw err;
      },
    );
  }

  /** Hands every lazily held write to storage (the 'ack-not-durable' fault's late flush). */
  private flushLazy(): void {
    this.lazyTimer = undefined;
    const entries = [...this.lazy.entries()];
    this.lazy.clear();
    for (const [m, { kind, key, state }] of entries) {
      if (this.unflushed.get(m) !== state) continue;
      this.env.storage.write(this.writesFor(kind, key, state).ops)
        .then(undefined, () => this.writeFailed(m))
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
    this.writeSerial++;
    this.lazy.delete(m);
    this.unflushed.set(m, null);
    this.remember(m, undefined);
    this.tree(this.partitionOfKey(key)).delete(m);
    if (kind === 'kv') this.tombstoneKeys.delete(key);
    const ops: StorageWrite[] = [{ type: 'del', ns: kind, key }];
    const ns = deltaNamespace(kind);
    if (ns !== undefined) {
      for (const k of this.layouts.get(m)?.deltaKeys ?? []) ops.push({ type: 'del', ns, key: k });
      this.layouts.delete(m);
    }
    await this.env.storage.write(ops).finally(() => {
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
