// The node's durable storage engine: LevelDB (classic-level) under QL_DATA. Every namespace of the core
// ("kv", "hint", "meta", …) becomes a key prefix in one database, so a batch spanning namespaces (a
// replica write plus its hint removal) is still one atomic LevelDB write.
//
// Durability comes from `sync: true` (fsync before LevelDB answers). An fsync costs milliseconds, so
// writes use group commit: while one synchronous batch is in flight, every batch that arrives is queued,
// and when the flush completes the whole queue goes out as the next single synchronous batch. Each
// caller's promise resolves only after the flush containing its batch is durable.
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import type { Storage, StorageWrite } from './core/env.js';

type Bytes = Uint8Array;

interface Pending {
  readonly ops: readonly StorageWrite[];
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
  /** Milliseconds spent waiting for synchronous batches (sum): divided by syncBatches, a batch's latency. */
  readonly syncMs: number;
}

const separator = 0x00;

/** The LevelDB key of (ns, key): the namespace, a NUL byte, then the key's UTF-8 bytes. */
export function encodeKey(ns: string, key: string): Bytes {
  if (ns.length === 0 || ns.includes('\u0000')) throw new RangeError(`invalid storage namespace ${JSON.stringify(ns)}`);
  const nsBytes = Buffer.from(ns, 'utf8');
  const keyBytes = Buffer.from(key, 'utf8');
  const out = Buffer.allocUnsafe(nsBytes.length + 1 + keyBytes.length);
  nsBytes.copy(out, 0);
  out[nsBytes.length] = separator;
  keyBytes.copy(out, nsBytes.length + 1);
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
  private flushing = false;
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
    if (this.flushing || this.queue.length > 0) {
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
      this.queue.push({ ops: batch, resolve, reject });
      if (!this.flushing) void this.flush();
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

  /** Drains the queue: one synchronous batch per round, holding every write that arrived meanwhile. */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const ops = group.flatMap((p) =>
        p.ops.map((op) =>
          op.type === 'put'
            ? { type: 'put' as const, key: encodeKey(op.ns, op.key), value: op.value ?? new Uint8Array(0) }
            : { type: 'del' as const, key: encodeKey(op.ns, op.key) },
        ),
      );
      try {
        const t0 = performance.now();
        await this.db.batch(ops, { sync: true });
        this.stats.syncMs += performance.now() - t0;
        this.stats.syncBatches++;
        this.stats.writes += group.length;
        this.stats.maxCoalesced = Math.max(this.stats.maxCoalesced, group.length);
        for (const p of group) p.resolve();
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
