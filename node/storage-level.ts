// The node's durable storage engine: LevelDB (classic-level) under QL_DATA. Every namespace of the core
// ("kv", "hint", "meta", …) becomes a key prefix in one database, so a batch spanning namespaces (a
// replica write plus its hint removal) is still one atomic LevelDB write.
//
// Durability comes from `sync: true` (fsync before LevelDB answers), and every caller's promise resolves
// only once the batch holding its write is durable. An fsync costs milliseconds, so writes use group
// commit: writes issued in one event-loop turn go out as one synchronous batch, and while batches are in
// flight every later write queues and leaves with the others in the next one.
//
// Up to `maxInFlight` (2) batches are in flight at once. With one, the disk idled from the end of each
// fsync until the event loop had run the batch's callback and issued the next, and on a loaded machine
// that handoff took longer than the fsync itself (a batch measured 20-30 ms against a 2 ms fdatasync).
// With two, the next batch already waits inside LevelDB (whose own writer queue runs sync writes one
// after another), so it starts the moment the previous fsync ends. Order is kept where it matters:
//   - writes of one key become durable in the order they were issued (a batch touching a key that an
//     in-flight batch writes waits for it, and so does everything queued behind it);
//   - a batch touching the node's metadata ("meta") runs alone, after every earlier batch is durable and
//     before any later one starts, as if batches were strictly serial (the core persists a new actor
//     epoch without waiting for it before it mints under it);
//   - writes of different data keys may become durable in either order, as concurrent writes may.
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import type { Storage, StorageWrite } from './core/env.js';

type Bytes = Uint8Array;

