// A node core's storage in memory, for tests of what the core writes (test/core-cart-store.test.ts,
// test/core-hints.test.ts): batches apply at once and in order, each is recorded, the next can be made to
// fail, and a copy taken between batches is what a crash at that point leaves on disk.
import type { CoreEnv, Storage, StorageWrite } from '../../node/core/env.js';

/** Storage in memory: batches apply at once, in order; each batch is recorded, and the next write can be made to fail. */
export class MemoryStorage implements Storage {
  readonly data = new Map<string, Map<string, Uint8Array>>();
  readonly batches: StorageWrite[][] = [];
  failNext = false;

  constructor(from?: MemoryStorage) {
    if (from !== undefined) for (const [ns, m] of from.data) this.data.set(ns, new Map(m));
  }

  async get(ns: string, key: string): Promise<Uint8Array | undefined> {
    return this.data.get(ns)?.get(key);
  }

  async write(batch: readonly StorageWrite[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.batches.push([...batch]);
    for (const w of batch) {
      let m = this.data.get(w.ns);
      if (m === undefined) this.data.set(w.ns, (m = new Map()));
      if (w.type === 'put') m.set(w.key, w.value ?? new Uint8Array(0));
      else m.delete(w.key);
    }
  }

  async *scan(ns: string, prefix = ''): AsyncIterable<[string, Uint8Array]> {
    const m = this.data.get(ns) ?? new Map<string, Uint8Array>();
    const keys = [...m.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of keys) yield [k, m.get(k)!];
  }

  bytes(): number {
    let n = 0;
    for (const m of this.data.values()) for (const v of m.values()) n += v.byteLength;
    return n;
  }
}

export function envOf(storage: Storage): CoreEnv {
  return {
    clock: { wallMs: () => 0, monoMs: () => 0 },
    // The lazy flush of non-durable writes never fires here: such writes stay in memory.
    timers: { setTimeout: () => ({}) as never, clearTimeout: () => undefined },
    random: { next: () => 0.5 },
    transport: { send: () => undefined },
    storage,
    logger: { log: () => undefined },
  };
}

