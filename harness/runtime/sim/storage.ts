// Simulated durable storage. A node's disk (SimDisk) outlives its process; each incarnation of the node
// gets a SimStorage handle on it. A batch becomes durable — and visible to reads — atomically when its
// simulated fsync completes, and only then does the write's promise resolve. A crash before that loses
// the batch, as a SIGKILL loses what was not fsync'd; a batch whose fsync completed survives even if
// the (paused) process had not yet seen its promise resolve, as on a real disk.
import type { Storage, StorageWrite } from '../../../node/core/env.js';
import type { Scheduler } from './scheduler.js';


export class SimDisk {
  private readonly namespaces = new Map<string, Map<string, Uint8Array>>();
  /** Batches made durable and batches lost to crashes, for tests and describe(). */
  batchesDurable = 0;
  batchesLost = 0;

  apply(batch: readonly StorageWrite[]): void {
    this.applyOwned(batch.map((w) => (w.value === undefined ? w : { ...w, value: w.value.slice() })));
  }

  /** apply() for a batch whose buffers nobody else holds (SimStorage copied them at write time): kept as they are. */
  applyOwned(batch: readonly StorageWrite[]): void {
    for (const w of batch) {
      let ns = this.namespaces.get(w.ns);
      if (ns === undefined) {
        ns = new Map();
        this.namespaces.set(w.ns, ns);
      }
      if (w.type === 'put') ns.set(w.key, w.value ?? new Uint8Array(0));
      else ns.delete(w.key);
    }
    this.batchesDurable++;
  }

  get(ns: string, key: string): Uint8Array | undefined {
    return this.namespaces.get(ns)?.get(key)?.slice();
  }

  /** A snapshot of a namespace in bytewise key order. */
  entries(ns: string, prefix = ''): [string, Uint8Array][] {
    const map = this.namespaces.get(ns);
    if (map === undefined) return [];
    // Bytewise order of the UTF-8 keys (as LevelDB's), each key encoded once rather than per comparison.
    const keys = [...map.keys()].filter((k) => k.startsWith(prefix)).map((k) => ({ k, b: Buffer.from(k, 'utf8') }));
    keys.sort((x, y) => Buffer.compare(x.b, y.b));
    return keys.map(({ k }) => [k, map.get(k)!.slice()]);
  }

  /** Number of keys in a namespace (for tests). */
  size(ns: string): number {
    return this.namespaces.get(ns)?.size ?? 0;
  }
}

export interface SimStorageHooks {
  readonly scheduler: Scheduler;
  /** The fsync latency of the next batch. */
  readonly fsyncDelayMs: () => number;
  /** Whether the incarnation that owns this handle is still alive (not killed). */
  readonly alive: () => boolean;
  /** Runs a continuation in the node's context (queued while the node is paused). */
  readonly runInNode: (fn: () => void) => void;
  /** Sees every batch as the node hands it to storage (for the simulator's invariants). */
  readonly issued?: (batch: readonly StorageWrite[]) => void;
}

/** One incarnation's view of its disk. */
export class SimStorage implements Storage {
  /** Completion time of the last batch: batches complete in order, like appends to one log. */
  private lastDoneAtMs = 0;
  private inFlight = 0;

  constructor(
    private readonly disk: SimDisk,
    private readonly hooks: SimStorageHooks,
  ) {}

  /** Batches written but not yet durable. */
  get pendingBatches(): number {
    return this.inFlight;
  }

  async get(ns: string, key: string): Promise<Uint8Array | undefined> {
    return this.disk.get(ns, key);
  }

  write(batch: readonly StorageWrite[]): Promise<void> {
    // Copy now: the caller may reuse its buffers, and the disk must hold what was asked at this moment.
    const copy: StorageWrite[] = batch.map((w) =>
      w.value === undefined ? { type: w.type, ns: w.ns, key: w.key } : { type: w.type, ns: w.ns, key: w.key, value: w.value.slice() },
    );
    this.hooks.issued?.(copy);
    const sched = this.hooks.scheduler;
    const doneAt = Math.max(sched.nowMs + this.hooks.fsyncDelayMs(), this.lastDoneAtMs);
    this.lastDoneAtMs = doneAt;
    this.inFlight++;
    return new Promise<void>((resolve) => {
      sched.at(doneAt, () => {
        this.inFlight--;
        if (!this.hooks.alive()) {
          this.disk.batchesLost++;
          return;
        }
        this.disk.applyOwned(copy);
        this.hooks.runInNode(resolve);
      });
    });
  }

  async *scan(ns: string, prefix?: string): AsyncIterable<[string, Uint8Array]> {
    for (const entry of this.disk.entries(ns, prefix)) yield entry;
  }
}