interface Pending {
  readonly ops: readonly StorageWrite[];
  /** The batch's keys as "ns\0key", for the per-key order. */
  readonly ids: readonly string[];
  /** Touches "meta": ordered against every other batch. */
  readonly barrier: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface LevelStorageStats {
  /** Synchronous LevelDB batches issued (fsyncs). */
  readonly syncBatches: number;
  /** Storage.write calls served. */
  readonly writes: number;
  /** The largest number of write calls coalesced into one synchronous batch. */
  readonly maxCoalesced: number;
  /** Milliseconds spent waiting for synchronous batches (sum): divided by syncBatches, the fsync latency. */
  readonly syncMs: number;
}

type LevelOp = { readonly type: 'put'; readonly key: Bytes; readonly value: Bytes } | { readonly type: 'del'; readonly key: Bytes };
/** fsync before LevelDB answers: what makes an acknowledged write durable. */
const syncOptions = { sync: true } as const;

const separator = 0x00;
/** Batches in flight at once: one fsyncing, the next waiting behind it inside LevelDB. */
const maxInFlight = 2;
const barrierNamespace = 'meta';
const empty = new Uint8Array(0);

/** "ns\0" as bytes per namespace: the core uses a handful ("kv", "hint", "meta", …), so they are kept. */
const nsPrefixes = new Map<string, Buffer>();
const maxCachedPrefixes = 64;

function nsPrefix(ns: string): Buffer {
  const cached = nsPrefixes.get(ns);
  if (cached !== undefined) return cached;
  if (ns.length === 0 || ns.includes('\u0000')) throw new RangeError(`invalid storage namespace ${JSON.stringify(ns)}`);
  const nsBytes = Buffer.from(ns, 'utf8');
  const prefix = Buffer.alloc(nsBytes.length + 1);
  nsBytes.copy(prefix, 0);
  prefix[nsBytes.length] = separator;
  if (nsPrefixes.size < maxCachedPrefixes) nsPrefixes.set(ns, prefix);
  return prefix;
}

/** The LevelDB key of (ns, key): the namespace, a NUL byte, then the key's UTF-8 bytes. */
export function encodeKey(ns: string, key: string): Bytes {
  // One allocation per key (the prefix is shared, the key is encoded in place): this runs for every
  // operation of every batch.
  const prefix = nsPrefix(ns);
  const out = Buffer.allocUnsafe(prefix.length + Buffer.byteLength(key, 'utf8'));
  prefix.copy(out, 0);
  out.write(key, prefix.length, 'utf8');
  return out;
}

/** The smallest byte string greater than every string starting with `prefix` (undefined: no bound). */
function prefixUpperBound(prefix: Bytes): Bytes | undefined {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

export class LevelStorage implements Storage {
  private readonly db: ClassicLevel<Bytes, Bytes>;
  private queue: Pending[] = [];
  /** Batches handed to LevelDB and not yet durable, and how many of them write each key. */
  private inFlight = 0;
  private readonly inFlightIds = new Map<string, number>();
  private barrierInFlight = false;
  /** A launch is scheduled for the end of this event-loop turn. */
  private launchScheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private stats = { syncBatches: 0, writes: 0, maxCoalesced: 0, syncMs: 0 };

  constructor(readonly location: string) {
    this.db = new ClassicLevel<Bytes, Bytes>(location, { keyEncoding: 'view', valueEncoding: 'view' });
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  /** Waits for queued writes to become durable, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.db.close();
  }

  getStats(): LevelStorageStats {
    return { ...this.stats, syncMs: Math.round(this.stats.syncMs) };
  }

  async get(ns: string, key: string): Promise<Uint8Array | undefined> {
    const value = await this.db.get(encodeKey(ns, key));
    return value === undefined ? undefined : new Uint8Array(value);
  }

  write(batch: readonly StorageWrite[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('storage is closed; the write was not made durable'));
    if (batch.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const ids = batch.map((op) => `${op.ns}\u0000${op.key}`);
      this.queue.push({ ops: batch, ids, barrier: batch.some((op) => op.ns === barrierNamespace), resolve, reject });
      this.scheduleLaunch();
    });
  }

  async *scan(ns: string, prefix = ''): AsyncIterable<[string, Uint8Array]> {
    const start = encodeKey(ns, prefix);
    // With an empty prefix `start` is "ns\0", so its upper bound "ns\1" closes the whole namespace.
    const end = prefixUpperBound(start);
    const nsLength = Buffer.byteLength(ns, 'utf8') + 1;
    const options = end === undefined ? { gte: start } : { gte: start, lt: end };
    for await (const [k, v] of this.db.iterator(options)) {
      yield [Buffer.from(k.buffer, k.byteOffset + nsLength, k.byteLength - nsLength).toString('utf8'), new Uint8Array(v)];
    }
  }

  /**
   * Launches at the end of the turn (setImmediate runs right after this turn's I/O callbacks), so every
   * write issued meanwhile joins the same batch; at low load that costs microseconds, not a timer.
   */
  private scheduleLaunch(): void {
    if (this.launchScheduled) return;
    this.launchScheduled = true;
    setImmediate(() => {
      this.launchScheduled = false;
      this.launch();
    });
  }

  /** Starts batches while fewer than maxInFlight are in flight: each the longest prefix of the queue allowed to go now. */
  private launch(): void {
    while (this.inFlight < maxInFlight && this.queue.length > 0 && !this.barrierInFlight) {
      let n = 0;
      for (const p of this.queue) {
        if (p.barrier) {
          // Alone, and only once everything before it is durable.
          if (n === 0 && this.inFlight === 0) n = 1;
          break;
        }
        if (p.ids.some((id) => this.inFlightIds.has(id))) break;
        n++;
      }
      if (n === 0) return;
      void this.run(this.queue.splice(0, n));
    }
  }

  /**
   * One synchronous LevelDB batch. abstract-level's public batch() clones every operation, checks it,
   * looks its encodings up and re-encodes key and value; under PUT load that was 6.5 % of the main
   * thread (perf) and 2.7 % of its busy time beyond LevelDB's own write (--cpu-prof). Our operations are
   * already what classic-level's native batch takes: Uint8Array keys and values (the 'view' encoding is
   * the identity), type 'put' or 'del', no sublevels, no hooks or write listeners. So while the database
   * is open the batch goes to classic-level's implementation directly; `sync: true` is passed the same
   * way, and LevelDB still fsyncs before the promise resolves. Anything else (a database not open, a
   * classic-level without `_batch`) takes the public path and gets its checks and errors.
   */
  private syncBatch(ops: readonly LevelOp[]): Promise<void> {
    const direct = this.db as unknown as { status: string; _batch?: (ops: readonly LevelOp[], options: { sync: boolean }) => Promise<void> };
    if (direct.status === 'open' && typeof direct._batch === 'function') return direct._batch(ops, syncOptions);
    return this.db.batch(ops as LevelOp[], syncOptions);
  }

  /** Writes one group as one synchronous batch and settles its callers. */
  private async run(group: Pending[]): Promise<void> {
    this.inFlight++;
    const barrier = group.some((p) => p.barrier);
    if (barrier) this.barrierInFlight = true;
    for (const p of group) for (const id of p.ids) this.inFlightIds.set(id, (this.inFlightIds.get(id) ?? 0) + 1);
    const ops: LevelOp[] = [];
    for (const p of group) {
      for (const op of p.ops) {
        ops.push(op.type === 'put' ? { type: 'put', key: encodeKey(op.ns, op.key), value: op.value ?? empty } : { type: 'del', key: encodeKey(op.ns, op.key) });
      }
    }
    try {
      const t0 = performance.now();
      await this.syncBatch(ops);
      this.stats.syncMs += performance.now() - t0;
      this.stats.syncBatches++;
      this.stats.writes += group.length;
      this.stats.maxCoalesced = Math.max(this.stats.maxCoalesced, group.length);
      for (const p of group) p.resolve();
    } catch (error) {
      for (const p of group) p.reject(error);
    }
    for (const p of group) {
      for (const id of p.ids) {
        const left = (this.inFlightIds.get(id) ?? 1) - 1;
        if (left === 0) this.inFlightIds.delete(id);
        else this.inFlightIds.set(id, left);
      }
    }
    if (barrier) this.barrierInFlight = false;
    this.inFlight--;
    if (this.queue.length > 0) this.launch();
    if (this.inFlight === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
